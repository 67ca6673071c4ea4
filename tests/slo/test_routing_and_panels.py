"""SLO alerts go through the same route tree; the dashboard panels read only the SLO records."""

from __future__ import annotations

import re

import promql_parser
import yaml

from stackgen.targets.alertmanager.routing_tests import cases
from stackgen.targets.grafana.slo_panels import slo_dashboard_panels
from stackgen.targets.prometheus.slo_rules import slo_rules
from tests.slo.conftest import ROOT, slo, with_slos


def test_golden_routing_tests_include_slo_alerts() -> None:
    text = (ROOT / "generated/alertmanager/tests/routes.yml").read_text(encoding="utf-8")
    tests = yaml.safe_load(text)["tests"]
    by_name = {t["labels"].get("alertname"): t for t in tests}
    assert by_name["GenerateAvailabilityFastBurn"]["receivers"] == ["critical-alerts"]
    assert by_name["GenerateAvailabilitySlowBurn"]["receivers"] == ["warning-alerts"]
    assert by_name["GenerateLatencyFastBurn"]["labels"] == {
        "alertname": "GenerateLatencyFastBurn", "severity": "critical", "service": "fugatto-audio-lab",
        "team": "audio-ml", "sloth_severity": "page"}


def test_severity_override_changes_the_route(make_stack) -> None:
    stack = make_stack(with_slos(slo("avail", page={"severity": "warning"}, ticket={"enabled": False})))
    routed = {c["labels"].get("alertname"): c["receivers"] for c in cases(stack)}
    assert routed["AvailFastBurn"] == ["warning-alerts"]
    assert "AvailSlowBurn" not in routed


def test_panels_cover_sli_budget_burn_and_tiers(make_stack) -> None:
    stack = make_stack(with_slos(slo("avail", 99.9, "28d")))
    (panels,) = slo_dashboard_panels(stack, "fugatto-audio-lab")
    titles = [p.title for p in panels]
    assert titles == [f"avail (99.9% / 28d): {t}" for t in (
        "SLI over the period", "error budget remaining", "SLI over time", "burn rate per window",
        "page tier (AvailFastBurn)", "ticket tier (AvailSlowBurn)")]
    assert [p.display for p in panels] == ["stat", "gauge", *["timeseries"] * 4]
    assert panels[0].queries[0].expr.startswith("1 - slo:sli_error:ratio_rate4w{")  # Sloth's name for 28d
    assert [q.legend for q in panels[3].queries] == ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "28d"]
    assert panels[5].queries[-1].expr.endswith("/ 0.9333333333333333")
    empty = make_stack(with_slos())
    assert slo_dashboard_panels(empty, empty.spec.services[0]) == []


def test_panel_exprs_parse_and_use_only_recorded_series(make_stack) -> None:
    stack = make_stack(with_slos(slo("avail"), slo("other", 99.0)))
    service = stack.spec.services[0]
    recorded = {r["record"] for g in slo_rules(stack.slos_of(service))["groups"] for r in g["rules"] if "record" in r}
    per_slo = slo_dashboard_panels(stack, service)
    assert len(per_slo) == 2
    for panel in (panel for panels in per_slo for panel in panels):
        for query in panel.queries:
            promql_parser.parse(query.expr)  # raises on invalid PromQL
            used = set(re.findall(r"\b(slo:[a-z0-9_:]+|sloth_slo_info)\b", query.expr))
            assert used and used <= recorded, (panel.title, used - recorded)
