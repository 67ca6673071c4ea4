"""Broken SLO specs fail with a message naming the field and the thing that is wrong."""

from __future__ import annotations

from tests.slo.conftest import slo, with_slos


def _latency(threshold: float) -> dict:
    spec = slo("lat", 99.0)
    spec["sli"] = {"kind": "latency", "threshold": threshold,
                   "histogram": {"metric": "fugatto_request_duration_seconds",
                                 "matchers": ['endpoint="/generate"']}}
    return spec


def test_latency_threshold_must_be_a_declared_bucket(spec_errors) -> None:
    (error,) = spec_errors(with_slos(_latency(7)))
    assert "services[0].slos[0].sli.threshold" in error
    assert "threshold 7 is not a bucket of 'fugatto_request_duration_seconds'" in error
    assert "buckets: 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60" in error


def test_sli_metric_must_be_in_the_contract_and_of_the_right_type(spec_errors) -> None:
    missing = slo("a")
    missing["sli"]["bad"]["metric"] = "fugatto_errors_total"
    gauge = _latency(10)
    gauge["name"] = "b"
    gauge["sli"]["histogram"] = {"metric": "fugatto_queue_depth"}
    errors = spec_errors(with_slos(missing, gauge))
    assert any("slos[0].sli.bad.metric" in e and "'fugatto_errors_total' is not in the metric contract" in e
               for e in errors)
    assert any("slos[1].sli.histogram.metric" in e and "the latency SLI needs a histogram" in e for e in errors)


def test_matcher_labels_must_be_declared(spec_errors) -> None:
    spec = slo()
    spec["sli"]["total"]["matchers"] = ['route="/generate"']
    (error,) = spec_errors(with_slos(spec))
    assert "slos[0].sli.total.matchers[0]" in error and "label 'route' is not declared" in error


def test_slo_alert_names_must_not_collide(spec_errors) -> None:
    clash = slo("a", ticket={"name": "HighErrorRate"})
    twin = slo("b", page={"name": "AFastBurn"})
    errors = spec_errors(with_slos(clash, twin))
    assert any("slos[0].alerting.ticket.name" in e and "'HighErrorRate', which is already an alert" in e
               for e in errors)
    assert any("slos[1].alerting.page.name" in e and "'AFastBurn', which is already an SLO alert" in e
               for e in errors)


def test_alert_names_are_camel_case(spec_errors) -> None:
    (error,) = spec_errors(with_slos(slo("a", page={"name": "fast_burn"})))
    assert "slos[0].alerting.page.name" in error


def test_a_tier_that_can_never_fire_is_an_error(spec_errors) -> None:
    (error,) = spec_errors(with_slos(slo("loose", 90.0)))  # page: 14.4 x 10% = 144%; ticket: 3 x 10% is fine
    assert "slos[0].alerting.page" in error and "the page tier can never fire" in error
    assert "14.4 x 0.1 >= 1" in error


def test_a_disabled_tier_is_not_checked(make_stack) -> None:
    stack = make_stack(with_slos(slo("loose", 90.0, page={"enabled": False})))
    assert stack.spec.services[0].slos[0].alerting.page.enabled is False


def test_unsupported_period_and_duplicate_names(spec_errors) -> None:
    errors = spec_errors(with_slos(slo("a", period="12h")))  # 7d works since issue 23: whole days do
    assert any("slos[0].period" in e and "period 12h is not supported: use whole days from 1d to 366d" in e
               for e in errors)
    errors = spec_errors(with_slos(slo("a"), slo("a", page={"name": "Other"}, ticket={"name": "Other2"})))
    assert any("slos[1].name" in e and "duplicate SLO name 'a'" in e for e in errors)


def test_templates_may_only_use_labels_of_the_result(spec_errors) -> None:
    (error,) = spec_errors(with_slos(slo("a", description="{{ $labels.instance }} burns")))
    assert "slos[0].alerting.description" in error
    assert "$labels.instance is not a label of an SLO alert" in error


def test_reserved_labels_are_rejected(spec_errors) -> None:
    (error,) = spec_errors(with_slos(slo("a", page={"labels": {"severity": "critical"}})))
    assert "slos[0].alerting.page.labels" in error and "'severity' is set by stackgen" in error
