"""Issue 23 (a): what Sloth gets wrong. A traffic gap must not leave a NaN budget for a whole period,
the period SLI is traffic-weighted by default (Sloth's average is an option), and a service that has
never failed has an SLI of 0, not none. The generated promtool tests prove both for every SLO."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from stackgen.output.write import write_tree
from stackgen.pipeline import render_stack
from stackgen.spec.types import Duration
from stackgen.targets.prometheus.slo_tests import Profile, period_ratio
from tests.slo.conftest import ROOT, slo, slo_test_files, with_slos

PROMTOOL = shutil.which("promtool")
RULES = "fugatto-audio-lab-slos.yml"


def _promtool(prometheus: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL, "promtool is required (apt-get install prometheus)"
    return subprocess.run([PROMTOOL, "test", "rules", *slo_test_files(prometheus / "tests")], cwd=prometheus / "tests",
                          capture_output=True, text=True, timeout=300)


def _render(make_stack, spec: dict, root: Path) -> Path:
    write_tree(root, render_stack(make_stack(spec)))
    return root / "prometheus"


def _rules(prometheus: Path) -> dict[str, dict]:
    document = yaml.safe_load((prometheus / "rules" / RULES).read_text(encoding="utf-8"))
    return {g["name"]: {r["record"] + r["labels"].get("sloth_window", ""): r for r in g["rules"] if "record" in r}
            for g in document["groups"]}


def test_every_committed_slo_has_a_gap_and_a_no_errors_case() -> None:
    stack = yaml.safe_load((ROOT / "stack.yaml").read_text(encoding="utf-8"))
    for service in stack["services"]:
        if not service.get("slos"):
            continue
        path = ROOT / "generated" / "prometheus" / "tests" / f"{service['name']}-slos.test.yml"
        names = [t["name"] for t in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]]
        for spec in service["slos"]:
            assert f"{spec['name']}: a 30m traffic gap leaves the budget finite" in names
            assert f"{spec['name']}: no errors yet gives ratios of 0, not nothing" in names


def test_quiet_windows_give_no_ratio_and_missing_bad_series_count_as_zero(make_stack) -> None:
    document = render_stack(make_stack(with_slos(slo("avail"), alerts=False)))
    rules = next(a for a in document if a.path.endswith(RULES)).content
    ratio_5m = yaml.safe_load(rules)["groups"][0]["rules"][0]["expr"]
    assert "or\n  0 * sum(rate(fugatto_requests_total{job=\"fugatto-audio-lab\"}[5m]))" in ratio_5m
    assert ratio_5m.endswith("(sum(rate(fugatto_requests_total{job=\"fugatto-audio-lab\"}[5m])) > 0)")


def test_the_period_sli_is_weighted_by_traffic_unless_average_is_asked(make_stack, tmp_path) -> None:
    average = slo("avg")
    average["period_sli"] = "average"
    prometheus = _render(make_stack, with_slos(slo("weighted"), average, alerts=False), tmp_path / "g")
    rules = _rules(prometheus)
    weighted = rules["fugatto-audio-lab.slo.weighted"]["slo:sli_error:ratio_rate30d30d"]["expr"]
    assert weighted.startswith("sum_over_time(slo:sli_bad_events:rate5m{")
    assert "(sum_over_time(slo:sli_total_events:rate5m{" in weighted
    assert "slo:sli_bad_events:rate5m5m" in rules["fugatto-audio-lab.slo.weighted"]
    avg = rules["fugatto-audio-lab.slo.avg"]
    assert avg["slo:sli_error:ratio_rate30d30d"]["expr"].startswith("sum_over_time(slo:sli_error:ratio_rate5m{")
    assert "slo:sli_bad_events:rate5m5m" not in avg  # Sloth's rule set, nothing more


def test_the_prediction_weights_by_traffic(make_stack) -> None:
    """2h at ratio r, a gap, 1h healthy at three times the traffic: weighted r*4/10, average r*4/6."""
    stack = make_stack(with_slos(slo("a"), alerts=False))
    group = stack.slos[0]
    profile = Profile(Duration(60_000), [(0.01, 120), (0.0, 30), (0.0, 60)], 1000, (1, 0, 3))
    assert period_ratio(group, profile, 210 * 60_000) == pytest.approx(0.01 * 4 / 10)
    average = stack.slos[0].slo.model_copy(update={"period_sli": "average"})
    assert period_ratio(replace(group, slo=average), profile, 210 * 60_000) == pytest.approx(0.01 * 4 / 6)


def _unfixed(rules: str) -> str:
    """The rule file as stackgen (and Sloth) wrote it before: a bare division, no 0 for absent errors."""
    rules = re.sub(r"\(\n(\s*)(sum\(rate\([^\n]*\)\))\n\s*or\n\s*0 \* sum\(rate\([^\n]*\)\)\n\s*\)", r"\2", rules)
    return re.sub(r"\((sum\(rate\([^\n]*\)\)) > 0\)", r"\1", rules)


@pytest.mark.slow
def test_generated_tests_pass_and_catch_nan_budgets_absent_errors_and_the_wrong_mode(make_stack, tmp_path) -> None:
    average = slo("avg")
    average["period_sli"] = "average"
    latency = {**slo("lat", 99.0), "sli": {"kind": "latency", "threshold": 10,
                                           "histogram": {"metric": "fugatto_request_duration_seconds"}}}
    spec = with_slos(slo("weighted"), average, latency, alerts=False)
    for s in spec["services"][0]["slos"]:
        s["alerting"].update(page={"enabled": False}, ticket={"enabled": False})
    prometheus = _render(make_stack, spec, tmp_path / "g")
    result = _promtool(prometheus)
    assert result.returncode == 0, result.stdout + result.stderr

    rules_file = prometheus / "rules" / RULES
    original = rules_file.read_text(encoding="utf-8")
    broken = _unfixed(original)
    assert not re.search(r"\[5m\]\)\) > 0\)", broken) and "(\n  sum(rate(" not in broken
    rules_file.write_text(broken, encoding="utf-8")
    result = _promtool(prometheus)
    failed = result.stdout + result.stderr
    assert "NaN" in failed  # the gap's 5m ratio
    assert "got: nil" in failed  # no errors yet: no SLI at all
    for name in ("weighted", "avg", "lat"):
        assert f'sloth_slo=\\"{name}\\"' in failed

    # Average-mode rules under the weighted SLO's tests: the uneven traffic tells them apart.
    document = yaml.safe_load(original)
    groups = {g["name"]: g for g in document["groups"]}
    avg_rules = groups["fugatto-audio-lab.slo.avg"]["rules"]
    period = next(r for r in avg_rules if r["record"] == "slo:sli_error:ratio_rate30d")
    weighted = groups["fugatto-audio-lab.slo.weighted"]
    for rule in weighted["rules"]:
        if rule.get("record") == "slo:sli_error:ratio_rate30d":
            rule["expr"] = period["expr"].replace('"fugatto-audio-lab-avg"', '"fugatto-audio-lab-weighted"') \
                .replace('sloth_slo="avg"', 'sloth_slo="weighted"')
    rules_file.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    result = _promtool(prometheus)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "weighted" in output and "- 0.8) < bool" in output
