"""PromQL for the typed alert kinds (one complete expression per kind), and the labels their alerts carry."""

from __future__ import annotations

from collections.abc import Iterable

from stackgen.model import names
from stackgen.spec.alerts import (
    Alert,
    ErrorRatioAlert,
    LatencyQuantileAlert,
    RawAlert,
    TargetDownAlert,
    ThresholdAlert,
    WatchdogAlert,
)
from stackgen.spec.service import Service


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


def alert_expr(alert: Alert, job: str) -> str:
    """The expression of an alert of the given service job."""
    match alert:
        case ErrorRatioAlert():
            by = _by(["job", *alert.by])
            bad = selector(alert.bad.metric, alert.bad.matchers, job)
            total = selector(alert.total.metric, alert.total.matchers, job)
            return (f"sum by ({by}) (rate({bad}[{alert.window}]))\n/\n"
                    f"sum by ({by}) (rate({total}[{alert.window}]))\n> {number(alert.threshold)}")
        case LatencyQuantileAlert():
            by = _by(["le", "job", *alert.by])
            buckets = selector(f"{alert.histogram.metric}_bucket", alert.histogram.matchers, job)
            return (f"histogram_quantile({number(alert.quantile)},\n"
                    f"  sum by ({by}) (rate({buckets}[{alert.window}]))\n) > {number(alert.threshold)}")
        case ThresholdAlert():
            return f"{selector(alert.gauge.metric, alert.gauge.matchers, job)} {alert.op} {number(alert.threshold)}"
        case TargetDownAlert():
            up = selector("up", [], job)
            # `up == 0` misses a target that vanished from discovery; absent() catches that.
            return f"{up} == 0\nor\nabsent({up})"
        case WatchdogAlert():
            return "vector(1)"
        case RawAlert():
            return alert.expr
    raise TypeError(f"unknown alert kind {alert!r}")


def result_labels(alert: Alert, job: str) -> list[str]:
    """Labels the expression's result carries (so templates and inhibitions can use them)."""
    match alert:
        case ErrorRatioAlert() | LatencyQuantileAlert():
            return ["job", *alert.by]
        case ThresholdAlert():
            return ["job", "instance"]
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
