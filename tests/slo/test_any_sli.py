"""Issue 23 (e), the part done: an availability SLI may count its total from a histogram's `_count`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from stackgen.output.write import write_tree
from stackgen.pipeline import render_stack
from tests.slo.conftest import slo, slo_test_files, with_slos

PROMTOOL = shutil.which("promtool")


def _count_total() -> dict:
    spec = slo("count-total", 99.0)
    spec["sli"] = {"kind": "availability",
                   "bad": {"metric": "fugatto_requests_total", "matchers": ['endpoint="/generate"', 'status=~"5.."']},
                   "total": {"metric": "fugatto_request_duration_seconds", "matchers": ['endpoint="/generate"']}}
    return spec


def test_a_histogram_total_reads_its_count(make_stack) -> None:
    rendered = {a.path: a.content for a in render_stack(make_stack(with_slos(_count_total(), alerts=False)))}
    (group,) = yaml.safe_load(rendered["prometheus/rules/fugatto-audio-lab-slos.yml"])["groups"]
    ratio = group["rules"][0]["expr"]
    assert 'fugatto_request_duration_seconds_count{job="fugatto-audio-lab",endpoint="/generate"}[5m]' in ratio
    tests = yaml.safe_load(rendered["prometheus/tests/fugatto-audio-lab-slos.test.yml"])
    series = {s["series"].split("{")[0] for t in tests["tests"] for s in t["input_series"]}
    assert series == {"fugatto_requests_total", "fugatto_request_duration_seconds_count"}


def test_a_gauge_total_is_still_refused(spec_errors) -> None:
    spec = _count_total()
    spec["sli"]["total"] = {"metric": "fugatto_queue_depth"}
    (error,) = spec_errors(with_slos(spec))
    assert "slos[0].sli.total.metric" in error and "needs a counter or histogram" in error


@pytest.mark.slow
def test_histogram_total_tests_pass(make_stack, tmp_path: Path) -> None:
    write_tree(tmp_path / "g", render_stack(make_stack(with_slos(_count_total(), alerts=False))))
    assert PROMTOOL, "promtool is required (apt-get install prometheus)"
    result = subprocess.run([PROMTOOL, "test", "rules", *slo_test_files(tmp_path / "g" / "prometheus" / "tests")],
                            cwd=tmp_path / "g" / "prometheus" / "tests", capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
