"""The `stackgen` command. Thin: parse arguments, call the library, map outcomes to exit codes.

Exit codes: 0 ok, 1 a check failed, 2 invalid input or usage. Library imports happen inside the
commands so that `stackgen --help` does not pay for pydantic, the targets or the validators.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from stackgen.diagnostics import Diagnostic

# rich_markup_mode=None: plain click help and usage errors. Rich's help costs more than the rest of
# `stackgen --help` together (typer imports rich, markdown-it and pygments for it; bench/results/check.md).
app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Generate and prove a monitoring stack from one typed spec.")

SpecOption = Annotated[Path, typer.Option("--spec", "-s", help="the stack spec")]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="folder of generated files")]


class Format(StrEnum):
    """How diagnostics are printed: text, or one document on stdout (status lines then go to stderr)."""

    text = "text"
    json = "json"
    github = "github"  # workflow commands: annotations on the spec line
    sarif = "sarif"  # SARIF 2.1.0, for code scanning
    junit = "junit"  # JUnit XML, for CI test reports


# The running command's words: SARIF and JUnit name their run after it (`stackgen check`), so code scanning
# keeps check's and lint's results apart. Set while --format is parsed, by typer's public callback hook.
_command = ["stackgen"]


def _format_parsed(ctx: typer.Context, value: Format) -> Format:
    names = []
    while ctx.parent is not None:  # the root's own name is however the program was started
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    _command[:] = ["stackgen", *reversed(names)]
    return value


FormatOption = Annotated[Format, typer.Option(
    "--format", callback=_format_parsed,
    help="text; or the diagnostics as one document on stdout, status lines on stderr: json (a list), "
         "github (workflow commands), sarif (SARIF 2.1.0) or junit (JUnit XML); see docs/ci.md")]
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2


def _fail(lines: list[str], code: int) -> typer.Exit:
    for line in lines:
        typer.echo(line, err=True)
    return typer.Exit(code)


def _document(fmt: Format, diagnostics: list[Diagnostic]) -> str:
    """The diagnostics as one document in a machine format; the command's name labels SARIF and JUnit runs."""
    from stackgen import diagnostics_formats as formats
    from stackgen.diagnostics import json_text

    if fmt is Format.json:
        return json_text(diagnostics)
    if fmt is Format.github:
        return formats.github_text(diagnostics)
    command = " ".join(_command)
    if fmt is Format.sarif:
        from importlib.metadata import PackageNotFoundError, version

        try:
            release = version("stackgen")
        except PackageNotFoundError:  # a checkout on sys.path, not installed
            release = "0+unknown"
        return formats.sarif_text(diagnostics, command, release)
    return formats.junit_text(diagnostics, command)


def _report(fmt: Format, diagnostics: list[Diagnostic], lines: list[str], summary: str, code: int) -> typer.Exit:
    """A failure: its text lines and summary on stderr, or the document on stdout and the summary on stderr."""
    if fmt is not Format.text:
        sys.stdout.write(_document(fmt, diagnostics))
        lines = []
    return _fail([*lines, summary], code)


def _succeed(fmt: Format, diagnostics: list[Diagnostic], status: str) -> None:
    """Success: the status line on stdout, or the document there and the status on stderr."""
    if fmt is not Format.text:
        sys.stdout.write(_document(fmt, diagnostics))
    typer.echo(status, err=fmt is not Format.text)


def _load(spec: Path, fmt: Format = Format.text, out: Path | None = None):
    from stackgen.diagnostics import SpecError, one_line
    from stackgen.pipeline import load_stack

    try:
        return load_stack(spec, out)
    except SpecError as exc:
        raise _report(fmt, exc.problems, [str(p) for p in exc.problems],
                      f"{len(exc.problems)} problem(s) in {one_line(str(spec))}; nothing was written", EXIT_BAD_INPUT) from None


def _render(spec: Path, fmt: Format, out: Path):
    from stackgen.pipeline import render_stack

    stack = _load(spec, fmt, out)
    return stack, render_stack(stack)


@app.command()
def render(spec: SpecOption = Path("stack.yaml"), out: OutOption = Path("generated"), fmt: FormatOption = Format.text) -> None:
    """Render every generated file from the spec into --out (atomically)."""
    from stackgen.output.write import OutputError, write_tree

    _, artifacts = _render(spec, fmt, out)
    try:
        write_tree(out, artifacts, protected=[spec])
    except OutputError as exc:
        raise _fail([str(exc)], EXIT_BAD_INPUT) from None
    _succeed(fmt, [], f"rendered {len(artifacts)} files into {out}")


