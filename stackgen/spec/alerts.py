"""Alert kinds. Each typed kind knows how to build correct PromQL; `raw` is the escape hatch."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import promql_parser
from pydantic import Field, field_validator

from stackgen.spec.types import (
    RESERVED_ANNOTATIONS,
    AlertName,
    AlertText,
    AlertUrl,
    AnnotationText,
    Duration,
    LabelName,
    Matcher,
    MetricName,
    PositiveDuration,
    Severity,
    StaticText,
    StrictModel,
    reject_reserved,
)


def parsed_promql(expr: str) -> str:
    """`expr` if it parses as PromQL, else a ValueError with the parser's reason on one line."""
    try:
        promql_parser.parse(expr)
    except (ValueError, RuntimeError) as exc:
        reason = " ".join(str(exc).split()) or "it does not parse"
        raise ValueError(f"not valid PromQL: {reason}") from None
    return expr

class Selector(StrictModel):
    """A metric from the service's contract, narrowed by label matchers."""

    metric: MetricName
    matchers: list[Matcher] = Field(default_factory=list, description='PromQL matchers, e.g. status=~"5.."')


# Minimum traffic: without it one failed request in a quiet hour is a 100% error ratio and pages.
MinRate = Annotated[float | None, Field(
    gt=0, description="minimum traffic, in events per second over `window` (the total counter's rate, or the "
                      "histogram's observations), per aggregation group; at or below it the alert stays silent")]


class AlertBase(StrictModel):
    # The metric type each Selector field of a kind needs, by field name. Resolve, the rules and the
    # dashboards all read it, so a new kind states its selectors once.
    selector_types: ClassVar[dict[str, tuple[str, ...]]] = {}

    name: AlertName
    severity: Severity
    for_: Duration = Field(Duration(0), alias="for", description="how long the condition must hold")
    summary: AlertText = Field(description="one plain sentence; shown as the notification title")
    description: AlertText = Field(description="what is happening, templated with {{ $value }} / {{ $labels.x }}")
    runbook_url: AlertUrl
    labels: dict[LabelName, StaticText] = Field(default_factory=dict)
    annotations: dict[LabelName, AnnotationText] = Field(default_factory=dict)

    @field_validator("labels")
    @classmethod
    def _reserved_labels(cls, value: dict[str, str]) -> dict[str, str]:
        return reject_reserved("label", value, dict.fromkeys(("severity", "alertname"),
                                                             "is set by stackgen; use the alert's own field"))

    @field_validator("annotations")
    @classmethod
    def _reserved_annotations(cls, value: dict[str, str]) -> dict[str, str]:
        return reject_reserved("annotation", value, RESERVED_ANNOTATIONS)

    def selectors(self) -> list[tuple[str, Selector]]:
        """The metric selectors of the alert by field name, e.g. [("bad", ...), ("total", ...)]."""
        return [(field, getattr(self, field)) for field in self.selector_types]


class ErrorRatioAlert(AlertBase):
    """Fires when bad events / total events (two counters) exceed a ratio over a window."""

    selector_types: ClassVar[dict[str, tuple[str, ...]]] = {"bad": ("counter",), "total": ("counter",)}

    kind: Literal["error_ratio"]
    bad: Selector
    total: Selector
    threshold: float = Field(gt=0, lt=1, description="ratio of bad to total, e.g. 0.05 for 5%")
    window: PositiveDuration = Duration(300_000)
    by: list[LabelName] = Field(default_factory=list, description="labels kept by the aggregation")
    min_rate: MinRate = None


class LatencyQuantileAlert(AlertBase):
    """Fires when a histogram quantile (aggregated by le) exceeds a threshold."""

    selector_types: ClassVar[dict[str, tuple[str, ...]]] = {"histogram": ("histogram",)}

    kind: Literal["latency_quantile"]
    histogram: Selector
    quantile: float = Field(gt=0, lt=1)
    threshold: float = Field(gt=0, description="in the histogram's unit (seconds)")
    window: PositiveDuration = Duration(300_000)
    by: list[LabelName] = Field(default_factory=list)
    min_rate: MinRate = None


