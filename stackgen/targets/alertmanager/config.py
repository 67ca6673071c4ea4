"""Alertmanager: the route tree, receivers and inhibitions, with secrets as *_file references."""

from __future__ import annotations

from typing import Any

from stackgen.model import names
from stackgen.output.artifact import Artifact
from stackgen.output.serialize import yaml_artifact
from stackgen.resolve import Stack
from stackgen.spec.alertmanager import Alertmanager, Receiver, RootRoute, Route


def render(stack: Stack) -> list[Artifact]:
    return [yaml_artifact(names.ALERTMANAGER_CONFIG, config(stack.spec.alertmanager), names.header(stack.spec_name))]


def config(am: Alertmanager) -> dict[str, Any]:
    """alertmanager.yml (the native runtime rewrites its receivers: stackgen.runtime.native)."""
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
        out["slack_configs"] = [
            {"api_url_file": s.api_url.file, "channel": s.channel, "send_resolved": s.send_resolved,
             **({"title": s.title} if s.title else {}), **({"text": s.text} if s.text else {})}
            for s in receiver.slack
        ]
    if receiver.webhook:
        out["webhook_configs"] = [
            {"url": w.url, "send_resolved": w.send_resolved,
             **({"max_alerts": w.max_alerts} if w.max_alerts else {})}
            for w in receiver.webhook
        ]
    if receiver.pagerduty:
        out["pagerduty_configs"] = [
            {"routing_key_file": p.routing_key.file, "send_resolved": p.send_resolved,
             **({"severity": p.severity} if p.severity else {})}
            for p in receiver.pagerduty
        ]
    return out