@app.command()
def check(spec: SpecOption = Path("stack.yaml"), out: OutOption = Path("generated"), fmt: FormatOption = Format.text,
          no_cache: Annotated[bool, typer.Option("--no-cache", help="run every validator, even one that passed on "
                                                 "the same files and tools (kept in .stackgen-cache/ beside --out)")] = False,
          ) -> None:
    """Fail unless --out matches a fresh render and every validator accepts it."""
    import tempfile
    from dataclasses import replace

    from stackgen.checks.cache import cache_file
    from stackgen.diagnostics import Diagnostic, one_line
    from stackgen.output.write import OutputError, drift, drift_diffs, write_tree
    from stackgen.parsers.credentials import redact
    from stackgen.pipeline import validate

    stack, artifacts = _render(spec, fmt, out)
    try:
        drifted = [Diagnostic(file, rule="drift", message=message)
                   for file, message in drift(out, artifacts).problems(out.as_posix())]
        # What changed, capped: a CI log shows the edit without a second command (JSON keeps its documented shape).
        diffs = drift_diffs(out, artifacts, out.as_posix()) if drifted and fmt is not Format.json else {}
    except OutputError as exc:
        raise _fail([str(exc)], EXIT_BAD_INPUT) from None
    with tempfile.TemporaryDirectory(prefix="stackgen-check-") as tmp:
        root = Path(tmp) / "generated"
        write_tree(root, artifacts)
        cache = None if no_cache else cache_file(out)
        invalid = [replace(finding, file=f"{out}/{finding.file}") for finding in validate(root, stack, cache)]
    problems = drifted + invalid
    if problems:
        # The diff quotes files on disk, which a hand edit may have given a credential: masked, as in every message.
        lines = [line for d in drifted for line in [str(d), *("    " + one_line(redact(x)) for x in diffs.get(d.file, []))]]
        if fmt is not Format.text:  # annotations and reports carry the diff in the message
            drifted = [replace(d, message="\n".join([d.message, *diffs[d.file]])) if d.file in diffs else d for d in drifted]
        lines += [d.check_text() for d in invalid]
        raise _report(fmt, drifted + invalid, lines, f"check failed: {len(problems)} problem(s)", EXIT_CHECK_FAILED)
    _succeed(fmt, [], f"{out} is in sync with {spec} and valid ({len(artifacts)} files)")


@app.command()
def diff(spec: SpecOption = Path("stack.yaml"), out: OutOption = Path("generated"), fmt: FormatOption = Format.text) -> None:
    """Show, as a unified diff, what `render` would change in --out. Exit 1 when it would change anything.

    --format applies to an invalid spec only: the diff itself is the output."""
    from stackgen.output.write import OutputError, unified_diff

    _, artifacts = _render(spec, fmt, out)
    try:
        text = unified_diff(out, artifacts, out.as_posix(), protected=[spec])
    except OutputError as exc:
        raise _fail([str(exc)], EXIT_BAD_INPUT) from None
    sys.stdout.write(text)
    if text:
        raise typer.Exit(EXIT_CHECK_FAILED)


@app.command()
def lint(spec: SpecOption = Path("stack.yaml"), out: OutOption = Path("generated"),
         live: Annotated[str | None, typer.Option(help="a /metrics URL to compare with the metric contract")] = None,
         service: Annotated[str | None, typer.Option(help="the service --live belongs to (needed with several)")] = None,
         fmt: FormatOption = Format.text) -> None:
    """Semantic checks of the spec and a fresh render (docs/lint.md); exit 1 on any error finding."""
    from stackgen.diagnostics import ERROR
    from stackgen.pipeline import lint as run_lint

    stack, artifacts = _render(spec, fmt, out)
    try:
        findings = run_lint(stack, artifacts, spec.resolve().parent, out.as_posix(), live, service)
    except ValueError as exc:
        raise _fail([str(exc)], EXIT_BAD_INPUT) from None
    if fmt is Format.text:
        for finding in findings:
            typer.echo(finding.lint_text())
    errors = sum(1 for f in findings if f.severity == ERROR)
    summary = f"lint: {errors} error(s), {len(findings) - errors} warning(s)"
    if errors:
        raise _report(fmt, findings, [], summary, EXIT_CHECK_FAILED)
    _succeed(fmt, findings, summary)


class ReviewFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


