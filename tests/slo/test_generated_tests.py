"""The generated promtool tests: they pass against the rules, and fail when the rules are wrong."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from stackgen.output.write import write_tree
from stackgen.pipeline import render_stack
from tests.slo.conftest import ROOT, slo, with_slos

PROMTOOL = shutil.which("promtool")
GOLDEN_TESTS = ROOT / "generated" / "prometheus" / "tests" / "fugatto-audio-lab-slos.test.yml"
GOLDEN_TICKET_TESTS = GOLDEN_TESTS.with_name("fugatto-audio-lab-slos-ticket.test.yml")


def _promtool_test(tests_dir: Path) -> subprocess.CompletedProcess[str]:
    """promtool on the SLO tests: the ticket tiers' own file too, when the render split them off."""
    assert PROMTOOL, "promtool is required (apt-get install prometheus)"
    files = [f for f in ("fugatto-audio-lab-slos.test.yml", "fugatto-audio-lab-slos-ticket.test.yml")
             if (tests_dir / f).exists()]
    return subprocess.run([PROMTOOL, "test", "rules", *files], cwd=tests_dir, capture_output=True, text=True,
                          timeout=120)


def _render(make_stack, spec: dict, root: Path) -> Path:
    write_tree(root, render_stack(make_stack(spec)))
    return root / "prometheus"


def test_golden_test_file_is_small_and_covers_every_tier() -> None:
    assert GOLDEN_TESTS.stat().st_size < 300_000
    document = yaml.safe_load(GOLDEN_TESTS.read_text(encoding="utf-8"))
    ticket = yaml.safe_load(GOLDEN_TICKET_TESTS.read_text(encoding="utf-8"))
    assert document["rule_files"] == ticket["rule_files"] == ["../rules/fugatto-audio-lab-slos.yml"]
    # The ticket tiers' scenarios span days: their own file is evaluated hourly, the rest every 30m.
    assert (document["evaluation_interval"], ticket["evaluation_interval"]) == ("30m", "1h")
    # A test group may hold both SLOs' scenarios side by side (slo_tests.side_by_side): each alert's own.
    alerts = [name for d in (document, ticket) for t in d["tests"]
              for name in {check["alertname"] for check in t.get("alert_rule_test", [])}]
    # Two conditions per tier, two scenarios per condition (fires-then-resolves, stays silent).
    for name in ("GenerateAvailabilityFastBurn", "GenerateAvailabilitySlowBurn", "GenerateLatencyFastBurn",
                 "GenerateLatencySlowBurn"):
        assert alerts.count(name) == 4
    assert {check["alertname"] for t in ticket["tests"] for check in t["alert_rule_test"]} == {
        "GenerateAvailabilitySlowBurn", "GenerateLatencySlowBurn"}
    # The two SLOs' scenarios share their timelines: one group each, half the steps promtool evaluates.
    assert len(ticket["tests"]) == 4 and all(" + " in t["name"] for t in ticket["tests"])
    latency = [s["series"] for d in (document, ticket) for t in d["tests"] for s in t["input_series"]
               if "_bucket" in s["series"]]
    assert latency and all('le="10.0"' in series for series in latency)


def test_fires_just_above_and_predicts_the_annotations() -> None:
    document = yaml.safe_load(GOLDEN_TESTS.read_text(encoding="utf-8"))
    page = next(t for t in document["tests"]
                if t.get("alert_rule_test", [{}])[0].get("alertname") == "GenerateAvailabilityFastBurn")
    checks = [check for check in page["alert_rule_test"] if check["alertname"] == "GenerateAvailabilityFastBurn"]
    assert checks[0]["exp_alerts"] == []  # silent one evaluation before the predicted instant
    (alert,) = checks[1]["exp_alerts"]
    # 1.1 x 14.4 x 0.5% = 7.92%, the short window's error ratio, rendered by humanizePercentage.
    assert "error ratio of 7.92% in the short window" in alert["exp_annotations"]["description"]
    assert alert["exp_labels"]["sloth_slo"] == "generate-availability"
    assert alert["exp_labels"]["severity"] == "critical"
    assert checks[-1]["exp_alerts"] == []  # recovery resolves it


@pytest.mark.slow
@pytest.mark.slow
def test_a_wrong_ticket_factor_or_window_fails_the_hourly_tests(make_stack, tmp_path) -> None:
    """The ticket tiers' file is evaluated hourly (2h missed the first mutation below): every factor and
    window of both ticket conditions that the 30m evaluation caught is still caught."""
    spec = slo("avail", 99.5, page={"enabled": False})
    prometheus = _render(make_stack, with_slos(spec, alerts=False), tmp_path / "generated")
    assert yaml.safe_load((prometheus / "tests" / "fugatto-audio-lab-slos-ticket.test.yml").read_text())[
        "evaluation_interval"] == "1h"
    rules = prometheus / "rules" / "fugatto-audio-lab-slos.yml"
    original = rules.read_text(encoding="utf-8")
    assert _promtool_test(prometheus / "tests").returncode == 0
    # (text, replacement, occurrence): each condition lists its short window, then its long one.
    for good, bad, nth in [("(1 * 0.005)", "(0.8 * 0.005)", 0), ("(1 * 0.005)", "(1.2 * 0.005)", 1),
                           ("(3 * 0.005)", "(2.5 * 0.005)", 1), ("ratio_rate6h{", "ratio_rate2h{", 0),
                           ("ratio_rate1d{", "ratio_rate6h{", 0), ("ratio_rate3d{", "ratio_rate1d{", 0)]:
        at = -1
        for _ in range(nth + 1):
            at = original.index(good, at + 1)
        rules.write_text(original[:at] + bad + original[at + len(good):], encoding="utf-8")
        # The hourly file alone: the claim is that it catches each of these (and the other file costs as much).
        hourly = subprocess.run([PROMTOOL, "test", "rules", "fugatto-audio-lab-slos-ticket.test.yml"],
                                cwd=prometheus / "tests", capture_output=True, text=True, timeout=120)
        assert hourly.returncode != 0, f"{good} -> {bad} (#{nth}) went unnoticed"


