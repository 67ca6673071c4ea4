"""Service level objectives and their multi-window multi-burn-rate alerts.

The spec says *what* is promised (an SLI from the metric contract, an objective, a period) and how
loudly a breach of pace is announced (the page and ticket tiers). The burn-rate windows and the
share of budget each tier may spend default to the SRE workbook's, scaled to the period, as data in
`stackgen.model.slo`; a tier may bring its own (`windows`), and `stackgen explain slo` prints what
they mean for each SLO.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from stackgen.parsers.promql_analysis import PromQLError, parse
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
# Sloth's burn-rate windows serve 28d and 30d as they are; other periods get them scaled (model.slo).
SLOTH_PERIODS_DAYS = (28, 30)
MAX_PERIOD_DAYS = 366
DAY_MS = 86_400_000
# Nine nines: the generated promtool tests need whole events 10% either side of every threshold in
# counters that stay below 2**53, which a budget under 1e-9 no longer allows.
MAX_OBJECTIVE = 99.9999999
_RESERVED_ALERT_LABELS = ("severity", "alertname", "sloth_id", "sloth_service", "sloth_slo", "sloth_window",
                          "sloth_severity")


# The scrape job an SLI reads (a label value): another service of the spec (its contract declares the
# metrics), or a job outside it such as a load balancer's, whose metrics this service's contract declares.
JobField = Annotated[str | None, Field(
    None, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.:-]{0,127}$",
    description="the job label the SLI's series carry (default: the service's own job). Another service of the "
                "spec: its metric contract declares the metrics; any other job (e.g. a load balancer's): this "
                "service's contract declares them")]
# Sloth's placeholder for the window of a raw query; spaces inside the braces are allowed.
WINDOW_PLACEHOLDER = re.compile(r"\{\{\s*\.window\s*\}\}")


class AvailabilitySLI(StrictModel):
    """Bad events over all events, both counters of the metric contract."""

    kind: Literal["availability"]
    bad: Selector = Field(description="the failed events, e.g. 5xx responses")
    total: Selector = Field(description="all events the objective is about")
    job: JobField


class LatencySLI(StrictModel):
    """The share of events slower than a threshold, from a histogram's buckets."""

    kind: Literal["latency"]
    histogram: Selector
    threshold: float = Field(gt=0, description="seconds; must be one of the histogram's declared buckets")
    job: JobField


class BoolGaugeSLI(StrictModel):
    """Pyrra's bool_gauge: a gauge that is 1 while things are good and 0 while they are bad (a probe's
    success, a health check). The error ratio over a window is the mean of (1 - gauge) over its samples."""

    kind: Literal["bool_gauge"]
    gauge: Selector = Field(description="a gauge of the metric contract: 1 good, 0 bad, e.g. probe_success")
    job: JobField


def instantiate(query: str, window: str) -> str:
    """A raw query with its `{{.window}}` placeholders replaced by a PromQL duration."""
    return WINDOW_PLACEHOLDER.sub(window, query)


RawQuery = Annotated[str, Field(min_length=1, max_length=4000)]


class RawSLI(StrictModel):
    """Sloth's `errorQuery`/`totalQuery`: any PromQL for the bad and the total events over a window,
    written with a `{{.window}}` placeholder where the range goes (e.g. `sum(rate(x[{{.window}}]))`).
    Both must keep the same labels (usually none: aggregate with `sum`). stackgen adds no `job`
    matcher; lint checks every selected metric against the contract (or a recording rule)."""

    kind: Literal["raw"]
    error_query: RawQuery = Field(description="the bad events over {{.window}}, e.g. "
                                  'sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))')
    total_query: RawQuery = Field(description="all events over {{.window}}, in the same unit as error_query")

    @field_validator("error_query", "total_query")
    @classmethod
    def _parses(cls, value: str) -> str:
        if not WINDOW_PLACEHOLDER.search(value):
            raise ValueError("a raw query needs the {{.window}} placeholder where its range goes")
        for window in ("5m", "30d"):
            try:
                parse(instantiate(value, window))
            except PromQLError as exc:
                raise ValueError(f"is not PromQL once {{{{.window}}}} is {window}: {exc}") from None
        return value