@app.command()
def review(spec: SpecOption = Path("stack.yaml"), out: OutOption = Path("generated"),
           base: Annotated[str | None, typer.Option(help="the git revision whose spec is the base [default: HEAD]")] = None,
           base_spec: Annotated[Path | None, typer.Option(help="compare with this spec file instead of --base")] = None,
           fmt: Annotated[ReviewFormat, typer.Option("--format", help="text, markdown (PR comments), json")] = ReviewFormat.text,
           prometheus: Annotated[str | None, typer.Option(
               help="a Prometheus URL: backtest each added or changed alert on its history")] = None,
           range_: Annotated[str, typer.Option("--range", help="how far back --prometheus looks (a duration)")] = "7d",
           previews: Annotated[Path | None, typer.Option(
               help="draw each changed dashboard before and after into this folder (PNGs, shown by --format markdown)")]
           = None) -> None:
    """What the change of the spec since --base means: alerts, routing, SLOs, contract, dashboards, scrape,
    deploy, generated files (docs/review.md). Exit 0 with a report, 2 on invalid input."""
    from stackgen.diagnostics import SpecError, one_line
    from stackgen.review import compare, report_json, report_markdown, report_text, with_backtest
    from stackgen.review.sides import BaseError, load_sides
    from stackgen.spec.types import Duration

    if base is not None and base_spec is not None:
        raise _fail(["--base and --base-spec name two bases: give one"], EXIT_BAD_INPUT)
    try:
        range_s = Duration.parse(range_).seconds
    except ValueError as exc:
        raise _fail([f"--range: {one_line(str(exc))}"], EXIT_BAD_INPUT) from None
    try:
        base_side, head_side = load_sides(spec, out, base or "HEAD", base_spec)
    except BaseError as exc:
        raise _fail([str(exc)], EXIT_BAD_INPUT) from None
    except SpecError as exc:
        raise _fail([*map(str, exc.problems), f"{len(exc.problems)} problem(s); nothing was compared"],
                    EXIT_BAD_INPUT) from None
    report = compare(base_side, head_side, out.as_posix())
    if prometheus is not None:
        report = with_backtest(report, prometheus, base_side, head_side, range_s)
    pairs = None
    if previews is not None:
        from stackgen.preview import DashboardError
        from stackgen.review.previews import markdown, write_previews

        try:
            pairs = write_previews(base_side, head_side, previews)
        except DashboardError as exc:
            raise _fail([f"--previews: {one_line(str(exc))}"], EXIT_BAD_INPUT) from None
    writer = {ReviewFormat.text: report_text, ReviewFormat.markdown: report_markdown, ReviewFormat.json: report_json}[fmt]
    sys.stdout.write(writer.render(report))
    if pairs is not None:
        if fmt is ReviewFormat.markdown:
            sys.stdout.write(markdown(pairs, previews))
        else:
            typer.echo(f"{len(pairs)} changed dashboard(s) drawn in {previews}", err=True)


PREVIEW_PORT = 9099  # `stackgen preview --serve`'s default; `stackgen up` prints it


