"""Issue 23 (c): any period in whole days, with the workbook's windows scaled to it (28d and 30d keep
Sloth's), per-tier window overrides, and a per-SLO rule group evaluation interval."""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

from stackgen.model.slo import window_table
from stackgen.output.write import write_tree
from stackgen.pipeline import render_stack
from stackgen.spec.types import Duration
from tests.slo.conftest import slo, slo_test_files, with_slos

PROMTOOL = shutil.which("promtool")
RULES = "prometheus/rules/fugatto-audio-lab-slos.yml"
TESTS = "prometheus/tests/fugatto-audio-lab-slos.test.yml"

# The table docs/slo.md documents: (long, short) per condition, page first.
DOCUMENTED = {
    "1d": ["2m/1m", "12m/1m", "48m/4m", "2h24m/12m"],
    "7d": ["14m/1m", "1h24m/7m", "5h36m/28m", "16h48m/1h24m"],
    "14d": ["28m/2m", "2h48m/14m", "11h12m/56m", "1d9h36m/2h48m"],
    "28d": ["1h/5m", "6h/30m", "1d/2h", "3d/6h"],
    "30d": ["1h/5m", "6h/30m", "1d/2h", "3d/6h"],
    "90d": ["3h/15m", "18h/1h30m", "3d/6h", "9d/18h"],
}


@pytest.mark.parametrize("period", sorted(DOCUMENTED))
def test_windows_scale_with_the_period_as_documented(period: str) -> None:
    table = window_table(Duration.parse(period))
    assert [f"{long}/{short}" for _, long, short, _ in table] == DOCUMENTED[period]
    assert [share for *_, share in table] == [Fraction(2, 100), Fraction(5, 100), Fraction(10, 100), Fraction(10, 100)]


def _render(make_stack, *slos: dict) -> dict[str, str]:
    return {a.path: a.content for a in render_stack(make_stack(with_slos(*slos, alerts=False)))}


def test_a_7d_slo_keeps_the_workbook_factors_on_scaled_windows(make_stack) -> None:
    rendered = _render(make_stack, slo("week", 99.9, "7d"))
    (group,) = yaml.safe_load(rendered[RULES])["groups"]
    records = [r["record"] for r in group["rules"] if "record" in r]
    assert "slo:sli_error:ratio_rate1w" in records and "slo:sli_error:ratio_rate14m" in records
    page = next(r for r in group["rules"] if r.get("alert") == "WeekFastBurn")["expr"]
    assert "ratio_rate1m{" in page and "(14.4 * 0.001)" in page and "(6 * 0.001)" in page
    assert yaml.safe_load(rendered[TESTS])["evaluation_interval"] == "5m"


def test_a_tier_can_bring_its_own_windows(make_stack) -> None:
    spec = slo("custom", 99.0, "14d")
    spec["alerting"]["page"] = {"windows": [{"long": "2h", "short": "10m", "budget_percent": 5}]}
    (group,) = yaml.safe_load(_render(make_stack, spec)[RULES])["groups"]
    page = next(r for r in group["rules"] if r.get("alert") == "CustomFastBurn")["expr"]
    # 5% of a 14d budget in 2h: factor 0.05 x 336h / 2h = 8.4.
    assert "ratio_rate10m{" in page and "ratio_rate2h{" in page and "(8.4 * 0.01)" in page
    assert page.count(" > (") == 2


def test_per_slo_evaluation_interval_sets_the_group_interval(make_stack) -> None:
    spec = slo("slow", 99.9)
    spec["evaluation_interval"] = "1m"
    (group,) = yaml.safe_load(_render(make_stack, spec)[RULES])["groups"]
    assert group["interval"] == "1m"
    (plain,) = yaml.safe_load(_render(make_stack, slo("plain"))[RULES])["groups"]
    assert "interval" not in plain


@pytest.mark.parametrize(("change", "where", "message"), [
    ({"period": "36h"}, "slos[0].period", "whole days"),
    ({"period": "400d"}, "slos[0].period", "whole days"),
    ({"evaluation_interval": "5m"}, "slos[0].evaluation_interval", "between 1s and 1m"),
])
def test_bad_periods_and_intervals_are_refused(spec_errors, change: dict, where: str, message: str) -> None:
    (error,) = spec_errors(with_slos({**slo("x"), **change}))
    assert where in error and message in error


def test_override_windows_must_fit(spec_errors) -> None:
    spec = slo("x", 99.0, "7d")
    spec["alerting"]["page"] = {"windows": [{"long": "5m", "short": "1h", "budget_percent": 2},
                                            {"long": "8d", "short": "1h", "budget_percent": 2}]}
    errors = spec_errors(with_slos(spec))
    assert any("slos[0].alerting.page.windows[0]" in e and "short < long" in e for e in errors)
    assert any("slos[0].alerting.page.windows[1]" in e and "<= the period (7d)" in e for e in errors)


@pytest.mark.slow
def test_scaled_and_overridden_windows_are_proven_by_promtool(make_stack, tmp_path: Path) -> None:
    week = slo("week", 99.9, "7d")
    week["evaluation_interval"] = "1m"
    custom = slo("custom", 99.0, "14d")
    custom["alerting"]["page"] = {"windows": [{"long": "2h", "short": "10m", "budget_percent": 5}]}
    write_tree(tmp_path / "g", render_stack(make_stack(with_slos(week, custom, alerts=False))))
    tests_dir = tmp_path / "g" / "prometheus" / "tests"
    assert PROMTOOL, "promtool is required (apt-get install prometheus)"

    def promtool() -> subprocess.CompletedProcess[str]:
        return subprocess.run([PROMTOOL, "test", "rules", *slo_test_files(tests_dir)], cwd=tests_dir,
                              capture_output=True, text=True, timeout=300)

    result = promtool()
    assert result.returncode == 0, result.stdout + result.stderr
    rules = tmp_path / "g" / RULES
    text = rules.read_text(encoding="utf-8")
    for good, bad in [("(8.4 * 0.01)", "(7 * 0.01)"), ("ratio_rate14m{", "ratio_rate1h24m{")]:
        assert good in text
        rules.write_text(text.replace(good, bad), encoding="utf-8")
        assert promtool().returncode != 0, f"{good} -> {bad} went unnoticed"
    rules.write_text(text, encoding="utf-8")
