"""Issue 23, "labels and alerting like Sloth": one alert name for both tiers told apart by
`sloth_severity`, an opt-in error-budget-exhausted alert and an opt-in `absent` alert on the SLI's
total series, each proven by the generated promtool tests (and those tests shown to catch a broken rule)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackgen.output.write import write_tree
from stackgen.pipeline import render_stack
from tests.slo.conftest import slo, slo_test_files, with_slos

PROMTOOL = shutil.which("promtool")
RULES = "prometheus/rules/fugatto-audio-lab-slos.yml"
TESTS = "prometheus/tests/fugatto-audio-lab-slos.test.yml"


def _sloth_style(**extra: Any) -> dict[str, Any]:
    out = slo("avail", 99.5)
    out["alerting"].update({"name": "AvailBurn", "budget_exhausted": {"enabled": True},
                            "absent": {"enabled": True}, **extra})
    return out


def _rendered(make_stack, *slos: dict[str, Any]) -> dict[str, str]:
    return {a.path: a.content for a in render_stack(make_stack(with_slos(*slos, alerts=False)))}


def _alerts(rendered: dict[str, str]) -> list[dict[str, Any]]:
    (group,) = yaml.safe_load(rendered[RULES])["groups"]
    return [rule for rule in group["rules"] if "alert" in rule]


def test_both_tiers_share_one_name_told_apart_by_sloth_severity(make_stack) -> None:
    rendered = _rendered(make_stack, _sloth_style())
    tiers = [a for a in _alerts(rendered) if a["alert"] == "AvailBurn"]
    assert [(a["labels"]["sloth_severity"], a["labels"]["severity"]) for a in tiers] == [
        ("page", "critical"), ("ticket", "warning")]
    routes = yaml.safe_load(rendered["alertmanager/tests/routes.yml"])["tests"]
    cases = {c["name"]: c["labels"] for c in routes if c["labels"].get("alertname") == "AvailBurn"}
    assert {labels["sloth_severity"] for labels in cases.values()} == {"page", "ticket"}


def test_budget_exhausted_and_absent_rules(make_stack) -> None:
    by_name = {a["alert"]: a for a in _alerts(_rendered(make_stack, _sloth_style()))}
    exhausted, absent = by_name["AvailBudgetExhausted"], by_name["AvailSLIAbsent"]
    assert exhausted["expr"] == ('max without (sloth_window) (slo:period_error_budget_remaining:ratio{sloth_id='
                                 '"fugatto-audio-lab-avail",sloth_service="fugatto-audio-lab",sloth_slo="avail"} <= 0)')
    assert "for" not in exhausted and exhausted["labels"]["severity"] == "warning"
    assert absent["expr"] == 'absent(fugatto_requests_total{job="fugatto-audio-lab"})'
    assert absent["for"] == "10m" and absent["labels"]["sloth_id"] == "fugatto-audio-lab-avail"
    assert all(a["annotations"]["runbook_url"] == "https://runbooks.example.com/x" for a in (exhausted, absent))


def test_opt_in(make_stack) -> None:
    names = {a["alert"] for a in _alerts(_rendered(make_stack, slo("avail", 99.5)))}
    assert names == {"AvailFastBurn", "AvailSlowBurn"}


def test_shared_name_still_collides_with_other_alerts(spec_errors) -> None:
    other = slo("other", 99.5)
    other["alerting"]["page"] = {"name": "AvailBurn"}
    (error,) = spec_errors(with_slos(_sloth_style(), other, alerts=False))
    assert "slos[1].alerting.page.name" in error and "'AvailBurn'" in error


def test_extra_alert_name_collision(spec_errors) -> None:
    (error,) = spec_errors(with_slos(_sloth_style(absent={"enabled": True, "name": "AvailBurn"}), alerts=False))
    assert "slos[0].alerting.absent.name" in error and "already an SLO alert" in error


@pytest.mark.parametrize("label", ["sloth_severity", "severity"])
def test_extra_alert_reserved_labels(spec_errors, label: str) -> None:
    (error,) = spec_errors(with_slos(_sloth_style(budget_exhausted={"enabled": True, "labels": {label: "x"}}),
                                     alerts=False))
    assert "budget_exhausted.labels" in error


def _promtool(tree: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL, "promtool is required (apt-get install prometheus)"
    return subprocess.run([PROMTOOL, "test", "rules", *slo_test_files(tree / "prometheus" / "tests")],
                          cwd=tree / "prometheus" / "tests",
                          capture_output=True, text=True, timeout=300)


BREAKS = [
    # the budget alert never fires / fires with budget left
    ("<= 0)", "<= -5)", "AvailBudgetExhausted"),
    ("<= 0)", "<= 0.6)", "AvailBudgetExhausted"),
    # absent() of another job's series: fires although the SLI's series is there
    ('absent(fugatto_requests_total{job="fugatto-audio-lab"})', 'absent(fugatto_requests_total{job="x"})',
     "AvailSLIAbsent"),
    # the page tier without its sloth_severity: indistinguishable from the ticket tier
    ("sloth_severity: page", "sloth_severity: ticket", "AvailBurn"),
]


@pytest.mark.slow
def test_generated_tests_pass_and_catch_broken_rules(make_stack, tmp_path: Path) -> None:
    write_tree(tmp_path / "g", render_stack(make_stack(with_slos(_sloth_style(), alerts=False))))
    result = _promtool(tmp_path / "g")
    assert result.returncode == 0, result.stdout + result.stderr
    rules = tmp_path / "g" / RULES
    good = rules.read_text(encoding="utf-8")
    for old, new, alert in BREAKS:
        assert old in good, old
        rules.write_text(good.replace(old, new, 1), encoding="utf-8")
        broken = _promtool(tmp_path / "g")
        assert broken.returncode != 0 and alert in broken.stdout + broken.stderr, (old, new)
    rules.write_text(good, encoding="utf-8")