@app.command()
def preview(spec: SpecOption = Path("stack.yaml"), out: OutOption = Path("generated"),
            dashboard: Annotated[list[str] | None, typer.Option(help="only this dashboard uid (repeatable)")] = None,
            prometheus: Annotated[str | None, typer.Option(help="a Prometheus URL: draw each panel's data")] = None,
            range_: Annotated[str, typer.Option("--range", help="the time range drawn with --prometheus")] = "1h",
            to: Annotated[Path, typer.Option(help="folder for the PNGs and index.html")] = Path("preview"),
            serve: Annotated[bool, typer.Option("--serve", help="serve the page on 127.0.0.1, redrawn on each load")] = False,
            port: Annotated[int, typer.Option(help="--serve's port")] = PREVIEW_PORT) -> None:
    """Draw each generated dashboard (--out/grafana/dashboards; a fresh render of --spec when --out has none) to a
    PNG and an index.html (docs/observability.md). Exit 0, 2 on invalid input."""
    import time

    from stackgen.diagnostics import one_line
    from stackgen.preview import DashboardError, load_dashboards, render_all
    from stackgen.preview.draw import Source
    from stackgen.preview.load import DASHBOARDS_DIR, from_texts
    from stackgen.preview.query import QueryError, probe
    from stackgen.spec.types import Duration

    try:
        range_s = Duration.parse(range_).seconds
        if prometheus is not None:
            probe(prometheus)
    except (ValueError, QueryError) as exc:
        raise _fail([f"--{'range' if isinstance(exc, ValueError) else 'prometheus'}: {one_line(str(exc))}"],
                    EXIT_BAD_INPUT) from None
    try:
        if (out / DASHBOARDS_DIR).is_dir():
            dashboards = load_dashboards(out, dashboard)
        else:
            _, artifacts = _render(spec, Format.text, out)
            dashboards = from_texts({a.path: a.content for a in artifacts
                                     if a.path.startswith(DASHBOARDS_DIR + "/") and a.path.endswith(".json")}, dashboard)
    except DashboardError as exc:
        raise _fail([one_line(str(exc))], EXIT_BAD_INPUT) from None

    def draw():  # the range ends now, at each call: --serve redraws on each page load
        return render_all(dashboards, to, Source(prometheus.rstrip("/"), float(int(time.time())), range_s)
                          if prometheus else None)

    try:
        previews = draw()  # --serve too: a folder preview may not write in is refused before serving it
    except DashboardError as exc:
        raise _fail([f"--to: {one_line(str(exc))}"], EXIT_BAD_INPUT) from None
    if not serve:
        for p in previews:
            errors = sum(len(r.errors) for r in p.panels.values())
            typer.echo(f"{p.png}  {p.title} ({len(p.panels)} panels{f', {errors} failed queries' if errors else ''})")
        typer.echo(f"{to / 'index.html'}")
        return
    from stackgen.preview.serve import start

    try:
        server, thread = start(lambda: (draw(), to)[1], port)
    except OSError as exc:
        raise _fail([f"--port {port}: {one_line(str(exc))}"], EXIT_BAD_INPUT) from None
    typer.echo(f"serving dashboard previews on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)")
    try:
        thread.join()
    except KeyboardInterrupt:
        server.shutdown()


explain_app = typer.Typer(no_args_is_help=True, help="Explain what the spec generates, in plain numbers.")
app.add_typer(explain_app, name="explain")


@explain_app.command("slo")
def explain_slo(spec: SpecOption = Path("stack.yaml"), fmt: FormatOption = Format.text) -> None:
    """For each SLO: its burn-rate windows, factors, and the error ratio each tier fires at.

    --format applies to an invalid spec only: the explanation itself is the output."""
    from stackgen.model.slo_explain import explain

    typer.echo(explain(_load(spec, fmt).slos), nl=False)


@explain_app.command("capacity")
def explain_capacity(spec: SpecOption = Path("stack.yaml"), fmt: FormatOption = Format.text) -> None:
    """Per service and for the stack: active series, samples/s, rule series, head memory; the replicas and
    shards it needs (docs/scale.md). --format applies to an invalid spec only."""
    from stackgen.model.capacity import explain
    from stackgen.targets.prometheus.slo_rules import meta_records, sli_records

    stack = _load(spec, fmt)
    records: dict[str, int] = {}
    for group in stack.slos:  # the SLO recording rules the stack renders, one series each per job
        records[group.service.name] = records.get(group.service.name, 0) + len(sli_records(group)) + len(meta_records(group))
    typer.echo(explain(stack.spec, records), nl=False)


import_app = typer.Typer(no_args_is_help=True, help="Turn other tools' SLO specs into stack.yaml fragments.")
app.add_typer(import_app, name="import")


def _import(kind: str, files: list[Path]) -> None:
    """Print the fragment, or one line per file that cannot be mapped (exit 2)."""
    import yaml

    from stackgen.spec import slo_import

    imported = []
    try:
        for path in files:
            documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
            if kind == "sloth":
                imported += [slo_import.sloth(d, str(path)) for d in documents]
            else:
                imported += slo_import.openslo(documents, str(path))
    except (OSError, yaml.YAMLError, slo_import.ImportError_, KeyError, TypeError, ValueError) as error:
        raise _fail([str(error).splitlines()[0] if str(error) else repr(error)], 2) from None
    sys.stdout.write(slo_import.fragment(imported, [str(f) for f in files]))


@import_app.command("sloth")
def import_sloth(files: Annotated[list[Path], typer.Argument(help="Sloth prometheus/v1 spec files")]) -> None:
    """Sloth `prometheus/v1` specs as a `services[].slos` fragment (docs/slo.md)."""
    _import("sloth", files)


@import_app.command("openslo")
def import_openslo(files: Annotated[list[Path], typer.Argument(help="OpenSLO v1 files (SLO and SLI documents)")]) -> None:
    """OpenSLO `v1` SLO documents (with their SLIs) as a `services[].slos` fragment (docs/slo.md)."""
    _import("openslo", files)


