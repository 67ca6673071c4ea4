"""Each alert kind states its selectors and their metric types once, on its class; resolve, the rules,
the dashboards and the deploy overrides all read them there. The contract checker is shared by alerts
and panels, and the route walk by resolve and lint."""

from __future__ import annotations

import ast
import copy
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from stackgen.diagnostics import SpecError
from stackgen.model.deploy import override_alert
from stackgen.model.routing import walk_routes
from stackgen.resolve import load_stack
from stackgen.spec.alertmanager import RootRoute
from stackgen.spec.alerts import Alert, Selector
from stackgen.spec.service import Metric

ROOT = Path(__file__).resolve().parents[2]
ALERT_CLASSES = get_args(get_args(Alert)[0])
METRIC_TYPES = set(get_args(Metric.model_fields["type"].annotation))


def _selector_fields(cls: type) -> list[str]:
    return [name for name, field in cls.model_fields.items() if field.annotation is Selector]


@pytest.mark.parametrize("cls", ALERT_CLASSES, ids=lambda c: c.__name__)
def test_every_selector_field_of_a_kind_has_a_metric_type(cls):
    # A new kind with a Selector field it forgets to declare would escape the contract check.
    assert list(cls.selector_types) == _selector_fields(cls)
    for field, wanted in cls.selector_types.items():
        assert wanted and set(wanted) <= METRIC_TYPES, f"{cls.__name__}.{field}: {wanted}"


def test_the_kinds_with_selectors_are_the_typed_ones():
    with_selectors = {get_args(cls.model_fields["kind"].annotation)[0] for cls in ALERT_CLASSES if cls.selector_types}
    assert with_selectors == {"error_ratio", "latency_quantile", "threshold", "absent", "rate_threshold",
                              "predict_linear", "gauge_ratio"}


def test_selectors_return_the_alerts_own_selectors_by_field(stack):
    kinds = load_stack(ROOT / "tests/golden/alert-kinds/stack.yaml")
    alerts = [a for s in (*stack.spec.services, *kinds.spec.services) for a in s.alerts]
    # Every kind with selectors appears in stack.yaml or the alert-kinds case, so the loop covers each.
    assert {type(a) for a in alerts if type(a).selector_types} == {c for c in ALERT_CLASSES if c.selector_types}
    for alert in alerts:
        assert alert.selectors() == [(f, getattr(alert, f)) for f in _selector_fields(type(alert))]


def _problems(tmp_path: Path, data: dict[str, Any]) -> list[str]:
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_stack(path)
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


@pytest.mark.parametrize(("alert", "field", "other_metric", "message"), [
    ("HighErrorRate", "total", "fugatto_memory_usage_bytes",
     "an alert of kind error_ratio needs a counter, and 'fugatto_memory_usage_bytes' is a gauge"),
    ("HighResponseTime", "histogram", "fugatto_requests_total",
     "an alert of kind latency_quantile needs a histogram, and 'fugatto_requests_total' is a counter"),
    ("HighMemoryUsage", "gauge", "fugatto_requests_total",
     "an alert of kind threshold needs a gauge, and 'fugatto_requests_total' is a counter"),
])
def test_resolve_checks_each_selector_against_its_declared_type(tmp_path, spec_data, alert, field, other_metric,
                                                                message):
    data = copy.deepcopy(spec_data)
    alerts = data["services"][0]["alerts"]
    j = next(j for j, a in enumerate(alerts) if a["name"] == alert)
    alerts[j][field] = {"metric": other_metric}
    assert f"services[0].alerts[{j}].{field}.metric: {message}" in _problems(tmp_path, data)


def test_panels_go_through_the_same_contract_checker(tmp_path, spec_data):
    data = copy.deepcopy(spec_data)
    panel = data["services"][0]["dashboards"]["panels"][0]
    assert panel["title"] == "Request Rate"
    panel["matchers"] = ['route="/x"']
    panel["by"] = ["route", "instance"]
    problems = _problems(tmp_path, data)
    # The label list is what the alerts' checker adds; the panel's own code never wrote it.
    assert ("services[0].dashboards.panels[0].matchers[0]: panel 'Request Rate': label 'route' is not declared on "
            "'fugatto_requests_total' (labels: method, endpoint, status)") in problems
    # `instance` is on every series, so a panel (unlike an alert) may aggregate by it.
    assert problems.count("services[0].dashboards.panels[0].by[0]: panel 'Request Rate': cannot aggregate by "
                          "'route': not a label of 'fugatto_requests_total'") == 1
    assert not [p for p in problems if ".by[1]" in p]


def test_only_kinds_with_a_threshold_take_an_environment_override(stack):
    by_kind = {a.kind: a for s in stack.spec.services for a in s.alerts}
    assert override_alert(by_kind["threshold"], 7.0).threshold == 7.0
    for kind in ("target_down", "watchdog"):
        with pytest.raises(ValueError, match=f"is a {kind} alert, which has no threshold"):
            override_alert(by_kind[kind], 1.0)


def test_walk_routes_yields_every_route_parent_first_with_its_path():
    root = RootRoute.model_validate({"receiver": "r0", "routes": [
        {"receiver": "a", "routes": [{"receiver": "a0"}, {"receiver": "a1"}]},
        {"receiver": "b"},
    ]})
    walked = [(route.receiver, path) for route, path in walk_routes(root, ("route",))]
    assert walked == [
        ("r0", ("route",)),
        ("a", ("route", "routes", 0)),
        ("a0", ("route", "routes", 0, "routes", 0)),
        ("a1", ("route", "routes", 0, "routes", 1)),
        ("b", ("route", "routes", 1)),
    ]


def test_resolve_finds_an_unknown_receiver_deep_in_the_tree(tmp_path, spec_data):
    data = copy.deepcopy(spec_data)
    data["alertmanager"]["route"]["routes"][1]["routes"] = [{"receiver": "nobody", "matchers": ['team="x"']}]
    problems = _problems(tmp_path, data)
    assert [p for p in problems if "nobody" in p] == [
        "alertmanager.route.routes[1].routes[0].receiver: route names receiver 'nobody', which is not defined "
        "(receivers: " + ", ".join(r["name"] for r in data["alertmanager"]["receivers"]) + ")"
    ]


def _imports(package: Path) -> set[str]:
    found: set[str] = set()
    for module in package.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
    return found


def test_alert_labels_are_a_model_fact_the_alertmanager_target_reads_without_the_prometheus_target():
    imported = _imports(ROOT / "stackgen" / "targets" / "alertmanager")
    assert "stackgen.model.promql" in imported
    assert not [m for m in imported if m.startswith("stackgen.targets.prometheus")]
