"""Burn-rate factors are computed from the period and the budget-share table, and explained."""

from __future__ import annotations

import re
from fractions import Fraction

from typer.testing import CliRunner

from stackgen.cli import app
from stackgen.model import slo as model
from stackgen.spec.types import Duration
from tests.slo.conftest import slo, with_slos

BUDGET = Fraction(1, 1000)


def _factors(period: str) -> list[str]:
    return [c.factor_text for tier in model.TIERS for c in model.conditions(tier, Duration.parse(period), BUDGET)]


def test_factors_are_computed_from_the_period() -> None:
    assert _factors("30d") == ["14.4", "6", "3", "1"]
    assert _factors("28d") == ["13.44", "5.6", "2.8", "0.93"]
    exact = [c.factor for c in model.conditions("ticket", Duration.parse("28d"), BUDGET)]
    assert exact == [Fraction(14, 5), Fraction(14, 15)]  # 0.1 x 28d / 3d, not a rounded constant


def _explain(tmp_path, *slos) -> str:
    import yaml

    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(with_slos(*slos), sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(app, ["explain", "slo", "--spec", str(path)])
    assert result.exit_code == 0, result.output
    return result.output


def _tier_factors(output: str, slo_name: str) -> dict[str, list[str]]:
    block = output.split(f"/{slo_name}:", 1)[1].split("\nfugatto", 1)[0]
    out: dict[str, list[str]] = {}
    tier = ""
    for line in block.splitlines():
        if m := re.match(r"^  (page|ticket):", line):
            tier = m.group(1)
            out[tier] = []
        elif m := re.search(r"factor ([\d.]+)", line):
            out[tier].append(m.group(1))
    return out


def test_explain_prints_windows_factors_and_error_rates(tmp_path) -> None:
    output = _explain(tmp_path, slo("thirty", 99.9, "30d"), slo("twentyeight", 99.9, "28d"))
    assert _tier_factors(output, "thirty") == {"page": ["14.4", "6"], "ticket": ["3", "1"]}
    assert _tier_factors(output, "twentyeight") == {"page": ["13.44", "5.6"], "ticket": ["2.8", "0.93"]}
    # The error ratio each condition fires above: factor x 0.1% budget.
    assert "long 1h + short 5m: factor 14.4" in output and "error ratio of 0.0144 (1.44%)" in output
    assert "long 3d + short 6h: factor 1 " in output and "error ratio of 0.001 (0.1%)" in output
    assert "page: alert ThirtyFastBurn, severity critical" in output
    assert "ticket: alert ThirtySlowBurn, severity warning" in output


def test_explain_shows_disabled_tiers_and_overrides(tmp_path) -> None:
    output = _explain(tmp_path, slo("quiet", 99.9, page={"enabled": False},
                                    ticket={"severity": "info", "for": "10m", "name": "QuietBudget"}))
    assert "  page: disabled" in output
    assert "ticket: alert QuietBudget, severity info, for 10m" in output


def test_explain_rejects_a_bad_spec_with_exit_2(tmp_path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("apiVersion: stackgen/v1\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["explain", "slo", "--spec", str(path)])
    assert result.exit_code == 2