@app.command()
def schema() -> None:
    """Print the spec's JSON Schema (also written to generated/stackgen.schema.json)."""
    from stackgen.targets.schema import shipped_text

    sys.stdout.write(shipped_text())


@app.command()
def init(name: Annotated[str, typer.Option(help="the stack's and its one service's name")] = "my-service",
         out: Annotated[Path, typer.Option("--out", "-o", help="the spec file to create")] = Path("stack.yaml")) -> None:
    """Write a small, valid, commented starting spec for one service; never overwrites a file."""
    from stackgen.diagnostics import one_line
    from stackgen.spec.starter import starter_spec

    try:
        text = starter_spec(name)
    except ValueError as exc:
        raise _fail([f"--name: {one_line(str(exc))}"], EXIT_BAD_INPUT) from None
    try:
        # Exclusive create: an existing spec is someone's work, and checking first would race.
        with out.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise _fail([f"{one_line(str(out))} already exists; nothing was written (choose another --out)"],
                    EXIT_BAD_INPUT) from None
    except OSError as exc:
        raise _fail([f"cannot write {one_line(str(out))}: {one_line(exc.strerror or str(exc))}"], EXIT_BAD_INPUT) from None
    typer.echo(f"wrote {one_line(str(out))}; next: stackgen render --spec {one_line(str(out))}")


RunDirOption = Annotated[Path, typer.Option("--run-dir", help="where the local stack keeps configs, data, logs, pids")]
DEFAULT_RUN_DIR = Path(".stackgen-run")


def _runtime(choice: str) -> str:
    if choice != "auto":
        return choice
    from stackgen.runtime.compose import engine_problem

    return "native" if engine_problem() else "compose"


@app.command()
def up(spec: SpecOption = Path("stack.yaml"), out: OutOption = Path("generated"),
       runtime: Annotated[str, typer.Option(help="auto, native or compose")] = "auto",
       profile: Annotated[str, typer.Option(
           help="production timings, drill (compressed; see docs), or ha (drill timings; 2 Prometheus, 3 Alertmanagers, "
                "VictoriaMetrics)")] = "production",
       run_dir: RunDirOption = DEFAULT_RUN_DIR,
       keep_data: Annotated[bool, typer.Option(
           "--keep-data", help="keep the previous run's Prometheus and Alertmanager data (default: empty)")] = False) -> None:
    """Start the stack locally: compose when a Docker engine is reachable, else native processes."""
    from stackgen.runtime import compose, native

    if runtime not in ("auto", "native", "compose") or profile not in ("production", "drill", "ha"):
        raise _fail(["--runtime is auto, native or compose; --profile is production, drill or ha"], EXIT_BAD_INPUT)
    if profile == "ha" and runtime == "compose":
        raise _fail(["--profile ha runs natively only (use --runtime native)"], EXIT_BAD_INPUT)
    runtime = "native" if profile == "ha" else runtime
    stack = _load(spec)
    chosen = _runtime(runtime)
    try:
        if chosen == "compose":
            compose.up(out, ["all"])
            typer.echo("compose stack started")
            return
        native.refuse_if_running(run_dir)  # before announcing a start that will not happen
        typer.echo(f"starting the native stack ({profile} profile, {'kept' if keep_data else 'empty'} data) in {run_dir} ...")
        state = native.up(stack, run_dir, profile, keep_data=keep_data)
    except native.StackError as exc:
        raise _fail([str(exc)], EXIT_CHECK_FAILED) from None
    for component in state.components:
        metrics = f"  metrics {component.metrics_url}" if component.metrics_url else ""
        typer.echo(f"  {component.name:<20} {component.url}  (pid {component.pid}){metrics}")
    for name, reason in sorted(state.skipped.items()):
        typer.echo(f"  {name:<20} skipped: {reason}")
    typer.echo(f"  notifications        {state.notifications}")
    typer.echo(f"  dashboard preview    http://127.0.0.1:{PREVIEW_PORT}/ after `stackgen preview --serve --prometheus "
               f"{state.component('prometheus').url}`")