SLI = Annotated[AvailabilitySLI | LatencySLI | BoolGaugeSLI | RawSLI, Field(discriminator="kind")]


class BurnWindow(StrictModel):
    """One (long, short) window pair of a tier, as Sloth's AlertWindows spec writes it: the tier fires
    when both windows spend the budget fast enough to use `budget_percent` of it within `long`."""

    long: Duration
    short: Duration
    budget_percent: float = Field(gt=0, le=100, description="share of the period's error budget spent in `long`")

    @field_validator("short")
    @classmethod
    def _positive(cls, value: Duration) -> Duration:
        if value <= 0:
            raise ValueError("a window must be longer than 0s")
        return value


class BurnTier(StrictModel):
    """One alerting tier (page or ticket). Windows and factors default to the SRE workbook's; routing is yours."""

    enabled: bool = True
    windows: list[BurnWindow] | None = Field(
        None, min_length=1, max_length=4,
        description="override the tier's window pairs (default: the SRE workbook's, scaled to the period)")
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


class ExtraAlert(StrictModel):
    """An SLO alert beside the burn-rate tiers (budget exhausted, SLI absent): opt-in, routed like the tiers."""

    enabled: bool = Field(False, description="opt-in")
    name: AlertName | None = Field(None, description="default <SloName>BudgetExhausted / <SloName>SLIAbsent")
    severity: Severity = Field("warning", description="routing severity")
    for_: Duration | None = Field(None, alias="for", description="hold before firing (default: 0s for "
                                  "budget_exhausted, 10m for absent, so a restart's missed scrapes stay quiet)")
    summary: AlertText | None = Field(None, description="default names the service and SLO")
    description: AlertText | None = Field(None, description="default says what happened; budget_exhausted's "
                                          "$value is the remaining budget (<= 0), absent's is 1")
    labels: dict[LabelName, StaticText] = Field(default_factory=dict, description="extra routing labels")
    annotations: dict[LabelName, AnnotationText] = Field(default_factory=dict, description="extra annotations")

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
    name: AlertName | None = Field(None, description=(
        "one alert name for both tiers, as Sloth's `alerting.name`: the tiers are told apart by their "
        "`sloth_severity` label (page/ticket), so Alertmanager routes written for Sloth keep working. A tier's "
        "own `name` still wins; default: one name per tier (<SloName>FastBurn / <SloName>SlowBurn)"))
    page: BurnTier = Field(default_factory=BurnTier)
    ticket: BurnTier = Field(default_factory=BurnTier)
    budget_exhausted: ExtraAlert = Field(default_factory=ExtraAlert, description=(
        "opt-in alert when the period's remaining error budget is <= 0 (slo:period_error_budget_remaining:ratio)"))
    absent: ExtraAlert = Field(default_factory=ExtraAlert, description=(
        "opt-in alert when the SLI's total-events series is absent (absent(...)), e.g. the target stopped "
        "exporting it: the burn-rate alerts cannot fire without it"))