class ThresholdAlert(AlertBase):
    """Fires when a gauge crosses a fixed value."""

    selector_types: ClassVar[dict[str, tuple[str, ...]]] = {"gauge": ("gauge",)}

    kind: Literal["threshold"]
    gauge: Selector
    op: Literal[">", ">=", "<", "<="] = ">"
    threshold: float


class AbsentAlert(AlertBase):
    """Fires when a contract metric has no series for the service's job (it disappeared, or was never
    exported): `absent()`, or `absent_over_time()` over `window` so a scrape gap does not count."""

    selector_types: ClassVar[dict[str, tuple[str, ...]]] = {"series": ("counter", "gauge", "histogram", "summary")}

    kind: Literal["absent"]
    series: Selector = Field(description="the metric that must exist; a histogram or summary is checked by its _count")
    window: PositiveDuration | None = Field(
        None, description="absent for this long (absent_over_time); unset: absent at the evaluation instant")


class RateThresholdAlert(AlertBase):
    """Fires when a counter's per-second rate (summed over the job) crosses a value: `<` catches a
    stall (no traffic), `>` a flood. A job that never exported the counter has no rate; pair with `absent`."""

    selector_types: ClassVar[dict[str, tuple[str, ...]]] = {"counter": ("counter",)}

    kind: Literal["rate_threshold"]
    counter: Selector
    op: Literal[">", ">=", "<", "<="] = Field(">", description="how the rate compares with the threshold to fire")
    threshold: float = Field(ge=0, description="events per second")
    window: PositiveDuration = Duration(300_000)
    by: list[LabelName] = Field(default_factory=list, description="labels kept by the aggregation")


class PredictLinearAlert(AlertBase):
    """Fires when a gauge, extrapolated linearly from `window` of history, will cross `threshold` within
    `horizon` (e.g. GPU memory exhaustion): a warning before the limit, not at it."""

    selector_types: ClassVar[dict[str, tuple[str, ...]]] = {"gauge": ("gauge",)}

    kind: Literal["predict_linear"]
    gauge: Selector
    op: Literal[">", "<"] = Field(">", description="`>`: growing towards the limit; `<`: falling towards it")
    threshold: float = Field(description="the limit the gauge must not reach, in its unit")
    horizon: PositiveDuration = Field(description="how far ahead to predict, e.g. 4h")
    window: PositiveDuration = Field(Duration(3_600_000), description="history the linear fit uses")


class GaugeRatioAlert(AlertBase):
    """Fires when one gauge over another (per instance, summed by `by`) crosses a value, e.g. memory
    used over memory available."""

    selector_types: ClassVar[dict[str, tuple[str, ...]]] = {"numerator": ("gauge",), "denominator": ("gauge",)}

    kind: Literal["gauge_ratio"]
    numerator: Selector
    denominator: Selector
    op: Literal[">", ">=", "<", "<="] = ">"
    threshold: float = Field(description="the ratio, e.g. 0.9 for 90%")
    by: list[LabelName] = Field(default_factory=list, description="labels kept besides job and instance; both "
                                                                   "gauges must carry them")


class TargetDownAlert(AlertBase):
    """Fires when the service's scrape target is down or has vanished from service discovery."""

    kind: Literal["target_down"]


class WatchdogAlert(AlertBase):
    """Always fires: a dead man's switch proving the alerting pipeline delivers."""

    kind: Literal["watchdog"]


class RawAlert(AlertBase):
    """Any PromQL. stackgen cannot synthesize tests for it; write them under `tests`."""

    kind: Literal["raw"]
    expr: Annotated[str, Field(min_length=1)]
    tests: list[dict[str, Any]] = Field(
        default_factory=list, description="promtool test_cases entries (input_series, alert_rule_test, ...)"
    )

    @field_validator("expr")
    @classmethod
    def _parses(cls, expr: str) -> str:
        # The expression reaches the rule files verbatim (nothing in it is templated), so it must parse as is.
        return parsed_promql(expr)


Alert = Annotated[
    ErrorRatioAlert | LatencyQuantileAlert | ThresholdAlert | AbsentAlert | RateThresholdAlert | PredictLinearAlert
    | GaugeRatioAlert | TargetDownAlert | WatchdogAlert | RawAlert,
    Field(discriminator="kind"),
]
