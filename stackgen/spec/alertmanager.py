"""Alertmanager routing: global settings, the route tree, receivers and inhibitions."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from stackgen.spec.types import Duration, LabelName, Matcher, Port, SecretRef, StrictModel

ReceiverName = Annotated[str, Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")]


class Smtp(StrictModel):
    smarthost: Annotated[str, Field(pattern=r"^[^\s:]+:\d+$", description="host:port")]
    from_: str = Field(alias="from")
    auth_username: str | None = None
    auth_password: SecretRef | None = None
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
    api_url: SecretRef = Field(description="the incoming-webhook URL is a credential: a file reference")
    channel: Annotated[str, Field(pattern=r"^[#@]?[\w.-]+$")]
    title: str | None = None
    text: str | None = None
    send_resolved: bool = True


class WebhookConfig(StrictModel):
    url: Annotated[str, Field(pattern=r"^https?://\S+$")]
    send_resolved: bool = True
    max_alerts: int = Field(0, ge=0)


class PagerDutyConfig(StrictModel):
    routing_key: SecretRef = Field(description="Events API v2 integration key: a file reference")
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
    group_by: list[str] | None = None
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    routes: list[Route] = Field(default_factory=list)


class RootRoute(StrictModel):
    receiver: ReceiverName
    group_by: list[str] = Field(default_factory=lambda: ["alertname"])
    group_wait: Duration = Duration(30_000)
    group_interval: Duration = Duration(300_000)
    repeat_interval: Duration = Duration(14_400_000)
    routes: list[Route] = Field(default_factory=list)


class InhibitRule(StrictModel):
    source_matchers: list[Matcher] = Field(min_length=1)
    target_matchers: list[Matcher] = Field(min_length=1)
    equal: list[LabelName] = Field(default_factory=list)


class Alertmanager(StrictModel):
    image: str = "prom/alertmanager:v0.25.0"
    host: str = "alertmanager"
    port: Port = 9093
    global_: Global = Field(default_factory=Global, alias="global")
    route: RootRoute
    receivers: list[Receiver] = Field(min_length=1)
    inhibit_rules: list[InhibitRule] = Field(default_factory=list)
