"""Grafana: dashboards per service and the Grafana server settings (see the grafana target).

Panels are typed kinds that know how to build correct PromQL from the metric contract (a rate of a
counter, quantiles of a histogram, a ratio of two counters, a stat, a gauge's values) plus `promql`,
the escape hatch. A service that lists no panels gets a default operations dashboard derived from its
metric contract (stackgen.targets.grafana.dashboards.default_panels).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from stackgen.spec.alerts import Selector
from stackgen.spec.server import Host, PinnedImage
from stackgen.spec.types import (
    Duration,
    LabelName,
    Matcher,
    MetricName,
    Port,
    PositiveDuration,
    SecretRef,
    StrictModel,
    http_url,
    static_text,
)

Display = Literal["timeseries", "stat", "gauge"]
# Grafana unit ids (a subset); an unknown id silently renders as a plain number, so the set is closed.
Unit = Literal[
    "none", "short", "percent", "percentunit", "s", "ms", "bytes", "decbytes", "gbytes", "reqps", "ops", "cps"
]


class GridPosition(StrictModel):
    """An explicit place on Grafana's 24-column grid (otherwise panels flow left to right)."""

    x: int = Field(ge=0, le=23)
    y: int = Field(ge=0)
    w: int = Field(ge=1, le=24)
    h: int = Field(ge=1, le=100)


class PanelBase(StrictModel):
    title: Annotated[str, Field(min_length=1)]
    description: str = ""
    unit: Unit | None = Field(None, description="Grafana unit; each kind has a sensible default")
    width: int = Field(12, ge=1, le=24)
    height: int = Field(8, ge=1, le=100)
    grid: GridPosition | None = Field(None, description="explicit position; overrides width/height")
    legend: str | None = Field(None, description="legend format; defaults to the `by` labels, {{label}}")
    display: Display | None = Field(None, description="visualization; each kind has a default")


class RatePanel(PanelBase):
    """Per-second rate of a counter, summed by labels."""

    kind: Literal["rate"]
    metric: MetricName
    matchers: list[Matcher] = Field(default_factory=list)
    by: list[LabelName] = Field(default_factory=list)
    window: PositiveDuration = Duration(300_000)


class QuantilePanel(PanelBase):
    """Quantiles of a histogram (one query per quantile)."""

    kind: Literal["quantile"]
    metric: MetricName
    matchers: list[Matcher] = Field(default_factory=list)
    quantiles: list[Annotated[float, Field(gt=0, lt=1)]] = Field(
        default_factory=lambda: [0.95, 0.5], min_length=1
    )
    by: list[LabelName] = Field(default_factory=list)
    window: PositiveDuration = Duration(300_000)


class RatioPanel(PanelBase):
    """bad / total of two counters' rates (an error or failure ratio)."""

    kind: Literal["ratio"]
    bad: Selector
    total: Selector
    by: list[LabelName] = Field(default_factory=list)
    window: PositiveDuration = Duration(300_000)


class StatPanel(PanelBase):
    """One number: the summed rate of a counter or the summed value of a gauge."""

    kind: Literal["stat"]
    metric: MetricName
    matchers: list[Matcher] = Field(default_factory=list)
    function: Literal["rate", "value"] = Field("value", description="rate for counters, value for gauges")
    window: PositiveDuration = Duration(300_000)


class GaugePanel(PanelBase):
    """A gauge metric's values (a time series by default; `display: gauge` for a dial)."""

    kind: Literal["gauge"]
    metric: MetricName
    matchers: list[Matcher] = Field(default_factory=list)
    aggregate: Literal["none", "sum", "avg", "max", "min"] = "none"
    by: list[LabelName] = Field(default_factory=list)
    scale: float = Field(1.0, gt=0, description="divide values by this (e.g. 1073741824 for GiB)")
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _by_needs_aggregate(self) -> GaugePanel:
        if self.by and self.aggregate == "none":
            raise ValueError("`by` needs an aggregate (sum, avg, max or min)")
        return self


class PromQLTarget(StrictModel):
    expr: Annotated[str, Field(min_length=1)]
    legend: str = ""
    unit: Unit | None = Field(None, description="unit of this query only (a field override)")


class PromQLPanel(PanelBase):
    """Raw PromQL. Metrics it selects must still be in the contract or be generated recording rules."""

    kind: Literal["promql"]
    targets: list[PromQLTarget] = Field(min_length=1, max_length=26)


Panel = Annotated[
    RatePanel | QuantilePanel | RatioPanel | StatPanel | GaugePanel | PromQLPanel,
    Field(discriminator="kind"),
]


class ServiceDashboards(StrictModel):
    """The operations dashboard generated for one service."""

    enabled: bool = True
    title: str | None = Field(None, description="defaults to '<description or name> - Operations'")
    panels: list[Panel] = Field(
        default_factory=list, description="empty: a default dashboard derived from the metric contract"
    )
    logs_panel: bool = Field(True, description="add a panel of the service's ERROR log lines (needs `logs`)")
    refresh: PositiveDuration = Duration(30_000)
    time_range: PositiveDuration = Duration(3_600_000)
    tags: list[Annotated[str, Field(pattern=r"^[\w.-]+$")]] = Field(default_factory=list)


class Grafana(StrictModel):
    """The Grafana server the dashboards are provisioned into (the only place its image/host/port live)."""

    image: PinnedImage = "grafana/grafana:11.3.0"
    host: Host = "grafana"
    port: Port = 3000
    admin_password: SecretRef = Field(
        default_factory=lambda: SecretRef(file="/run/secrets/grafana-admin-password"),
        description="Grafana reads it through GF_SECURITY_ADMIN_PASSWORD__FILE; there is no default password",
    )
    url: Annotated[
        str,
        Field(pattern=r"^https?://[^\s/]+(/[^\s]*[^\s/])?$"),
        AfterValidator(static_text),
        AfterValidator(lambda url: http_url(url)),
    ] = Field(
        "http://localhost:3000", description="external base URL, used in alert dashboard_url annotations"
    )
    folder: str = Field("stackgen", description="Grafana folder the provisioned dashboards go into")
