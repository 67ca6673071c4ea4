"""Alertmanager routing: global settings, the route tree, receivers and inhibitions."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from stackgen.parsers.am_template import defined
from stackgen.spec.receivers import (
    OpsGenieConfig,
    PushoverConfig,
    SNSConfig,
    TelegramConfig,
    VictorOpsConfig,
    WebexConfig,
    WeChatConfig,
)
from stackgen.spec.time_intervals import IntervalName, TimeInterval
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


# Buttons and links to what every stackgen alert carries: its runbook_url and dashboard_url annotations.
AlertLink = Literal["runbook", "dashboard"]


class SlackField(StrictModel):
    title: Annotated[str, Field(min_length=1)]
    value: Annotated[str, Field(min_length=1, description="a notification template")]
    short: bool = False


class SlackConfig(StrictModel):
    api_url: FileSecretRef = Field(description="the incoming-webhook URL is a credential: a file reference")
    channel: Annotated[str, Field(pattern=r"^[#@]?[\w.-]+$")]
    title: str | None = None
    title_link: str | None = Field(None, description="where the title links to (a template; default: Alertmanager)")
    text: str | None = None
    color: str | None = Field(None, description="'good', 'warning', 'danger', '#RRGGBB' or a template")
    fields: list[SlackField] = Field(default_factory=list, description="a table under the text")
    links: list[AlertLink] = Field(
        default_factory=list, description="buttons opening the first alert's runbook_url / dashboard_url")
    send_resolved: bool = True


class WebhookConfig(StrictModel):
    url: HttpUrl
    send_resolved: bool = True
    max_alerts: int = Field(0, ge=0)


class PagerDutyConfig(StrictModel):
    routing_key: FileSecretRef = Field(description="Events API v2 integration key: a file reference")
    severity: str | None = None
    description: str | None = Field(None, description="the incident title (a template)")
    client: str | None = None
    client_url: str | None = Field(None, description="link behind the client name (a template)")
    component: str | None = None
    group: str | None = None
    class_: str | None = Field(None, alias="class")
    details: dict[str, str] = Field(
        default_factory=dict, description="custom details of the incident (templates); replace Alertmanager's "
                                          "firing/resolved/num_firing/num_resolved")
    links: list[AlertLink] = Field(
        default_factory=list, description="links on the incident to the first alert's runbook_url / dashboard_url")
    send_resolved: bool = True


class Receiver(StrictModel):
    name: ReceiverName
    email: list[EmailConfig] = Field(default_factory=list)
    slack: list[SlackConfig] = Field(default_factory=list)
    webhook: list[WebhookConfig] = Field(default_factory=list)
    pagerduty: list[PagerDutyConfig] = Field(default_factory=list)
    opsgenie: list[OpsGenieConfig] = Field(default_factory=list)
    victorops: list[VictorOpsConfig] = Field(default_factory=list)
    webex: list[WebexConfig] = Field(default_factory=list)
    sns: list[SNSConfig] = Field(default_factory=list)
    pushover: list[PushoverConfig] = Field(
        default_factory=list, description="refused: Alertmanager 0.25 reads the Pushover keys only inline")
    telegram: list[TelegramConfig] = Field(
        default_factory=list, description="refused: Alertmanager 0.25 reads the bot token only inline")
    wechat: list[WeChatConfig] = Field(
        default_factory=list, description="refused: Alertmanager 0.25 reads the API secret only inline")


class Route(StrictModel):
    receiver: ReceiverName | None = Field(None, description="inherited from the parent route when absent")
    matchers: list[Matcher] = Field(default_factory=list)
    continue_: bool = Field(False, alias="continue")
    group_by: GroupBy | None = None
    group_wait: Duration | None = None
    group_interval: PositiveDuration | None = None
    repeat_interval: PositiveDuration | None = None
    mute_time_intervals: list[IntervalName] = Field(
        default_factory=list, description="time_intervals names during which this route sends nothing "
                                          "(not inherited by child routes)")
    active_time_intervals: list[IntervalName] = Field(
        default_factory=list, description="time_intervals names outside which this route sends nothing "
                                          "(not inherited by child routes)")
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


class NotificationTemplate(StrictModel):
    """A template file beside alertmanager.yml (templates/NAME.tmpl); receivers call its definitions."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$", description="the file's name, without .tmpl")]
    text: Annotated[str, Field(min_length=1, description='only {{ define "NAME" }}...{{ end }} blocks')]

    @model_validator(mode="after")
    def _defines(self) -> NotificationTemplate:
        if any(c in self.text for c in "\x00\x1b\u2028\u2029"):
            raise ValueError("the template holds a control character that would reach notifications unseen")
        if not defined(self.text):
            raise ValueError('a template file defines at least one template: {{ define "NAME" }}...{{ end }}')
        return self


class Alertmanager(StrictModel):
    image: str = "prom/alertmanager:v0.25.0"
    host: ContainerHost = "alertmanager"
    port: Port = 9093
    global_: Global = Field(default_factory=Global, alias="global")
    route: RootRoute
    receivers: list[Receiver] = Field(min_length=1)
    inhibit_rules: list[InhibitRule] = Field(default_factory=list)
    time_intervals: list[TimeInterval] = Field(
        default_factory=list, description="named periods that routes' mute_time_intervals and "
                                          "active_time_intervals refer to")
    templates: list[NotificationTemplate] = Field(
        default_factory=list, description="notification template files rendered beside the config")
    replicas: int = Field(1, ge=1, le=7, description="peers of one gossip cluster (3 survives one loss); every "
                                                     "Prometheus sends to every peer, the peers deduplicate")
    cluster_port: Port = Field(9094, description="the gossip port each peer listens on (--cluster.listen-address)")

    @model_validator(mode="after")
    def _cluster_port(self) -> Alertmanager:
        if self.cluster_port == self.port:
            raise ValueError("cluster_port must differ from port")
        return self
