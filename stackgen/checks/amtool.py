"""amtool: the Alertmanager config (which parses the template files), every receiver template executed
against amtool's example data, and every generated routing test with --verify.receivers."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

from stackgen.checks import fast_yaml
from stackgen.checks.tools import ToolMissing, find, missing_finding, output_of, run
from stackgen.diagnostics import Diagnostic
from stackgen.model import names
from stackgen.output.quoting import alertmanager_matcher
from stackgen.resolve import Stack


def validate(root: Path, stack: Stack) -> list[Diagnostic]:
    try:
        amtool = find("amtool")
    except ToolMissing as exc:
        return [missing_finding(exc, names.ALERTMANAGER_CONFIG)]
    config = names.ALERTMANAGER_CONFIG
    result = run([amtool, "check-config", config], cwd=root)
    if result.returncode != 0:
        return [Diagnostic(config, rule="amtool check-config", message=output_of(result))]
    findings = render_templates(amtool, root)
    # routes.yml tests the base config; routes-<environment>.yml names the config it tests (an overlay's).
    base_tests = root / names.ALERTMANAGER_ROUTE_TESTS
    for tests_file in sorted(base_tests.parent.glob(f"{base_tests.stem}*{base_tests.suffix}")):
        findings += _route_tests(amtool, root, tests_file.relative_to(root).as_posix())
    return findings


def _route_tests(amtool: str, root: Path, tests_file: str) -> list[Diagnostic]:
    loaded = fast_yaml.load((root / tests_file).read_text())
    config = loaded.get("config", names.ALERTMANAGER_CONFIG)
    if not (root / config).is_file():
        return [Diagnostic(tests_file, rule="amtool config routes test", message=f"{config} was not rendered")]
    # Routing reads only the labels some route matches on: cases that agree on those and expect the same
    # receivers are one amtool run (a thousand services' cases differ by `service` alone).
    routed = route_labels(fast_yaml.load((root / config).read_text(encoding="utf-8")).get("route", {}))

    def key(case: dict[str, Any]) -> tuple[object, ...]:
        labels = sorted(case["labels"].items())
        return tuple(item for item in labels if routed is None or item[0] in routed), tuple(case["receivers"])

    def route_test(case: dict[str, Any]) -> CompletedProcess[str]:
        labels = [alertmanager_matcher(k, v) for k, v in sorted(case["labels"].items())]
        return run([amtool, "config", "routes", "test", f"--config.file={config}",
                    f"--verify.receivers={','.join(case['receivers'])}", *labels], cwd=root)

    first: dict[tuple[object, ...], dict[str, Any]] = {}
    for case in loaded["tests"]:
        first.setdefault(key(case), case)  # the first case of each key runs; the others share its verdict
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        results = dict(zip(first, pool.map(route_test, first.values()), strict=True))
    return [Diagnostic(tests_file, rule="amtool config routes test",
                       message=f"{case['name']}: expected {','.join(case['receivers'])}; amtool: {output_of(result)}")
            for case in loaded["tests"] if (result := results[key(case)]).returncode != 0]


_MATCHER_NAME = re.compile(r'^\s*(?:"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_]*))\s*(?:=~|!~|!=|=)')


def route_labels(route: dict[str, Any]) -> set[str] | None:
    """Every label name the route tree matches on (`matchers`, `match`, `match_re`); None if a matcher
    cannot be read, so that nothing is assumed irrelevant."""
    names_: set[str] = set()
    for matcher in route.get("matchers") or []:
        found = _MATCHER_NAME.match(str(matcher))
        if found is None or "\\" in (found.group(1) or ""):  # an escaped quoted name: not read, not assumed
            return None
        names_.add(found.group(1) if found.group(1) is not None else found.group(2))
    names_ |= {*(route.get("match") or {}), *(route.get("match_re") or {})}
    for child in route.get("routes") or []:
        below = route_labels(child)
        if below is None:
            return None
        names_ |= below
    return names_


# The Debian package ships Alertmanager's default templates here instead of compiling them into amtool.
DEFAULT_TEMPLATES_FILE = Path("/usr/share/prometheus/alertmanager/default.tmpl")


def _templated(value: Any) -> Iterator[str]:
    if isinstance(value, str) and "{{" in value:
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _templated(item)
    elif isinstance(value, list):
        for item in value:
            yield from _templated(item)


def render_templates(amtool: str, root: Path) -> list[Diagnostic]:
    """`amtool template render` of every templated receiver field: check-config parses template files but
    runs none, so a misspelt field (`.Anotations`) or a missing `{{ define }}` would surface only when
    Alertmanager sends; rendered here against amtool's example data, it fails `stackgen check`."""
    config = fast_yaml.load((root / names.ALERTMANAGER_CONFIG).read_text(encoding="utf-8"))
    texts = sorted({t for receiver in config.get("receivers", []) for t in _templated(receiver)})
    if not texts:
        return []
    config_dir = (root / names.ALERTMANAGER_CONFIG).parent
    # amtool requires a glob; one matching nothing is accepted, so a config without template files still renders.
    patterns = config.get("templates") or ["templates/*.tmpl"]
    globs = [f"--template.glob={(config_dir / pattern).as_posix()}" for pattern in patterns]
    if DEFAULT_TEMPLATES_FILE.is_file():
        globs.append(f"--template.glob={DEFAULT_TEMPLATES_FILE}")
    findings = []
    for text in texts:
        result = run([amtool, "template", "render", *globs, f"--template.text={text}"], cwd=root)
        if result.returncode != 0:
            findings.append(Diagnostic(names.ALERTMANAGER_CONFIG, rule="amtool template render",
                                       message=f"{text!r}: {output_of(result)}"))
    return findings