@pytest.mark.slow
def test_scenarios_side_by_side_still_catch_a_wrong_factor_of_either_slo(rendered: Path) -> None:
    """The ticket file runs both SLOs' scenarios in one group each: breaking either SLO's ticket tier (its
    long-window factor) must still fail it, and the other SLO's alerts must not mask it."""
    tests = rendered / "prometheus" / "tests"
    rules = rendered / "prometheus" / "rules" / "fugatto-audio-lab-slos.yml"
    original = rules.read_text(encoding="utf-8")
    for budget in ("0.005", "0.01"):  # generate-availability (99.5%), generate-latency (99%)
        good = "ratio_rate3d{"
        at = original.index(f"> (1 * {budget}))", original.index(good, original.index(f"vector({budget})")))
        rules.write_text(original[:at] + f"> (1.3 * {budget}))" + original[at + len(f"> (1 * {budget}))"):],
                         encoding="utf-8")
        result = subprocess.run([PROMTOOL, "test", "rules", "fugatto-audio-lab-slos-ticket.test.yml"], cwd=tests,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode != 0, f"the ticket factor of the SLO with budget {budget} went unnoticed"


def test_golden_promtool_tests_pass() -> None:
    result = _promtool_test(GOLDEN_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_tests_pass_for_28d_loose_objective_and_for(make_stack, tmp_path) -> None:
    """Clamped ratios (the page bound is 93.6%), `for` longer than an evaluation, and a 28d period."""
    spec = slo("loose", 93.5, "28d", page={"for": "1h"}, ticket={"enabled": False})
    prometheus = _render(make_stack, with_slos(spec, alerts=False), tmp_path / "generated")
    result = _promtool_test(prometheus / "tests")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_a_wrong_factor_or_window_in_the_rules_fails_the_tests(make_stack, tmp_path) -> None:
    spec = slo("avail", 99.0, ticket={"enabled": False})
    prometheus = _render(make_stack, with_slos(spec, alerts=False), tmp_path / "generated")
    rules = prometheus / "rules" / "fugatto-audio-lab-slos.yml"
    original = rules.read_text(encoding="utf-8")
    assert _promtool_test(prometheus / "tests").returncode == 0
    for good, bad in [("(6 * 0.01)", "(7 * 0.01)"),  # silent scenario: 5.4% must not fire; 7 would still
                      ("(14.4 * 0.01)", "(12 * 0.01)"),  # 12.96% must stay silent
                      ("(6 * 0.01)", "(5 * 0.01)"),
                      ("ratio_rate1h{", "ratio_rate30m{")]:
        assert good in original
        rules.write_text(original.replace(good, bad), encoding="utf-8")
        result = _promtool_test(prometheus / "tests")
        if good == "(6 * 0.01)" and bad == "(7 * 0.01)":
            assert result.returncode != 0, "6.6% must fire the 6h/30m condition: a factor of 7 hides it"
        else:
            assert result.returncode != 0, f"{good} -> {bad} went unnoticed"


def _alert_case(name: str, metric: str, alert: str, at: tuple[str, ...] = ("1h", "2h")) -> dict:
    return {"name": name, "interval": "15m", "input_series": [{"series": f'{metric}{{job="x"}}', "values": "0+1x9"}],
            "alert_rule_test": [{"eval_time": t, "alertname": alert, "exp_alerts": []} for t in at]}


def test_only_scenarios_that_cannot_see_each_other_share_a_group() -> None:
    from stackgen.targets.prometheus.slo_tests import side_by_side

    a, b = _alert_case("a", "requests_total", "A"), _alert_case("b", "latency_count", "B")
    (both,) = side_by_side([a, b])
    assert both["name"] == "a + b" and len(both["input_series"]) == 2 and len(both["alert_rule_test"]) == 4
    # One metric: each SLO's rules would read the other's traffic. One alert name, other instants, a case
    # with recording-rule checks: apart.
    assert len(side_by_side([a, _alert_case("c", "requests_total", "C")])) == 2
    assert len(side_by_side([a, _alert_case("c", "latency_count", "A")])) == 2
    assert len(side_by_side([a, _alert_case("c", "latency_count", "C", ("1h", "3h"))])) == 2
    assert len(side_by_side([a, {**b, "promql_expr_test": []}])) == 2
    assert a["name"] == "a" and len(a["input_series"]) == 1  # the inputs are left as they were
