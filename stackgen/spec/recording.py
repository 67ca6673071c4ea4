"""Recording rules a service declares: named `level:metric:operations`, usable by alerts, panels and SLOs
as if they were contract metrics (Service.metric finds them)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator

from stackgen.spec.alerts import parsed_promql
from stackgen.spec.types import LabelName, StaticText, StrictModel

# The Prometheus naming convention: aggregation level, metric, operations, e.g. job_endpoint:requests:rate5m.
RECORD_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_]+(?::[a-zA-Z0-9_]+)*$")


class RecordingRule(StrictModel):
    """One Prometheus recording rule, rendered in its own group of the service's alert rule file."""

    record: str = Field(description="level:metric:operations (Prometheus convention), e.g. "
                                    "job_endpoint:fugatto_requests:rate5m")
    expr: Annotated[str, Field(min_length=1, description="the PromQL; its result keeps `job`, which every "
                                                         "generated selector matches")]
    type: Literal["gauge", "counter"] = Field("gauge", description="what the recorded series is: a rate or sum "
                                                                   "of rates is a gauge")
    labels: list[LabelName] = Field(default_factory=list, description="labels of the result besides job and "
                                                                      "instance: what selectors and `by` may use")
    help: Annotated[str, Field(min_length=1)] = Field(description="what the series means, as a contract metric's help")
    rule_labels: dict[LabelName, StaticText] = Field(default_factory=dict, description="static labels the rule adds")

    @field_validator("record")
    @classmethod
    def _convention(cls, name: str) -> str:
        if not RECORD_NAME.match(name):
            raise ValueError(f"recording rule name {name!r} does not follow level:metric:operations "
                             "(e.g. job:http_requests:rate5m)")
        return name

    @field_validator("expr")
    @classmethod
    def _parses(cls, expr: str) -> str:
        return parsed_promql(expr)
