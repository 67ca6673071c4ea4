"""Issue 23 (h): dependency ceilings. A service's availability SLO above the product of its hard
dependencies' availabilities is flagged by `stackgen lint` and shown by `stackgen explain slo`."""

from __future__ import annotations

import copy

from stackgen.model.slo_explain import explain
from stackgen.pipeline import lint, render_stack
from tests.slo.conftest import ROOT, slo, with_slos


def _two_services(objective: float, deps: list[dict]) -> dict:
    data = with_slos(slo("avail", objective), alerts=False)
    other = copy.deepcopy(data["services"][0])
    other.update(name="upstream", slos=[slo("up", 99.9)], depends_on=[])
    other["ports"] = {"http": 9100, "metrics": 9101}
    other.pop("openapi", None)
    data["services"][0]["depends_on"] = deps
    data["services"].append(other)
    return data


def _findings(make_stack, data: dict) -> list:
    stack = make_stack(data)
    return [d for d in lint(stack, render_stack(stack), ROOT) if d.rule.startswith("slo-")]


def test_an_objective_above_the_ceiling_is_flagged(make_stack) -> None:
    deps = [{"service": "upstream"}, {"external": "postgres", "objective": 99.95}]
    (finding,) = _findings(make_stack, _two_services(99.9, deps))
    assert finding.rule == "slo-above-dependency-ceiling" and finding.severity == "warning"
    assert "services[0].slos[0].objective" in str(finding)
    assert "99.85% (upstream 99.9% x postgres 99.95%)" in finding.message


def test_within_the_ceiling_or_soft_dependencies_are_fine(make_stack) -> None:
    assert _findings(make_stack, _two_services(99.8, [{"service": "upstream"}])) == []
    soft = [{"service": "upstream", "hard": False}, {"external": "cache", "objective": 99, "hard": False}]
    assert _findings(make_stack, _two_services(99.99, soft)) == []


def test_a_dependency_without_availability_slo_is_unknown(make_stack) -> None:
    data = _two_services(99.9, [{"service": "upstream"}])
    data["services"][1]["slos"] = []
    (finding,) = _findings(make_stack, data)
    assert finding.rule == "slo-dependency-unknown" and "services[0].depends_on[0]" in str(finding)


def test_explain_shows_the_ceiling(make_stack) -> None:
    stack = make_stack(_two_services(99.9, [{"service": "upstream"}, {"external": "postgres", "objective": 99.95}]))
    text = explain(stack.slos)
    assert "ceiling from hard dependencies: 99.85% (upstream 99.9% x postgres 99.95%); the objective is ABOVE it" in text


def test_bad_dependencies_are_refused(spec_errors) -> None:
    (error,) = spec_errors(_two_services(99.0, [{"service": "nowhere"}]))
    assert "depends_on[0].service" in error and "'nowhere', which is not a service of the spec" in error
    errors = spec_errors(_two_services(99.0, [{"external": "db"}, {"service": "upstream", "external": "x"}]))
    assert any("depends_on[0]" in e and "needs its published `objective`" in e for e in errors)
    assert any("depends_on[1]" in e and "either `service`" in e for e in errors)
