"""Facts the deploy targets and their checks share: which secrets exist, and what an environment changes.

Kept out of the targets so resolve can check environment overrides with exactly the code that
renders them (an override the renderer would reject is reported as an input error instead).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import ValidationError

from stackgen.errors import Problem
from stackgen.spec.alerts import Alert
from stackgen.spec.deploy import Environment
from stackgen.spec.models import Spec
from stackgen.spec.service import Service
from stackgen.spec.types import SecretRef

THRESHOLD_KINDS = ("error_ratio", "latency_quantile", "threshold")


@dataclass(frozen=True)
class SecretFile:
    """A secret file a container reads: its name (the source file under secrets/) and mount path."""

    name: str
    path: str


def alertmanager_secret_files(spec: Spec) -> list[SecretFile]:
    """Every file-based credential the Alertmanager config references (smtp, slack, pagerduty)."""
    am = spec.alertmanager
    refs: list[SecretRef | None] = [am.global_.smtp.auth_password if am.global_.smtp else None]
    for receiver in am.receivers:
        refs += [c.api_url for c in receiver.slack] + [c.routing_key for c in receiver.pagerduty]
    return _files(refs)


def service_secret_files(service: Service) -> list[SecretFile]:
    return _files(list(service.secret_env.values()))


def _files(refs: list[SecretRef | None]) -> list[SecretFile]:
    paths = sorted({ref.file for ref in refs if ref is not None and ref.file})
    return [SecretFile(posixpath.basename(p), p) for p in paths]


def service_log_env(service: Service) -> dict[str, str]:
    """The variable telling the service its log folder (`logs.directory_env` = `logs.directory`), if any.

    The folder is the log schema's `directory`; the deploy targets mount the service's log volume there,
    so the spec states it once.
    """
    logs = service.logs
    if logs is None or logs.directory_env is None:
        return {}
    return {logs.directory_env: logs.directory}


def override_alert(alert: Alert, threshold: float) -> Alert:
    """The alert with another threshold, validated like spec input (ranges, kinds)."""
    if alert.kind not in THRESHOLD_KINDS:
        raise ValueError(f"alert {alert.name!r} is a {alert.kind} alert, which has no threshold")
    data = alert.model_dump(by_alias=True, exclude_unset=False)
    data["threshold"] = float(threshold)
    return type(alert).model_validate(data)


def environment_alerts(service: Service, env: Environment | None) -> list[Alert]:
    """The service's alerts with the environment's threshold overrides applied."""
    override = env.services.get(service.name) if env else None
    if override is None:
        return list(service.alerts)
    return [
        override_alert(a, override.alert_thresholds[a.name]) if a.name in override.alert_thresholds else a
        for a in service.alerts
    ]


def check_deploy(spec: Spec, positions) -> Iterator[Problem]:
    """Cross-references of `environments` and `kubernetes` (called from resolve.check_references)."""
    services = {s.name: s for s in spec.services}
    seen: set[str] = set()
    for i, env in enumerate(spec.environments):
        if env.name in seen:
            yield positions.problem(("environments", i, "name"), f"duplicate environment name {env.name!r}")
        seen.add(env.name)
        for service_name, override in env.services.items():
            path = ("environments", i, "services", service_name)
            service = services.get(service_name)
            if service is None:
                yield positions.problem(
                    path, f"service {service_name!r} is not defined (services: {', '.join(services)})"
                )
                continue
            alerts = {a.name: a for a in service.alerts}
            for alert_name, threshold in override.alert_thresholds.items():
                where = (*path, "alert_thresholds", alert_name)
                alert = alerts.get(alert_name)
                if alert is None:
                    yield positions.problem(
                        where,
                        f"alert {alert_name!r} is not an alert of service "
                        f"{service_name!r} (alerts: {', '.join(alerts) or 'none'})",
                    )
                    continue
                yield from _check_threshold(service, alert, threshold, where, positions)
    for name in spec.kubernetes.autoscaling:
        if name not in services:
            yield positions.problem(
                ("kubernetes", "autoscaling", name),
                f"service {name!r} is not defined (services: {', '.join(services)})",
            )
    by_name: dict[str, str] = {}
    for secret in alertmanager_secret_files(spec):
        if secret.name in by_name:
            yield positions.problem(
                ("alertmanager",),
                f"secret files {by_name[secret.name]} and {secret.path} "
                f"share the name {secret.name!r}: the deploy targets "
                "key secrets by file name",
            )
        by_name[secret.name] = secret.path


def _check_threshold(service: Service, alert: Alert, threshold: float, where, positions) -> Iterator[Problem]:
    try:
        changed = override_alert(alert, threshold)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        yield positions.problem(
            where, f"threshold {threshold:g} is invalid for alert {alert.name!r}: {reason}"
        )
        return
    if changed.kind == "latency_quantile":
        metric = service.metric(changed.histogram.metric)
        if metric and metric.buckets and changed.threshold not in metric.buckets[:-1]:
            yield positions.problem(
                where,
                f"threshold {threshold:g} must be one of the histogram's buckets "
                f"below the largest (buckets: {', '.join(f'{b:g}' for b in metric.buckets)})",
            )
