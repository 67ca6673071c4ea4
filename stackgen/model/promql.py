"""PromQL for the typed alert kinds (one complete expression per kind), and the labels their alerts carry."""

from __future__ import annotations

from collections.abc import Iterable

from stackgen.model import names
from stackgen.spec.alerts import (
    AbsentAlert,
    Alert,
    ErrorRatioAlert,
    GaugeRatioAlert,
    LatencyQuantileAlert,
    PredictLinearAlert,
    RateThresholdAlert,
    RawAlert,
    Selector,
    TargetDownAlert,
    ThresholdAlert,
    WatchdogAlert,
)
from stackgen.spec.service import Service

# Absent checks the series a histogram or summary always has; its family name has no samples.
COUNTED_TYPES = ("histogram", "summary")


def number(value: float) -> str:
    """A float as PromQL writes it: integers without '.0', no exponent for ordinary magnitudes."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def selector(metric: str, matchers: Iterable[str], job: str | None = None) -> str:
    parts = [f'job="{job}"'] if job else []
    parts += [str(m) for m in matchers]
    return f"{metric}{{{','.join(parts)}}}" if parts else metric


def _by(labels: Iterable[str]) -> str:
    return ", ".join(labels)


def _min_rate(alert: ErrorRatioAlert | LatencyQuantileAlert, by: str, total: str) -> str:
    """The traffic guard: `and` keeps the left side's value (the ratio or quantile, for $value) and its
    groups that also carry more than min_rate events per second."""
    if alert.min_rate is None:
        return ""
    return f"\nand\nsum by ({by}) (rate({total}[{alert.window}])) > {number(alert.min_rate)}"


def absent_selector(alert: AbsentAlert, metric_type: str, job: str) -> str:
    """The series an absent alert checks: the metric, or the _count of a histogram or summary."""
    name = f"{alert.series.metric}_count" if metric_type in COUNTED_TYPES else alert.series.metric
    return selector(name, alert.series.matchers, job)


def service_alert_expr(service: Service, alert: Alert) -> str:
    """The expression of one of the service's alerts (an absent alert reads its metric's type here)."""
    metric = service.metric(alert.series.metric) if isinstance(alert, AbsentAlert) else None
    return alert_expr(alert, names.job_name(service.name), metric.type if metric else "counter")


def alert_expr(alert: Alert, job: str, metric_type: str = "counter") -> str:
    """The expression of an alert of the given service job (`metric_type`: an absent alert's metric's type;
    service_alert_expr looks it up)."""
    match alert:
        case ErrorRatioAlert():
            by = _by(["job", *alert.by])
            bad = selector(alert.bad.metric, alert.bad.matchers, job)
            total = selector(alert.total.metric, alert.total.matchers, job)
            return (f"sum by ({by}) (rate({bad}[{alert.window}]))\n/\n"
                    f"sum by ({by}) (rate({total}[{alert.window}]))\n> {number(alert.threshold)}"
                    + _min_rate(alert, by, total))
        case LatencyQuantileAlert():
            by = _by(["le", "job", *alert.by])
            buckets = selector(f"{alert.histogram.metric}_bucket", alert.histogram.matchers, job)
            count = selector(f"{alert.histogram.metric}_count", alert.histogram.matchers, job)
            return (f"histogram_quantile({number(alert.quantile)},\n"
                    f"  sum by ({by}) (rate({buckets}[{alert.window}]))\n) > {number(alert.threshold)}"
                    + _min_rate(alert, _by(["job", *alert.by]), count))
        case ThresholdAlert():
            return f"{selector(alert.gauge.metric, alert.gauge.matchers, job)} {alert.op} {number(alert.threshold)}"
        case AbsentAlert():
            series = absent_selector(alert, metric_type, job)
            return f"absent_over_time({series}[{alert.window}])" if alert.window else f"absent({series})"
        case RateThresholdAlert():
            counter = selector(alert.counter.metric, alert.counter.matchers, job)
            return (f"sum by ({_by(['job', *alert.by])}) (rate({counter}[{alert.window}]))"
                    f" {alert.op} {number(alert.threshold)}")
        case PredictLinearAlert():
            gauge = selector(alert.gauge.metric, alert.gauge.matchers, job)
            return (f"predict_linear({gauge}[{alert.window}], {number(alert.horizon.seconds)})"
                    f" {alert.op} {number(alert.threshold)}")
        case GaugeRatioAlert():
            by = _by(["job", "instance", *alert.by])
            return (f"sum by ({by}) ({_gauge(alert.numerator, job)})\n/\n"
                    f"sum by ({by}) ({_gauge(alert.denominator, job)})\n{alert.op} {number(alert.threshold)}")
        case TargetDownAlert():
            up = selector("up", [], job)
            # `up == 0` misses a target that vanished from discovery; absent() catches that.
            return f"{up} == 0\nor\nabsent({up})"
        case WatchdogAlert():
            return "vector(1)"
        case RawAlert():
            return alert.expr
    raise TypeError(f"unknown alert kind {alert!r}")


def _gauge(sel: Selector, job: str) -> str:
    return selector(sel.metric, sel.matchers, job)


def result_labels(alert: Alert, job: str) -> list[str]:
    """Labels the expression's result carries (so templates and inhibitions can use them)."""
    match alert:
        case ErrorRatioAlert() | LatencyQuantileAlert() | RateThresholdAlert():
            return ["job", *alert.by]
        case ThresholdAlert() | PredictLinearAlert():
            return ["job", "instance"]
        case GaugeRatioAlert():
            return ["job", "instance", *alert.by]
        case AbsentAlert():
            # absent() builds its one series from the selector's equality matchers.
            return ["job", *dict.fromkeys(m.label for m in alert.series.matchers if m.op == "=")]
        case TargetDownAlert():
            return ["job", "instance"]
    return []


def alert_labels(service: Service, alert: Alert) -> dict[str, str]:
    """Static labels of an alert: routing keys first, then the user's extras. The rules set them, and the
    promtool tests, the routing tests and the drill predict them, so all read them here."""
    return {
        names.SEVERITY_LABEL: alert.severity,
        names.SERVICE_LABEL: service.name,
        names.TEAM_LABEL: service.team,
        **alert.labels,
    }