class SLO(StrictModel):
    """One SLO of a service."""

    name: SLOName
    description: str = ""
    sli: SLI
    objective: float = Field(gt=0, le=MAX_OBJECTIVE, description="percent of good events, e.g. 99.5; at most "
                             "99.9999999 (nine nines: a smaller error budget is below what float64 counters resolve)")
    period: Duration = Field(Duration(30 * DAY_MS), description="rolling window in whole days, e.g. 30d, 28d (Sloth's "
                             "windows as they are), 7d or 90d (windows scaled to the period)")
    period_sli: Literal["weighted", "average"] = Field(
        "weighted", description="how the period's error ratio is summed up: `weighted` (default) divides the bad "
        "events of the whole period by all of its events, so busy hours count more and quiet ones nothing; "
        "`average` is Sloth's mean of the 5m ratios, every 5 minutes with traffic counting the same")
    labels: dict[LabelName, StaticText] = Field(default_factory=dict, description=(
        "extra labels on every record and alert of this SLO, as Sloth's `labels` (e.g. owner, tier)"))
    by: list[LabelName] = Field(default_factory=list, max_length=4, description=(
        "one error budget per value of these labels (e.g. [model]): every record and alert carries them; "
        "each must be a label of every SLI metric"))
    evaluation_interval: Duration | None = Field(
        None, description="the SLO rule group's own evaluation interval (default: Prometheus' global one); "
        "e.g. 1m, so 30d ratios are not recomputed every 15s. At most 1m: alerts read these records, and a "
        "record older than Prometheus' 5m lookback is gone")
    expected_rps: float | None = Field(None, gt=0, description=(
        "the SLI's usual traffic in events per second; `stackgen lint` warns when the error budget of the shortest "
        "alert window is less than one event at this rate (one failure then looks like a burn)"))
    alerting: SLOAlerting

    @field_validator("period")
    @classmethod
    def _whole_days(cls, value: Duration) -> Duration:
        if value % DAY_MS or not DAY_MS <= value <= MAX_PERIOD_DAYS * DAY_MS:
            raise ValueError(f"period {value} is not supported: use whole days from 1d to {MAX_PERIOD_DAYS}d "
                             "(28d and 30d keep Sloth's windows; others get them scaled)")
        return value

    @field_validator("labels")
    @classmethod
    def _own_labels(cls, value: dict[str, str]) -> dict[str, str]:
        return reject_reserved("label", value, dict.fromkeys(
            (*_RESERVED_ALERT_LABELS, "service", "team", "job", "instance"), "is set by stackgen"))

    @field_validator("by")
    @classmethod
    def _by_labels(cls, value: list[str]) -> list[str]:
        for label in value:
            if label in _RESERVED_ALERT_LABELS or label.startswith("__"):
                raise ValueError(f"cannot break an SLO down by {label!r}: stackgen sets it")
        if len(set(value)) != len(value):
            raise ValueError("by lists a label twice")
        return value

    @field_validator("evaluation_interval")
    @classmethod
    def _interval(cls, value: Duration | None) -> Duration | None:
        if value is not None and not 1000 <= value <= 60_000:
            raise ValueError(f"evaluation_interval {value} must be between 1s and 1m")
        return value

    @model_validator(mode="after")
    def _raw_limits(self) -> SLO:
        # A raw query decides its own grouping and has no single series for absent() to watch.
        if isinstance(self.sli, RawSLI) and self.by:
            raise ValueError("`by` needs an SLI of selectors; a raw SLI groups in its own queries (sum by (...))")
        if isinstance(self.sli, RawSLI) and self.alerting.absent.enabled:
            raise ValueError("alerting.absent needs an SLI of selectors; for a raw SLI add an alert of kind absent "
                             "on the series its total_query reads")
        return self


class SLODependency(StrictModel):
    """What a service needs to answer: another service of this spec (its availability SLOs say how
    available it is), or an external one with its published objective. A hard dependency's failure is
    the service's failure, so the product of their availabilities caps what the service can promise."""

    service: Annotated[str, Field(min_length=1)] | None = Field(None, description="a service of this spec")
    external: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        None, description="a dependency outside the spec, e.g. a cloud database")
    objective: float | None = Field(None, gt=0, le=100, description="an external dependency's published availability, %")
    hard: bool = Field(True, description="false: the service degrades gracefully without it (no ceiling)")

    @model_validator(mode="after")
    def _one_kind(self) -> SLODependency:
        if (self.service is None) == (self.external is None):
            raise ValueError("name either `service` (of this spec) or `external`")
        if self.external is not None and self.objective is None:
            raise ValueError(f"external dependency {self.external!r} needs its published `objective`")
        if self.service is not None and self.objective is not None:
            raise ValueError("a service of this spec brings its own objective (its availability SLOs)")
        return self
