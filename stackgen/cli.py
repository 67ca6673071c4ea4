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

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Generate and prove a monitoring stack from one typed spec.")

SpecOption = Annotated[Path, typer.Option("--spec", "-s", help="the stack spec")]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="folder of generated files")]


class Format(StrEnum):
    text = "text"
    json = "json"


FormatOption = Annotated[Format, typer.Option(
    "--format", help="text, or json: the diagnostics as one JSON list on stdout, status lines on stderr")]
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2


def _fail(lines: list[str], code: int) -> typer.Exit:
    for line in lines:
        typer.echo(line, err=True)
    return typer.Exit(code)


def _report(fmt: Format, diagnostics: list[Diagnostic], lines: list[str], summary: str, code: int) -> typer.Exit:
    """A failure: its text lines and summary on stderr, or the JSON document on stdout and the summary on stderr."""
    if fmt is Format.json:
        from stackgen.diagnostics import json_text

        sys.stdout.write(json_text(diagnostics))
        lines = []
    return _fail([*lines, summary], code)


def _succeed(fmt: Format, diagnostics: list[Diagnostic], status: str) -> None:
    """Success: the status line on stdout, or the JSON document there and the status on stderr."""
    if fmt is Format.json:
        from stackgen.diagnostics import json_text

        sys.stdout.write(json_text(diagnostics))
    typer.echo(status, err=fmt is Format.json)


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
def check(spec: SpecOption = Path("stack.yaml"), out: OutOption = Path("generated"), fmt: FormatOption = Format.text) -> None:
    """Fail unless --out matches a fresh render and every validator accepts it."""
    import tempfile
    from dataclasses import replace

    from stackgen.diagnostics import Diagnostic
    from stackgen.output.write import OutputError, drift, write_tree
    from stackgen.pipeline import validate

    stack, artifacts = _render(spec, fmt, out)
    try:
        drifted = [Diagnostic(file, rule="drift", message=message)
                   for file, message in drift(out, artifacts).problems(out.as_posix())]
    except OutputError as exc:
        raise _fail([str(exc)], EXIT_BAD_INPUT) from None
    with tempfile.TemporaryDirectory(prefix="stackgen-check-") as tmp:
        root = Path(tmp) / "generated"
        write_tree(root, artifacts)
        invalid = [replace(finding, file=f"{out}/{finding.file}") for finding in validate(root, stack)]
    problems = drifted + invalid
    if problems:
        lines = [str(d) for d in drifted] + [d.check_text() for d in invalid]
        raise _report(fmt, problems, lines, f"check failed: {len(problems)} problem(s)", EXIT_CHECK_FAILED)
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


explain_app = typer.Typer(no_args_is_help=True, help="Explain what the spec generates, in plain numbers.")
app.add_typer(explain_app, name="explain")


@explain_app.command("slo")
def explain_slo(spec: SpecOption = Path("stack.yaml"), fmt: FormatOption = Format.text) -> None:
    """For each SLO: its burn-rate windows, factors, and the error ratio each tier fires at.

    --format applies to an invalid spec only: the explanation itself is the output."""
    from stackgen.model.slo_explain import explain

    typer.echo(explain(_load(spec, fmt).slos), nl=False)


@app.command()
def schema() -> None:
    """Print the spec's JSON Schema (also written to generated/stackgen.schema.json)."""
    from stackgen.output.serialize import json_text
    from stackgen.targets.schema import schema as build

    sys.stdout.write(json_text(build()))


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
       profile: Annotated[str, typer.Option(help="production timings, or drill (compressed; see docs)")] = "production",
       run_dir: RunDirOption = DEFAULT_RUN_DIR) -> None:
    """Start the stack locally: compose when a Docker engine is reachable, else native processes."""
    from stackgen.runtime import compose, native

    if runtime not in ("auto", "native", "compose") or profile not in ("production", "drill"):
        raise _fail(["--runtime is auto, native or compose; --profile is production or drill"], EXIT_BAD_INPUT)
    stack = _load(spec)
    chosen = _runtime(runtime)
    try:
        if chosen == "compose":
            compose.up(out, ["all"])
            typer.echo("compose stack started")
            return
        native.refuse_if_running(run_dir)  # before announcing a start that will not happen
        typer.echo(f"starting the native stack ({profile} profile) in {run_dir} ...")
        state = native.up(stack, run_dir, profile)
    except native.StackError as exc:
        raise _fail([str(exc)], EXIT_CHECK_FAILED) from None
    for component in state.components:
        typer.echo(f"  {component.name:<20} {component.url}  (pid {component.pid})")
    for name, reason in sorted(state.skipped.items()):
        typer.echo(f"  {name:<20} skipped: {reason}")


@app.command()
def down(out: OutOption = Path("generated"), runtime: Annotated[str, typer.Option(help="auto, native or compose")] = "auto",
         run_dir: RunDirOption = DEFAULT_RUN_DIR) -> None:
    """Stop exactly what `stackgen up` started."""
    from stackgen.runtime import compose, native

    if runtime == "compose" or (runtime == "auto" and native.State.load(run_dir.resolve()) is None
                                and _runtime("auto") == "compose"):
        try:
            compose.down(out)
        except native.StackError as exc:
            raise _fail([str(exc)], EXIT_CHECK_FAILED) from None
        return
    stopped = native.down(run_dir)
    typer.echo(f"stopped: {', '.join(stopped)}" if stopped else f"nothing was running from {run_dir}")


@app.command()
def status(run_dir: RunDirOption = DEFAULT_RUN_DIR) -> None:
    """Health of each component of the native stack; exit 1 unless every started component is healthy."""
    from stackgen.runtime import native

    try:
        rows = native.status(run_dir)
    except native.StackError as exc:
        raise _fail([str(exc)], EXIT_CHECK_FAILED) from None
    for name, health, url in rows:
        typer.echo(f"{name:<20} {health:<10} {url}")
    if any(health in ("stopped", "unhealthy") for _, health, _ in rows):
        raise typer.Exit(EXIT_CHECK_FAILED)


@app.command()
def drill(spec: SpecOption = Path("stack.yaml"), alert: Annotated[str | None, typer.Option(help="drill only this alert")] = None,
          timeout: Annotated[float, typer.Option(help="seconds to wait for each notification")] = 90.0,
          run_dir: RunDirOption = DEFAULT_RUN_DIR) -> None:
    """Inject each alert's fault into the running stack; check it reaches the predicted receiver and resolves."""
    from stackgen.runtime import drill as drills
    from stackgen.runtime import native

    stack = _load(spec)
    try:
        results, skipped = drills.run(stack, run_dir, alert, timeout, echo=typer.echo)
    except native.StackError as exc:
        raise _fail([str(exc)], EXIT_CHECK_FAILED) from None
    typer.echo(drills.table(results, skipped))
    failed = [r for r in results if not r.passed]
    if failed:
        raise _fail([f"drill failed: {len(failed)} of {len(results)} alerts"], EXIT_CHECK_FAILED)
    typer.echo(f"drill passed: {len(results)} alerts fired at their receivers and resolved")


def main() -> None:
    app()
