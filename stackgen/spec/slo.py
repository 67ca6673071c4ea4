"""Service level objectives and their multi-window multi-burn-rate alerts.

The spec says *what* is promised (an SLI from the metric contract, an objective, a period) and how
loudly a breach of pace is announced (the page and ticket tiers). The burn-rate windows and the
share of budget each tier may spend are data in `stackgen.model.slo`, not user input: they are the SRE
workbook's, and `stackgen explain slo` prints what they mean for each SLO.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from stackgen.spec.alerts import Selector
from stackgen.spec.types import (
    RESERVED_ANNOTATIONS,
    AlertName,
    AlertText,
    AlertUrl,
    AnnotationText,
    Duration,
    LabelName,
    Severity,
    StaticText,
    StrictModel,
    reject_reserved,
)

SLOName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,62}$", description="lower-case, dash-separated")]
# Sloth's default burn-rate windows are tuned for these periods; other periods would need other windows.
PERIODS_DAYS = (28, 30)
_RESERVED_ALERT_LABELS = ("severity", "alertname", "sloth_id", "sloth_service", "sloth_slo", "sloth_window",
                          "sloth_severity")


class AvailabilitySLI(StrictModel):
    """Bad events over all events, both counters of the metric contract."""

    kind: Literal["availability"]
    bad: Selector = Field(description="the failed events, e.g. 5xx responses")
    total: Selector = Field(description="all events the objective is about")


class LatencySLI(StrictModel):
    """The share of events slower than a threshold, from a histogram's buckets."""

    kind: Literal["latency"]
    histogram: Selector
    threshold: float = Field(gt=0, description="seconds; must be one of the histogram's declared buckets")


SLI = Annotated[AvailabilitySLI | LatencySLI, Field(discriminator="kind")]


class BurnTier(StrictModel):
    """One alerting tier (page or ticket). Windows and factors are fixed; routing is yours."""

    enabled: bool = True
    name: AlertName | None = Field(None, description="default <SloName>FastBurn / <SloName>SlowBurn")
    severity: Severity | None = Field(None, description="default: critical for page, warning for ticket")
    for_: Duration = Field(Duration(0), alias="for", description="extra hold; the windows already debounce")
    labels: dict[LabelName, StaticText] = Field(default_factory=dict)
    annotations: dict[LabelName, AnnotationText] = Field(default_factory=dict)

    @field_validator("labels")
    @classmethod
    def _reserved_labels(cls, value: dict[str, str]) -> dict[str, str]:
        return reject_reserved("label", value, dict.fromkeys(_RESERVED_ALERT_LABELS, "is set by stackgen"))

    @field_validator("annotations")
    @classmethod
    def _reserved_annotations(cls, value: dict[str, str]) -> dict[str, str]:
        return reject_reserved("annotation", value, RESERVED_ANNOTATIONS)


class SLOAlerting(StrictModel):
    runbook_url: AlertUrl
    summary: AlertText | None = Field(None, description="default names the service and SLO")
    description: AlertText | None = Field(None, description="$value: short-window error ratio")
    page: BurnTier = Field(default_factory=BurnTier)
    ticket: BurnTier = Field(default_factory=BurnTier)


class SLO(StrictModel):
    """One SLO of a service."""

    name: SLOName
    description: str = ""
    sli: SLI
    objective: float = Field(gt=0, lt=100, description="percent of good events, e.g. 99.5")
    period: Duration = Field(Duration(30 * 86_400_000), description="rolling window: 30d or 28d")
    alerting: SLOAlerting

    @field_validator("period")
    @classmethod
    def _known_period(cls, value: Duration) -> Duration:
        if value not in [Duration(d * 86_400_000) for d in PERIODS_DAYS]:
            known = ", ".join(f"{d}d" for d in PERIODS_DAYS)
            raise ValueError(f"period {value} is not supported: use one of {known} "
                             "(the burn-rate windows are tuned for them)")
        return value
