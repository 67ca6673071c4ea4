"""Alertmanager: the route tree, receivers and inhibitions, with secrets as *_file references."""

from __future__ import annotations

from typing import Any

from stackgen.model import names
from stackgen.output.artifact import Artifact
from stackgen.output.serialize import yaml_artifact
from stackgen.resolve import Stack
from stackgen.spec.alertmanager import Alertmanager, PagerDutyConfig, Receiver, RootRoute, Route, SlackConfig

# Template files sit beside the config; Alertmanager resolves a relative `templates:` path against the
# config file's folder, which holds for generated/, compose (/etc/alertmanager) and the native runtime.
TEMPLATES_DIR = "templates"
# Links stackgen puts on notifications: every stackgen alert carries these annotations.
LINKS = {"runbook": ("Runbook", "runbook_url"), "dashboard": ("Dashboard", "dashboard_url")}


def render(stack: Stack) -> list[Artifact]:
    am = stack.spec.alertmanager
    return [yaml_artifact(names.ALERTMANAGER_CONFIG, config(am), names.header(stack.spec_name)),
            *template_files(am, names.header(stack.spec_name))]


def template_files(am: Alertmanager, header: str, folder: str = f"alertmanager/{TEMPLATES_DIR}") -> list[Artifact]:
    """One file per spec template, its header a Go template comment (which renders nothing)."""
    comment = "{{/* " + header.removeprefix("# ").replace("*/", "* /") + " */}}\n"
    return [Artifact(f"{folder}/{t.name}.tmpl", comment + t.text.rstrip("\n") + "\n") for t in am.templates]


def _link_url(link: str) -> str:
    # The first alert's: a group's alerts share their alertname (group_by), so their runbook and dashboard.
    return "{{ (index .Alerts 0).Annotations." + LINKS[link][1] + " }}"


def config(am: Alertmanager, templates_dir: str = TEMPLATES_DIR) -> dict[str, Any]:
    """alertmanager.yml (the native runtime rewrites its receivers: stackgen.runtime.native). `templates_dir`
    is where the template files are as Alertmanager sees them (the operator mounts them elsewhere)."""
    glob: dict[str, Any] = {"resolve_timeout": str(am.global_.resolve_timeout)}
    if smtp := am.global_.smtp:
        glob |= {"smtp_smarthost": smtp.smarthost, "smtp_from": smtp.from_, "smtp_require_tls": smtp.require_tls}
        if smtp.auth_username:
            glob["smtp_auth_username"] = smtp.auth_username
        if smtp.auth_password:
            glob["smtp_auth_password_file"] = smtp.auth_password.file
    return {
        "global": glob,
        "route": _route(am.route, root=True),
        "receivers": [_receiver(r) for r in am.receivers],
        "inhibit_rules": [
            {"source_matchers": [str(m) for m in rule.source_matchers],
             "target_matchers": [str(m) for m in rule.target_matchers],
             **({"equal": list(rule.equal)} if rule.equal else {})}
            for rule in am.inhibit_rules
        ],
        **({"time_intervals": [{"name": t.name, "time_intervals": [p.model_dump(exclude_defaults=True)
                                                                    for p in t.time_intervals]}
                               for t in am.time_intervals]} if am.time_intervals else {}),
        **({"templates": [f"{templates_dir}/{t.name}.tmpl" for t in am.templates]} if am.templates else {}),
    }


def _route(route: Route | RootRoute, root: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if route.receiver:
        out["receiver"] = route.receiver
    if not root:
        if route.matchers:
            out["matchers"] = [str(m) for m in route.matchers]
        if route.continue_:
            out["continue"] = True
        for key in ("mute_time_intervals", "active_time_intervals"):
            if names_ := getattr(route, key):
                out[key] = list(names_)
    if route.group_by is not None:
        out["group_by"] = list(route.group_by)
    for key in ("group_wait", "group_interval", "repeat_interval"):
        if (value := getattr(route, key)) is not None:
            out[key] = str(value)
    if route.routes:
        out["routes"] = [_route(child) for child in route.routes]
    return out


def _receiver(receiver: Receiver) -> dict[str, Any]:
    out: dict[str, Any] = {"name": receiver.name}
    if receiver.email:
        # Alertmanager has no `subject`/`body` fields (the design used them): the subject is a header
        # and the body is `text`.
        out["email_configs"] = [
            {"to": e.to, "send_resolved": e.send_resolved,
             **({"headers": {"Subject": e.subject}} if e.subject else {}),
             **({"text": e.body} if e.body else {})}
            for e in receiver.email
        ]
    if receiver.slack:
        out["slack_configs"] = [_slack(s) for s in receiver.slack]
    if receiver.webhook:
        out["webhook_configs"] = [
            {"url": w.url, "send_resolved": w.send_resolved,
             **({"max_alerts": w.max_alerts} if w.max_alerts else {})}
            for w in receiver.webhook
        ]
    if receiver.pagerduty:
        out["pagerduty_configs"] = [_pagerduty(p) for p in receiver.pagerduty]
    if receiver.opsgenie:
        out["opsgenie_configs"] = [
            _set({"api_key_file": o.api_key.file, "send_resolved": o.send_resolved, "api_url": o.api_url,
                  "message": o.message, "description": o.description, "priority": o.priority,
                  "responders": [r.model_dump() for r in o.responders], "tags": ",".join(o.tags),
                  "details": dict(o.details)})
            for o in receiver.opsgenie
        ]
    if receiver.victorops:
        out["victorops_configs"] = [
            _set({"api_key_file": v.api_key.file, "routing_key": v.routing_key, "send_resolved": v.send_resolved,
                  "message_type": v.message_type, "entity_display_name": v.entity_display_name,
                  "state_message": v.state_message, "custom_fields": dict(v.custom_fields)})
            for v in receiver.victorops
        ]
    if receiver.webex:
        out["webex_configs"] = [
            _set({"api_url": w.api_url, "room_id": w.room_id, "message": w.message, "send_resolved": w.send_resolved,
                  "http_config": {"authorization": {"type": "Bearer", "credentials_file": w.bot_token.file}}})
            for w in receiver.webex
        ]
    if receiver.sns:
        out["sns_configs"] = [
            _set({"sigv4": s.sigv4.model_dump(exclude_none=True), "topic_arn": s.topic_arn, "target_arn": s.target_arn,
                  "phone_number": s.phone_number, "subject": s.subject, "message": s.message,
                  "attributes": dict(s.attributes), "send_resolved": s.send_resolved})
            for s in receiver.sns
        ]
    return out


def _set(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields the spec set: None, empty text and empty collections keep Alertmanager's defaults."""
    return {k: v for k, v in fields.items() if v is not None and v != "" and v != [] and v != {}}


def _slack(s: SlackConfig) -> dict[str, Any]:
    actions = [{"type": "button", "text": LINKS[link][0], "url": _link_url(link)} for link in s.links]
    return _set({"api_url_file": s.api_url.file, "channel": s.channel, "send_resolved": s.send_resolved,
                 "title": s.title, "title_link": s.title_link, "text": s.text, "color": s.color,
                 "fields": [f.model_dump() for f in s.fields], "actions": actions})


def _pagerduty(p: PagerDutyConfig) -> dict[str, Any]:
    links = [{"href": _link_url(link), "text": LINKS[link][0]} for link in p.links]
    return _set({"routing_key_file": p.routing_key.file, "send_resolved": p.send_resolved, "severity": p.severity,
                 "description": p.description, "client": p.client, "client_url": p.client_url,
                 "component": p.component, "group": p.group, "class": p.class_, "details": dict(p.details),
                 "links": links})
