"""The Prometheus server: intervals, external labels, where it runs."""

from __future__ import annotations

from pydantic import Field, model_validator

from stackgen.spec.types import ContainerHost, Duration, LabelName, Port, PositiveDuration, StrictModel


class Prometheus(StrictModel):
    image: str = "prom/prometheus:v2.42.0"
    host: ContainerHost = "prometheus"
    port: Port = 9090
    scrape_interval: PositiveDuration = Duration(15_000)
    scrape_timeout: PositiveDuration = Duration(10_000)
    evaluation_interval: PositiveDuration = Duration(15_000)
    retention: PositiveDuration = Duration(15 * 86_400_000)
    external_labels: dict[LabelName, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _timeout_fits(self) -> Prometheus:
        if self.scrape_timeout > self.scrape_interval:
            raise ValueError("scrape_timeout must not exceed scrape_interval")
        return self
