"""The Alertmanager 0.25 integrations beyond email, Slack, webhook and PagerDuty.

Credentials are `{file: ...}` references rendered as the `*_file` setting 0.25 reads (OpsGenie and
VictorOps `api_key_file`; Webex's bot token through `http_config.authorization.credentials_file`);
SNS takes no key at all, only the AWS default chain (a profile or a role). Pushover, Telegram and
WeChat read their credentials only inline in 0.25 (the `*_file` settings arrive in 0.26 and later),
and generated/ is committed: they are typed here so the refusal names the field and says why.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from stackgen.spec.types import FileSecretRef, HttpUrl, StrictModel

_ARN = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+$"
NotificationText = Annotated[str, Field(min_length=1, description="a notification template (Go text/template)")]


class OpsGenieResponder(StrictModel):
    name: Annotated[str, Field(min_length=1, description="the team, user, escalation or schedule name")]
    type: Literal["team", "user", "escalation", "schedule"]


class OpsGenieConfig(StrictModel):
    api_key: FileSecretRef = Field(description="the API integration key: a file reference, rendered as api_key_file")
    api_url: HttpUrl | None = Field(None, description="e.g. https://api.eu.opsgenie.com/ for the EU instance")
    message: NotificationText | None = None
    description: NotificationText | None = None
    priority: Literal["P1", "P2", "P3", "P4", "P5"] | None = None
    responders: list[OpsGenieResponder] = Field(default_factory=list, description="who is notified")
    tags: list[Annotated[str, Field(pattern=r"^[^,\s]+$")]] = Field(default_factory=list)
    details: dict[str, str] = Field(default_factory=dict, description="extra fields of the OpsGenie alert")
    send_resolved: bool = True


class VictorOpsConfig(StrictModel):
    api_key: FileSecretRef = Field(description="the REST endpoint key: a file reference, rendered as api_key_file")
    routing_key: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+$", description="the VictorOps routing key "
                                                                                "(a team's route name, not a secret)")]
    message_type: Literal["CRITICAL", "WARNING", "INFO"] | None = None
    entity_display_name: NotificationText | None = None
    state_message: NotificationText | None = None
    custom_fields: dict[str, str] = Field(default_factory=dict)
    send_resolved: bool = True


class WebexConfig(StrictModel):
    bot_token: FileSecretRef = Field(
        description="the bot's access token: a file reference, sent as http_config.authorization.credentials_file")
    room_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_=-]+$", description="the Webex room to post to")]
    api_url: HttpUrl = Field("https://webexapis.com/v1/messages", description="the Webex messages API")
    message: NotificationText | None = None
    send_resolved: bool = True


class SigV4(StrictModel):
    """AWS credentials come from the default chain (environment, instance role, shared files): never the spec."""

    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")]
    profile: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")] | None = Field(
        None, description="a profile of the shared AWS credentials file")
    role_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")] | None = None


class SNSConfig(StrictModel):
    sigv4: SigV4
    topic_arn: Annotated[str, Field(pattern=_ARN)] | None = None
    target_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:sns:\S+$")] | None = None
    phone_number: Annotated[str, Field(pattern=r"^\+[1-9]\d{6,14}$", description="E.164")] | None = None
    subject: NotificationText | None = None
    message: NotificationText | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    send_resolved: bool = True

    @model_validator(mode="after")
    def _one_destination(self) -> SNSConfig:
        if sum(x is not None for x in (self.topic_arn, self.target_arn, self.phone_number)) != 1:
            raise ValueError("an SNS receiver names exactly one of topic_arn, target_arn or phone_number")
        if self.topic_arn and (region := self.topic_arn.split(":")[3]) != self.sigv4.region:
            raise ValueError(f"topic_arn is in {region} but sigv4.region is {self.sigv4.region}: SNS refuses "
                             "a request signed for another region")
        return self


def _inline_only(integration: str, fields: str, files: str) -> str:
    return (f"Alertmanager 0.25 reads the {integration} {fields} only inline, and generated/ is committed: "
            f"stackgen cannot render this receiver without the secret ({files} arrive in later Alertmanager "
            "releases); use a webhook to a relay that holds the credential, or another integration")


class PushoverConfig(StrictModel):
    user_key: FileSecretRef
    token: FileSecretRef

    @model_validator(mode="after")
    def _refused(self) -> PushoverConfig:
        raise ValueError(_inline_only("Pushover", "user_key and token", "user_key_file and token_file"))


class TelegramConfig(StrictModel):
    bot_token: FileSecretRef
    chat_id: int

    @model_validator(mode="after")
    def _refused(self) -> TelegramConfig:
        raise ValueError(_inline_only("Telegram", "bot_token", "bot_token_file"))


class WeChatConfig(StrictModel):
    api_secret: FileSecretRef
    corp_id: Annotated[str, Field(min_length=1)]

    @model_validator(mode="after")
    def _refused(self) -> WeChatConfig:
        raise ValueError(_inline_only("WeChat", "api_secret", "file-based secrets"))

