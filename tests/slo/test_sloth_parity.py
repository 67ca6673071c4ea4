"""Issue 23 (b): parity with Sloth's output. 28d windows named as Sloth names them (4w), objectives up
to nine nines render with tests that prove every tier, objectives printed in full, and sloth_slo_info
carries a version."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from stackgen.model import names
from stackgen.model.slo import percent
from stackgen.output.write import write_tree
from stackgen.pipeline import render_stack
from stackgen.spec.types import Duration
from stackgen.targets.prometheus.slo_tests import events_per_step
from tests.slo.conftest import slo, slo_test_files, with_slos

PROMTOOL = shutil.which("promtool")
RULES = "prometheus/rules/fugatto-audio-lab-slos.yml"


def _rules(make_stack, *slos: dict) -> list[dict]:
    rendered = {a.path: a.content for a in render_stack(make_stack(with_slos(*slos, alerts=False)))}
    return yaml.safe_load(rendered[RULES])["groups"]


@pytest.mark.parametrize(("text", "sloth"), [("28d", "4w"), ("30d", "30d"), ("14d", "2w"), ("7d", "1w"),
                                             ("90d", "90d"), ("365d", "1y"), ("1h30m", "1h30m"), ("5m", "5m")])
def test_windows_are_printed_as_prometheus_and_sloth_print_them(text: str, sloth: str) -> None:
    assert names.prom_duration(Duration.parse(text)) == sloth


def test_a_28d_period_is_recorded_as_sloths_4w(make_stack) -> None:
    (group,) = _rules(make_stack, slo("avail", 99.9, "28d"))
    records = [(r["record"], r["labels"].get("sloth_window")) for r in group["rules"] if "record" in r]
    assert ("slo:sli_error:ratio_rate4w", "4w") in records
    assert not any("28d" in f"{record}{window}" for record, window in records)
    assert "[28d]" in next(r["expr"] for r in group["rules"] if r.get("record") == "slo:sli_error:ratio_rate4w")
    burn = next(r["expr"] for r in group["rules"] if r.get("record") == "slo:period_burn_rate:ratio")
    assert burn.startswith("slo:sli_error:ratio_rate4w{")


def test_objectives_keep_every_digit(make_stack) -> None:
    (group,) = _rules(make_stack, slo("precise", 99.123456))
    info = next(r for r in group["rules"] if r.get("record") == "sloth_slo_info")
    assert info["labels"]["sloth_objective"] == "99.123456"
    alert = next(r for r in group["rules"] if "alert" in r)
    assert "(99.123456% over 30d)" in alert["annotations"]["description"]
    assert [percent(x) for x in (99.0, 99.9, 0.001, 99.9999999)] == ["99", "99.9", "0.001", "99.9999999"]


def test_sloth_slo_info_has_a_version(make_stack) -> None:
    (group,) = _rules(make_stack, slo("v"))
    info = next(r for r in group["rules"] if r.get("record") == "sloth_slo_info")
    assert info["labels"]["sloth_version"] == names.tool_version() != ""


def test_high_objectives_get_more_events_per_step(make_stack) -> None:
    stack = make_stack(with_slos(slo("a", 99.5), slo("b", 99.9999), slo("c", 99.9999999), alerts=False))
    counts = [events_per_step(g) for g in stack.slos]
    assert counts == [1_000_000, 100_000_000, 100_000_000_000]
    for group, count in zip(stack.slos, counts, strict=True):
        assert min(c.threshold for t in group.tiers for c in t.conditions) * count >= 100


def test_objectives_past_nine_nines_are_refused_with_the_reason(spec_errors) -> None:
    (error,) = spec_errors(with_slos(slo("x", 99.99999999)))
    assert "slos[0].objective" in error and "99.9999999" in error


@pytest.mark.slow
def test_six_and_nine_nines_render_and_every_tier_is_proven(make_stack, tmp_path: Path) -> None:
    spec = with_slos(slo("six", 99.9999, "28d"), slo("nine", 99.9999999), alerts=False)
    write_tree(tmp_path / "g", render_stack(make_stack(spec)))
    tests_dir = tmp_path / "g" / "prometheus" / "tests"
    cases = [case for name in slo_test_files(tests_dir)
             for case in yaml.safe_load((tests_dir / name).read_text(encoding="utf-8"))["tests"]]
    fired = {t["alert_rule_test"][1]["alertname"] for t in cases
             if "alert_rule_test" in t and t["alert_rule_test"][1]["exp_alerts"]}
    assert fired == {f"{n}{tier}" for n in ("Six", "Nine") for tier in ("FastBurn", "SlowBurn")}
    assert PROMTOOL, "promtool is required (apt-get install prometheus)"
    result = subprocess.run([PROMTOOL, "test", "rules", *slo_test_files(tests_dir)], cwd=tests_dir,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    # A factor one notch off at nine nines is still caught: the events are fine-grained enough.
    rules = tmp_path / "g" / "prometheus" / "rules" / "fugatto-audio-lab-slos.yml"
    text = rules.read_text(encoding="utf-8")
    assert "(14.4 * 0.000000001)" in text or "(14.4 * 1e-09)" in text
    rules.write_text(text.replace("(14.4 * 1e-09)", "(12 * 1e-09)").replace("(14.4 * 0.000000001)", "(12 * 0.000000001)"),
                     encoding="utf-8")
    broken = subprocess.run([PROMTOOL, "test", "rules", *slo_test_files(tests_dir)], cwd=tests_dir,
                            capture_output=True, text=True, timeout=300)
    assert broken.returncode != 0 and "NineFastBurn" in broken.stdout + broken.stderr