@app.command()
def down(out: OutOption = Path("generated"), runtime: Annotated[str, typer.Option(help="auto, native or compose")] = "auto",
         run_dir: RunDirOption = DEFAULT_RUN_DIR) -> None:
    """Stop the stack: every component of the native stack, found by pid file or by its port."""
    from stackgen.runtime import compose, native

    if runtime == "compose" or (runtime == "auto" and native.State.load(run_dir.resolve()) is None
                                and _runtime("auto") == "compose"):
        try:
            compose.down(out)
        except native.StackError as exc:
            raise _fail([str(exc)], EXIT_CHECK_FAILED) from None
        return
    try:
        stopped = native.down(run_dir)
    except native.StackError as exc:
        raise _fail([str(exc)], EXIT_CHECK_FAILED) from None
    typer.echo(f"stopped: {', '.join(stopped)}" if stopped else f"nothing was running from {run_dir}")


@app.command()
def restart(component: Annotated[str | None, typer.Argument(help="one component (default: all of them)")] = None,
            run_dir: RunDirOption = DEFAULT_RUN_DIR) -> None:
    """Restart one component of the native stack (or all) with its recorded command, port and data."""
    from stackgen.runtime import native

    try:
        restarted = native.restart(run_dir, component)
    except native.StackError as exc:
        raise _fail([str(exc)], EXIT_CHECK_FAILED) from None
    for c in restarted:
        typer.echo(f"restarted {c.name:<20} {c.url}  (pid {c.pid})")


@app.command()
def status(run_dir: RunDirOption = DEFAULT_RUN_DIR) -> None:
    """Health of each component of the native stack; exit 1 unless every started component is healthy."""
    from stackgen.runtime import native

    try:
        rows = native.status(run_dir)
        state = native.State.load(run_dir.resolve())
    except native.StackError as exc:
        raise _fail([str(exc)], EXIT_CHECK_FAILED) from None
    for row in rows:
        where = f"  (pid {row.pid}, found by {row.found_by})" if row.pid else ""
        metrics = f"  metrics {row.metrics_url}" if row.metrics_url else ""
        typer.echo(f"{row.name:<20} {row.health:<10} {row.url}{metrics}{where}")
    if state is not None:
        typer.echo(f"profile              {state.profile}")
        typer.echo(f"notifications        {state.notifications}")
    if any(row.health in ("stopped", "unhealthy") for row in rows):
        raise typer.Exit(EXIT_CHECK_FAILED)


@app.command()
def drill(spec: SpecOption = Path("stack.yaml"),
          alert: Annotated[list[str] | None, typer.Option(help="drill only this alert (repeat for several)")] = None,
          timeout: Annotated[float, typer.Option(help="seconds to wait for each notification")] = 90.0,
          run_dir: RunDirOption = DEFAULT_RUN_DIR,
          thresholds: Annotated[bool, typer.Option(
              help="hold each error ratio at, under and over its threshold (the threshold step)")] = True,
          chaos: Annotated[bool, typer.Option(
              "--chaos", help="ha profile: SIGKILL a Prometheus replica and an Alertmanager peer during the drill, "
                              "check each alert arrives exactly once, restart them (no threshold step)")] = False) -> None:
    """Inject each alert's fault into the running stack; check it reaches the predicted receiver and resolves."""
    from stackgen.runtime import drill as drills
    from stackgen.runtime import native
    from stackgen.runtime import thresholds as exact

    stack = _load(spec)
    try:
        report = drills.run(stack, run_dir, alert or None, timeout, echo=typer.echo, thresholds=thresholds, chaos=chaos)
    except native.StackError as exc:
        raise _fail([f"drill: {exc}"], EXIT_CHECK_FAILED) from None
    typer.echo(drills.table(report.results, report.skipped))
    if report.thresholds:
        typer.echo("")
        typer.echo(exact.table(report.thresholds))
    if chaos:
        typer.echo("")
        typer.echo(drills.chaos_table(report))
    failed = [r for r in report.results if not r.passed]
    failed_checks = [c for c in report.thresholds if not c.passed]
    if report.left_active:
        typer.echo(f"still active at the end: {', '.join(report.left_active)}", err=True)
    if not report.passed:
        raise _fail([f"drill failed: {len(failed)} of {len(report.results)} alerts, {len(failed_checks)} of "
                     f"{len(report.thresholds)} threshold checks"
                     + (", the stack did not return to quiet" if report.left_active else "")
                     + (f", {len(report.chaos_problems)} chaos problems" if report.chaos_problems else "")], EXIT_CHECK_FAILED)
    typer.echo(f"drill passed: {len(report.results)} alerts fired at their receivers and resolved"
               + (f"; {len(report.thresholds)} threshold checks" if report.thresholds else ""))


def main() -> None:
    app()
