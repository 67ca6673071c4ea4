"""SLO tiers, windows and thresholds are computed once per SLO, when the stack is resolved; every target,
check, lint rule and the drill read them from the Stack."""

from __future__ import annotations

import ast
import inspect
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stackgen.checks import grafana as grafana_check
from stackgen.model import slo as model
from stackgen.model.slo_explain import explain
from stackgen.pipeline import lint, render_stack
from stackgen.resolve import load_stack
from stackgen.runtime.drill import plans
from stackgen.runtime.profile import drill_stack
from tests.slo.conftest import ROOT

PACKAGE = ROOT / "stackgen"
# What a module outside resolve may take from model.slo: the value objects it reads and the tier names.
READABLE = {"SLOGroup", "Tier", "Condition", "ExtraAlert", "TIERS"}  # value objects, computed once


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every call of a function of model.slo, by name, from the moment the fixture is set up."""
    counted: Counter[str] = Counter()

    def counting(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counted[name] += 1
            return fn(*args, **kwargs)
        return wrapper

    patched = [name for name, fn in list(vars(model).items())
               if inspect.isfunction(fn) and fn.__module__ == model.__name__]
    for name in patched:
        monkeypatch.setattr(model, name, counting(name, getattr(model, name)))
    assert {"slo_group", "conditions", "budget"} <= set(patched)
    return counted


def test_a_full_render_computes_each_slo_once_at_resolve(calls: Counter[str]) -> None:
    stack = load_stack(ROOT / "stack.yaml")
    slos = sum(len(service.slos) for service in stack.spec.services)
    assert slos >= 2 and len(stack.slos) == slos
    assert calls["slo_group"] == slos
    assert calls["conditions"] == slos * len(model.TIERS)  # once per tier, enabled or not

    calls.clear()
    artifacts = render_stack(stack)
    lint(stack, artifacts, ROOT)
    grafana_check.validate(ROOT / "generated", stack)
    explained = explain(stack.slos)
    assert "GenerateAvailabilityFastBurn" in explained and any(a.path.endswith("-slos.yml") for a in artifacts)
    assert calls == Counter(), f"recomputed after resolve: {dict(calls)}"


def test_the_drill_reads_the_tiers_of_its_own_resolved_stack(calls: Counter[str]) -> None:
    stack = load_stack(ROOT / "stack.yaml")
    profile = drill_stack(stack)  # the drill spec is resolved once, like any spec
    calls.clear()
    todo, skipped = plans(profile)
    assert calls == Counter()
    assert [g.slo for g in profile.slos] == [slo for s in profile.spec.services for slo in s.slos]
    page = next(p for p in todo if p.alert == "GenerateAvailabilityFastBurn")
    assert page.receivers == ["critical-alerts"] and page.expected_fire == 3  # drill scrape + evaluation + group_wait
    assert "GenerateAvailabilitySlowBurn" in skipped


def _imports_of_model_slo(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "stackgen.model.slo":
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module == "stackgen.model":
            out += [(node.lineno, "the module") for alias in node.names if alias.name == "slo"]
        elif isinstance(node, ast.Import):
            out += [(node.lineno, "the module") for alias in node.names if alias.name == "stackgen.model.slo"]
    return out


def test_only_resolve_computes_slo_facts() -> None:
    """A module that imported a function of model.slo by name would escape the counting above."""
    bad, readers = [], 0
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = path.relative_to(PACKAGE).parts[0]
        if unit == "resolve" or path == PACKAGE / "model" / "slo.py":
            continue
        for line, name in _imports_of_model_slo(path):
            readers += 1
            if name not in READABLE:
                bad.append(f"{path.relative_to(ROOT)}:{line}: imports {name} from stackgen.model.slo")
    assert readers >= 4  # the rule files, their tests, the panels and explain read the value objects
    assert bad == []
