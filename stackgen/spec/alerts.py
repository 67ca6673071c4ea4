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


class Selector(StrictModel):
    """A metric from the service's contract, narrowed by label matchers."""

    metric: MetricName
    matchers: list[Matcher] = Field(default_factory=list, description='PromQL matchers, e.g. status=~"5.."')


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


class LatencyQuantileAlert(AlertBase):
    """Fires when a histogram quantile (aggregated by le) exceeds a threshold."""

    selector_types: ClassVar[dict[str, tuple[str, ...]]] = {"histogram": ("histogram",)}

    kind: Literal["latency_quantile"]
    histogram: Selector
    quantile: float = Field(gt=0, lt=1)
    threshold: float = Field(gt=0, description="in the histogram's unit (seconds)")
    window: PositiveDuration = Duration(300_000)
    by: list[LabelName] = Field(default_factory=list)


class ThresholdAlert(AlertBase):
    """Fires when a gauge crosses a fixed value."""

    selector_types: ClassVar[dict[str, tuple[str, ...]]] = {"gauge": ("gauge",)}

    kind: Literal["threshold"]
    gauge: Selector
    op: Literal[">", ">=", "<", "<="] = ">"
    threshold: float


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
        try:
            promql_parser.parse(expr)
        except (ValueError, RuntimeError) as exc:
            reason = " ".join(str(exc).split()) or "it does not parse"
            raise ValueError(f"not valid PromQL: {reason}") from None
        return expr


Alert = Annotated[
    ErrorRatioAlert | LatencyQuantileAlert | ThresholdAlert | TargetDownAlert | WatchdogAlert | RawAlert,
    Field(discriminator="kind"),
]
