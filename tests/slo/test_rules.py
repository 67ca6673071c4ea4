"""The SLO rule file: Sloth names and labels, computed thresholds, the exact `le`, and its wiring."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml
from prometheus_client.utils import floatToGoString

from stackgen.model import names
from stackgen.pipeline import render_stack
from stackgen.targets.prometheus.config import server_config
from stackgen.targets.prometheus.rules import rule_files
from stackgen.targets.prometheus.slo_rules import slo_rules
from tests.slo.conftest import ROOT, slo, with_slos

PROMTOOL = shutil.which("promtool")
GOLDEN = ROOT / "generated" / "prometheus" / "rules" / "fugatto-audio-lab-slos.yml"


def _golden() -> dict:
    return yaml.safe_load(GOLDEN.read_text(encoding="utf-8"))


def _rules(group: dict) -> dict[str, dict]:
    return {(r.get("record") or r["alert"]) + r.get("labels", {}).get("sloth_window", ""): r
            for r in group["rules"]}


def test_sloth_recording_rules_and_labels() -> None:
    group = _golden()["groups"][0]
    assert group["name"] == "fugatto-audio-lab.slo.generate-availability"
    rules = _rules(group)
    for window in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"):
        rule = rules[f"slo:sli_error:ratio_rate{window}{window}"]
        assert rule["labels"] == {"sloth_id": "fugatto-audio-lab-generate-availability",
                                  "sloth_service": "fugatto-audio-lab", "sloth_slo": "generate-availability",
                                  "sloth_window": window}
    assert "[1h]" in rules["slo:sli_error:ratio_rate1h1h"]["expr"]
    period = rules["slo:sli_error:ratio_rate30d30d"]["expr"]
    # Traffic-weighted: the period's bad events over all of its events, from the recorded 5m rates.
    assert period.startswith("sum_over_time(slo:sli_bad_events:rate5m{")
    assert rules["slo:objective:ratio"]["expr"] == "vector(0.995)"
    assert rules["slo:error_budget:ratio"]["expr"] == "vector(0.005)"
    assert rules["slo:time_period:days"]["expr"] == "vector(30)"
    for record in ("slo:current_burn_rate:ratio", "slo:period_burn_rate:ratio",
                   "slo:period_error_budget_remaining:ratio"):
        assert record in rules
    assert rules["sloth_slo_info"]["labels"]["sloth_objective"] == "99.5"


def test_availability_sli_selects_generate_5xx() -> None:
    expr = _rules(_golden()["groups"][0])["slo:sli_error:ratio_rate5m5m"]["expr"]
    assert 'fugatto_requests_total{job="fugatto-audio-lab",endpoint="/generate",status=~"5.."}[5m]' in expr
    assert 'fugatto_requests_total{job="fugatto-audio-lab",endpoint="/generate"}[5m]' in expr


def test_latency_sli_uses_le_exactly_as_prometheus_client_writes_it() -> None:
    expr = _rules(_golden()["groups"][1])["slo:sli_error:ratio_rate1h1h"]["expr"]
    bucket = 'fugatto_request_duration_seconds_bucket{job="fugatto-audio-lab",endpoint="/generate",le="10.0"}'
    assert bucket + "[1h]" in expr
    assert 'fugatto_request_duration_seconds_count{job="fugatto-audio-lab",endpoint="/generate"}[1h]' in expr


@pytest.mark.parametrize("bound", [0.005, 0.1, 1, 2.5, 10, 60, 120, 1e-5, 12345678.0, float("inf")])
def test_le_matches_prometheus_client(bound: float) -> None:
    assert names.histogram_le(bound) == floatToGoString(bound)


def test_alerts_thresholds_are_factor_times_budget(make_stack) -> None:
    stack = make_stack(with_slos(slo("avail", 99.9, "28d")))
    service = stack.spec.services[0]
    page, ticket = [r for r in slo_rules(stack.slos_of(service))["groups"][0]["rules"] if "alert" in r]
    assert page["alert"] == "AvailFastBurn" and ticket["alert"] == "AvailSlowBurn"
    assert "ratio_rate5m{" in page["expr"] and "> (13.44 * 0.001)" in page["expr"]
    assert "ratio_rate6h{" in page["expr"] and "> (5.6 * 0.001)" in page["expr"]
    assert "> (2.8 * 0.001)" in ticket["expr"] and "> (0.9333333333333333 * 0.001)" in ticket["expr"]
    assert page["labels"] == {"severity": "critical", "service": "fugatto-audio-lab", "team": "audio-ml",
                              "sloth_severity": "page"}
    assert ticket["labels"]["severity"] == "warning"
    assert page["expr"].startswith("max without (sloth_window) (")


def test_tier_overrides_and_disabling(make_stack) -> None:
    stack = make_stack(with_slos(slo("avail", page={"enabled": False},
                                     ticket={"severity": "critical", "for": "15m", "labels": {"pager": "yes"},
                                             "annotations": {"dashboard": "https://grafana.example.com/d/x"}})))
    alerts = [r for r in slo_rules(stack.slos)["groups"][0]["rules"] if "alert" in r]
    assert [a["alert"] for a in alerts] == ["AvailSlowBurn"]
    (ticket,) = alerts
    assert ticket["for"] == "15m" and ticket["labels"]["severity"] == "critical"
    assert ticket["labels"]["pager"] == "yes"
    assert ticket["annotations"]["dashboard"] == "https://grafana.example.com/d/x"


def test_rule_file_is_listed_in_prometheus_yml(make_stack) -> None:
    stack = make_stack(with_slos(slo("avail")))
    assert "rules/fugatto-audio-lab-slos.yml" in rule_files(stack.spec)
    assert server_config(stack.spec)["rule_files"] == rule_files(stack.spec)
    without = make_stack(with_slos())
    assert "rules/fugatto-audio-lab-slos.yml" not in rule_files(without.spec)
    assert names.slo_rules_file("fugatto-audio-lab") not in [a.path for a in render_stack(without)]


def test_promtool_accepts_the_rule_file() -> None:
    assert PROMTOOL, "promtool is required (apt-get install prometheus)"
    result = subprocess.run([PROMTOOL, "check", "rules", str(GOLDEN)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
