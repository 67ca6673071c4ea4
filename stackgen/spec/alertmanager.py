"""Alertmanager routing: global settings, the route tree, receivers and inhibitions."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from stackgen.spec.types import (
    ContainerHost,
    Duration,
    FileSecretRef,
    HttpUrl,
    LabelName,
    Matcher,
    Port,
    PositiveDuration,
    StrictModel,
    host_port,
)

ReceiverName = Annotated[str, Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")]


def _group_by_label(label: str) -> str:
    if label != "..." and not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", label):
        raise ValueError(f"{label!r} is not a label name (letters, digits and '_', not first a digit) "
                         "nor '...' (group by every label)")
    return label


def _group_by(labels: list[str]) -> list[str]:
    # Alertmanager refuses both at load time, naming neither the route nor the spec line.
    if "..." in labels and len(labels) > 1:
        raise ValueError("'...' groups by every label and stands alone: drop the other labels")
    if duplicates := sorted({label for label in labels if labels.count(label) > 1}):
        raise ValueError(f"label {duplicates[0]!r} is listed twice")
    return labels


GroupBy = Annotated[list[Annotated[str, AfterValidator(_group_by_label)]], AfterValidator(_group_by)]


class Smtp(StrictModel):
    smarthost: Annotated[str, Field(pattern=r"^[^\s:]+:\d+$", description="host:port"), AfterValidator(host_port)]
    from_: str = Field(alias="from")
    auth_username: str | None = None
    auth_password: FileSecretRef | None = None
    require_tls: bool = True


class Global(StrictModel):
    resolve_timeout: Duration = Duration(300_000)
    smtp: Smtp | None = None


class EmailConfig(StrictModel):
    to: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]
    subject: str | None = None
    body: str | None = None
    send_resolved: bool = False


class SlackConfig(StrictModel):
    api_url: FileSecretRef = Field(description="the incoming-webhook URL is a credential: a file reference")
    channel: Annotated[str, Field(pattern=r"^[#@]?[\w.-]+$")]
    title: str | None = None
    text: str | None = None
    send_resolved: bool = True


class WebhookConfig(StrictModel):
    url: HttpUrl
    send_resolved: bool = True
    max_alerts: int = Field(0, ge=0)


class PagerDutyConfig(StrictModel):
    routing_key: FileSecretRef = Field(description="Events API v2 integration key: a file reference")
    severity: str | None = None
    send_resolved: bool = True


class Receiver(StrictModel):
    name: ReceiverName
    email: list[EmailConfig] = Field(default_factory=list)
    slack: list[SlackConfig] = Field(default_factory=list)
    webhook: list[WebhookConfig] = Field(default_factory=list)
    pagerduty: list[PagerDutyConfig] = Field(default_factory=list)


class Route(StrictModel):
    receiver: ReceiverName | None = Field(None, description="inherited from the parent route when absent")
    matchers: list[Matcher] = Field(default_factory=list)
    continue_: bool = Field(False, alias="continue")
    group_by: GroupBy | None = None
    group_wait: Duration | None = None
    group_interval: PositiveDuration | None = None
    repeat_interval: PositiveDuration | None = None
    routes: list[Route] = Field(default_factory=list)


class RootRoute(StrictModel):
    receiver: ReceiverName
    group_by: GroupBy = Field(default_factory=lambda: ["alertname"])
    group_wait: Duration = Duration(30_000)
    group_interval: PositiveDuration = Duration(300_000)
    repeat_interval: PositiveDuration = Duration(14_400_000)
    routes: list[Route] = Field(default_factory=list)


class InhibitRule(StrictModel):
    source_matchers: list[Matcher] = Field(min_length=1)
    target_matchers: list[Matcher] = Field(min_length=1)
    equal: list[LabelName] = Field(default_factory=list)


class Alertmanager(StrictModel):
    image: str = "prom/alertmanager:v0.25.0"
    host: ContainerHost = "alertmanager"
    port: Port = 9093
    global_: Global = Field(default_factory=Global, alias="global")
    route: RootRoute
    receivers: list[Receiver] = Field(min_length=1)
    inhibit_rules: list[InhibitRule] = Field(default_factory=list)
