"""Alerts added, removed and changed field by field, with each environment's effective threshold and
the PromQL where the expression changed."""

from __future__ import annotations

from stackgen.model.deploy import environment_alerts
from stackgen.model.promql import service_alert_expr
from stackgen.resolve import Stack
from stackgen.review.report import ADDED, CHANGED, REMOVED, Entry, PromQL, field_changes, listed
from stackgen.review.values import model_values, show
from stackgen.spec.alerts import Alert, AlertBase, RawAlert
from stackgen.spec.service import Service

# What an added alert's line shows besides its kind's own fields (the texts are in the rule file).
_ADDED_COMMON = ("kind", "severity", "for")
# A raw alert's expression is shown as the PromQL diff, not as a one-line field.
_SHOWN_AS_PROMQL = ("expr",)


def alerts_of(stack: Stack) -> dict[tuple[str, str], tuple[Service, Alert]]:
    return {(s.name, a.name): (s, a) for s in stack.spec.services for a in s.alerts}


_COMMON = {info.alias or name for name, info in AlertBase.model_fields.items()}


def values(alert: Alert) -> dict[str, str]:
    """The alert's fields: its kind, the kind's own (threshold, window, ...), then those every alert has."""
    found = model_values(alert, skip=("name", "tests", *_SHOWN_AS_PROMQL))
    out = {k: v for k, v in found.items() if k not in _COMMON}
    out |= {k: v for k, v in found.items() if k in _COMMON}
    if isinstance(alert, RawAlert):
        out["tests"] = f"{len(alert.tests)} test case(s)"
    return out


def _added(alert: Alert) -> dict[str, str]:
    """A new alert's line: its kind, the kind's own fields, severity, and `for` and tests where set."""
    shown = {k: v for k, v in values(alert).items() if k in _ADDED_COMMON or k not in _COMMON}
    if not alert.for_:
        shown.pop("for")
    if not getattr(alert, "tests", None):
        shown.pop("tests", None)
    return shown


def expr(service: Service, alert: Alert) -> str:
    return service_alert_expr(service, alert)


def compare(base: Stack, head: Stack) -> list[Entry]:
    before, after = alerts_of(base), alerts_of(head)
    out: list[Entry] = []
    for key in sorted(before.keys() - after.keys()):
        out.append(Entry(REMOVED, key[1], key[0]))
    for key in sorted(after.keys() - before.keys()):
        service, alert = after[key]
        out.append(Entry(ADDED, alert.name, service.name, listed(_added(alert)),
                         notes=_environments(base, head, key, always=True), promql=PromQL(None, expr(service, alert))))
    for key in sorted(before.keys() & after.keys()):
        (old_service, old), (new_service, new) = before[key], after[key]
        old_values, new_values = values(old), values(new)
        if isinstance(old, RawAlert) and isinstance(new, RawAlert) and old.tests != new.tests \
                and len(old.tests) == len(new.tests):
            new_values["tests"] += " (edited)"
        fields = field_changes(old_values, new_values)
        notes = _environments(base, head, key)
        old_expr, new_expr = expr(old_service, old), expr(new_service, new)
        promql = PromQL(old_expr, new_expr) if old_expr != new_expr else None
        if fields or notes or promql:
            out.append(Entry(CHANGED, key[1], key[0], fields, notes, promql=promql))
    return out


def _threshold(stack: Stack, key: tuple[str, str], env_name: str) -> str | None:
    """The alert's threshold as deployed in the environment, with its `for` and severity where the
    environment changes them, or `off`; None without the alert, the environment or a threshold."""
    service = next((s for s in stack.spec.services if s.name == key[0]), None)
    env = next((e for e in stack.spec.environments if e.name == env_name), None)
    if service is None or env is None:
        return None
    base = next((a for a in service.alerts if a.name == key[1]), None)
    alert = next((a for a in environment_alerts(service, env) if a.name == key[1]), None)
    if base is not None and alert is None:
        return "off"  # the environment disables it
    value = getattr(alert, "threshold", None)
    # A `for` or severity the environment sets apart from the alert's own is part of what it deploys.
    extra = [f"{field} {show(getattr(alert, attr))}" for field, attr in (("for", "for_"), ("severity", "severity"))
             if alert is not None and base is not None and getattr(alert, attr) != getattr(base, attr)]
    if value is None and not extra:
        return None
    return " ".join([*([show(value)] if value is not None else []), *(f"({e})" for e in extra)])


def _environments(base: Stack, head: Stack, key: tuple[str, str], always: bool = False) -> tuple[str, ...]:
    """`per environment: dev keeps 0.2, prod 0.05 → 0.1` where the threshold deployed to an environment of
    both sides changed (or `always`, for a new alert); else nothing. An environment only one side has is
    shown but is no change of the alert's: the deploy section reports it."""
    envs = list(dict.fromkeys([e.name for e in head.spec.environments] + [e.name for e in base.spec.environments]))
    parts, differs = [], False
    for env in envs:
        old, new = _threshold(base, key, env), _threshold(head, key, env)
        if old is None and new is None:
            continue
        if old == new:
            parts.append(f"{env} keeps {new}")
        elif old is None:
            parts.append(f"{env} {new}" if always else f"{env} {new} (new)")
        elif new is None:
            parts.append(f"{env} {old} (gone)")
        else:
            parts.append(f"{env} {old} → {new}")
            differs = True
    return (f"per environment: {', '.join(parts)}",) if parts and (differs or always) else ()
