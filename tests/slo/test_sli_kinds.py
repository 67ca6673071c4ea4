"""Issue 23, "any SLI": raw PromQL error/total queries with `{{.window}}` (Sloth's errorQuery/totalQuery),
a boolean gauge (Pyrra's bool_gauge) and an SLI read on another job (a load balancer's). Each renders
NaN-free rules and, where the generator can feed the series, promtool tests proving every tier."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackgen.diagnostics import SpecError
from stackgen.output.write import write_tree
from stackgen.pipeline import render_stack
from tests.slo.conftest import ROOT, slo, slo_test_cases, slo_test_files, with_slos

PROMTOOL = shutil.which("promtool")
RULES = "prometheus/rules/fugatto-audio-lab-slos.yml"
TESTS = "prometheus/tests/fugatto-audio-lab-slos.test.yml"
RAW_ERRORS = 'sum(rate(fugatto_requests_total{status=~"5.."}[{{.window}}]))'
RAW_TOTAL = "sum(rate(fugatto_requests_total[{{ .window }}]))"


def _with(sli: dict[str, Any], metrics: list[dict[str, Any]] = (), **extra: Any) -> dict[str, Any]:
    spec = slo("any", 99.0)
    spec["sli"] = sli
    spec.update(extra)
    data = with_slos(spec, alerts=False)
    data["services"][0]["metrics"] += list(metrics)
    return data


PROBE = {"name": "fugatto_probe_success", "type": "gauge", "help": "1 when the synthetic probe succeeded",
         "labels": ["probe"]}
LB = {"name": "lb_backend_requests_total", "type": "counter", "help": "requests the load balancer forwarded",
      "labels": ["backend", "code"]}


def _rendered(make_stack, data: dict[str, Any]) -> dict[str, str]:
    return {a.path: a.content for a in render_stack(make_stack(data))}


def _rules(rendered: dict[str, str]) -> list[dict[str, Any]]:
    (group,) = yaml.safe_load(rendered[RULES])["groups"]
    return group["rules"]


def _promtool(make_stack, data: dict[str, Any], tmp_path: Path) -> None:
    write_tree(tmp_path / "g", render_stack(make_stack(data)))
    assert PROMTOOL, "promtool is required (apt-get install prometheus)"
    result = subprocess.run([PROMTOOL, "test", "rules", *slo_test_files(tmp_path / "g" / "prometheus" / "tests")],
                            cwd=tmp_path / "g" / "prometheus" / "tests",
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


# --- raw queries -------------------------------------------------------------------------------

def test_raw_queries_fill_the_window_and_stay_nan_free(make_stack) -> None:
    rules = _rules(_rendered(make_stack, _with({"kind": "raw", "error_query": RAW_ERRORS, "total_query": RAW_TOTAL})))
    ratio = rules[0]["expr"]
    assert 'sum(rate(fugatto_requests_total{status=~"5.."}[5m]))' in ratio and "{{" not in ratio
    # bad counts as 0 while there is traffic; no traffic gives no sample, never 0/0
    assert "or\n  0 * (sum(rate(fugatto_requests_total[5m])))" in ratio
    assert ratio.endswith("((sum(rate(fugatto_requests_total[5m]))) > 0)")
    assert any("[30d]" in r["expr"] for r in rules if r.get("record", "").endswith("ratio_rate30d"))


def test_raw_queries_are_parsed_and_linted_against_the_contract(spec_errors) -> None:
    (error,) = spec_errors(_with({"kind": "raw", "error_query": "sum(rate(x[5m]))", "total_query": RAW_TOTAL}))
    assert "sli.raw.error_query" in error or "sli.error_query" in error
    assert "{{.window}} placeholder" in error
    (error,) = spec_errors(_with({"kind": "raw", "error_query": "sum(rate(x[{{.window}}])", "total_query": RAW_TOTAL}))
    assert "is not PromQL once {{.window}} is 5m" in error
    (error,) = spec_errors(_with({"kind": "raw", "error_query": "sum(rate(nope_total[{{.window}}]))",
                                  "total_query": RAW_TOTAL}))
    assert "sli.error_query" in error and "'nope_total', which is not in the metric contract" in error
    (error,) = spec_errors(_with({"kind": "raw", "error_query": 'sum(rate(fugatto_requests_total{colour="red"}'
                                  "[{{.window}}]))", "total_query": RAW_TOTAL}))
    assert "sli.error_query" in error and "label 'colour'" in error



def test_raw_queries_may_read_recording_rules_and_histogram_counts(make_stack) -> None:
    make_stack(_with({"kind": "raw", "error_query": "sum(rate(job:errors:rate5m[{{.window}}]))",
                      "total_query": "sum(rate(fugatto_request_duration_seconds_count[{{.window}}]))"}))


def test_raw_sli_refuses_by_and_absent(spec_errors) -> None:
    sli = {"kind": "raw", "error_query": RAW_ERRORS, "total_query": RAW_TOTAL}
    (error,) = spec_errors(_with(sli, by=["endpoint"]))
    assert "`by` needs an SLI of selectors" in error


def test_a_raw_sli_of_another_shape_gets_no_generated_tests(make_stack) -> None:
    sli = {"kind": "raw", "error_query": f"{RAW_ERRORS} or on() vector(0)", "total_query": RAW_TOTAL}
    rendered = _rendered(make_stack, _with(sli))
    assert yaml.safe_load(rendered[TESTS])["tests"] == []


@pytest.mark.slow
def test_raw_sli_tests_prove_the_tiers(make_stack, tmp_path: Path) -> None:
    data = _with({"kind": "raw", "error_query": RAW_ERRORS, "total_query": RAW_TOTAL})
    tests = slo_test_cases(_rendered(make_stack, data))
    assert {t["name"] for t in tests} >= {"any page", "any ticket"}
    _promtool(make_stack, data, tmp_path)


# --- bool gauge --------------------------------------------------------------------------------

def test_bool_gauge_reads_the_mean_of_one_minus_the_gauge(make_stack) -> None:
    data = _with({"kind": "bool_gauge", "gauge": {"metric": "fugatto_probe_success", "matchers": ['probe="http"']}},
                 [PROBE])
    ratio = _rules(_rendered(make_stack, data))[0]["expr"]
    sel = 'fugatto_probe_success{job="fugatto-audio-lab",probe="http"}[5m]'
    assert ratio == f"1 - (\n  sum(sum_over_time({sel}))\n  /\n  (sum(count_over_time({sel})) > 0)\n)"


def test_bool_gauge_needs_a_gauge(spec_errors) -> None:
    (error,) = spec_errors(_with({"kind": "bool_gauge", "gauge": {"metric": "fugatto_requests_total"}}))
    assert "sli.gauge.metric" in error and "needs a gauge" in error


@pytest.mark.slow
def test_bool_gauge_tests_prove_the_tiers(make_stack, tmp_path: Path) -> None:
    data = _with({"kind": "bool_gauge", "gauge": {"metric": "fugatto_probe_success"}}, [PROBE])
    tests = yaml.safe_load(_rendered(make_stack, data)[TESTS])["tests"]
    series = {s["series"].split("{")[0] for t in tests for s in t["input_series"]}
    assert series == {"fugatto_probe_success"}
    _promtool(make_stack, data, tmp_path)


# --- another job ---------------------------------------------------------------------------------

def _lb() -> dict[str, Any]:
    return _with({"kind": "availability", "job": "edge-lb",
                  "bad": {"metric": "lb_backend_requests_total", "matchers": ['backend="fugatto"', 'code=~"5.."']},
                  "total": {"metric": "lb_backend_requests_total", "matchers": ['backend="fugatto"']}}, [LB])


def test_an_sli_on_another_job_selects_that_job(make_stack) -> None:
    rendered = _rendered(make_stack, _lb())
    ratio = _rules(rendered)[0]["expr"]
    assert 'lb_backend_requests_total{job="edge-lb",backend="fugatto",code=~"5.."}[5m]' in ratio
    assert 'job="fugatto-audio-lab"' not in ratio
    tests = yaml.safe_load(rendered[TESTS])["tests"]
    assert all('job="edge-lb"' in s["series"] for t in tests for s in t["input_series"])


def test_another_service_as_job_uses_its_contract(make_stack) -> None:
    """An SLI of `orders` read on the job of `fugatto-audio-lab` (another service of the spec): that
    service's contract declares the metric, so the selector is checked there, not against orders'."""
    data = yaml.safe_load((ROOT / "examples" / "three-services" / "stack.yaml").read_text(encoding="utf-8"))
    orders = next(s for s in data["services"] if s["name"] == "orders")
    orders["slos"][0]["sli"] = {"kind": "availability", "job": "fugatto-audio-lab",
                                "bad": {"metric": "fugatto_requests_total", "matchers": ['status=~"5.."']},
                                "total": {"metric": "fugatto_requests_total"}}
    rendered = {a.path: a.content for a in render_stack(make_stack(data))}
    (group,) = yaml.safe_load(rendered["prometheus/rules/orders-slos.yml"])["groups"]
    assert 'fugatto_requests_total{job="fugatto-audio-lab",status=~"5.."}[5m]' in group["rules"][0]["expr"]
    orders["slos"][0]["sli"]["job"] = None
    with pytest.raises(SpecError) as info:
        make_stack(data)
    assert any("'fugatto_requests_total' is not in the metric contract of service 'orders'" in str(p)
               for p in info.value.problems)


@pytest.mark.slow
def test_another_job_tests_prove_the_tiers(make_stack, tmp_path: Path) -> None:
    _promtool(make_stack, _lb(), tmp_path)
