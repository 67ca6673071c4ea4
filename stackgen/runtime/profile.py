"""The drill profile: the same stack with time compressed, so a full fire drill takes minutes.

Scrape and evaluation run every second, Alertmanager groups wait one second, and every alert's
`for` and rate window and every route's repeat_interval shrink by FACTOR (a window never below 4
scrapes, so rate() stays sound; the dead man's switch's 1m heartbeat becomes 2s, so the drill sees
a fresh one within seconds).
Only the local run directory gets these configs; generated/ never changes.
"""

from __future__ import annotations

from dataclasses import replace

from stackgen.resolve import Stack
from stackgen.spec.alertmanager import Alertmanager, Route
from stackgen.spec.models import Spec
from stackgen.spec.types import Duration

FACTOR = 30
SCRAPE = Duration(1000)
MIN_WINDOW = Duration(4 * SCRAPE)
GROUP_WAIT = Duration(1000)
GROUP_INTERVAL = Duration(1000)
# Prometheus publishes discovered targets 5 s after it starts (its discovery manager's first update), so
# `absent(up)` holds for the first seconds of every start and restart. A `for` compressed below that
# fires target_down/absent alerts at each start: harmless with one Alertmanager, but a three-peer cluster
# can keep such a startup alert in its groups unevenly and later notify a drilled alert twice.
ABSENCE_FOR = Duration(8000)
ABSENCE_KINDS = frozenset({"target_down", "absent"})


def compress(duration: Duration, floor: int = 0) -> Duration:
    return Duration(max(floor, round(int(duration) / FACTOR / 1000) * 1000))


def _slo(slo):
    """SLO ranges shrink when the rules are written (slo_rules' time_scale); here only `for` does."""
    tiers = {t: getattr(slo.alerting, t).model_copy(update={"for_": compress(getattr(slo.alerting, t).for_)})
             for t in ("page", "ticket")}
    return slo.model_copy(update={"alerting": slo.alerting.model_copy(update=tiers)})


def _alert(alert):
    update: dict = {"for_": compress(alert.for_, ABSENCE_FOR if alert.kind in ABSENCE_KINDS else 0)}
    if hasattr(alert, "window"):
        update["window"] = compress(alert.window, MIN_WINDOW)
    return alert.model_copy(update=update)


def _route(route: Route) -> Route:
    # Time intervals go: the drill must deliver what it fires whatever the hour (routing is unchanged).
    update: dict = {"routes": [_route(r) for r in route.routes], "mute_time_intervals": [], "active_time_intervals": []}
    for key, value in (("group_wait", GROUP_WAIT), ("group_interval", GROUP_INTERVAL)):
        if getattr(route, key) is not None:
            update[key] = value
    if route.repeat_interval is not None:
        update["repeat_interval"] = compress(route.repeat_interval, GROUP_INTERVAL)
    return route.model_copy(update=update)


def _alertmanager(am: Alertmanager) -> Alertmanager:
    root = am.route.model_copy(update={"group_wait": GROUP_WAIT, "group_interval": GROUP_INTERVAL,
                                       "repeat_interval": compress(am.route.repeat_interval, GROUP_INTERVAL),
                                       "routes": [_route(r) for r in am.route.routes]})
    return am.model_copy(update={"route": root})


def drill_spec(spec: Spec) -> Spec:
    prometheus = spec.prometheus.model_copy(update={
        "scrape_interval": SCRAPE, "scrape_timeout": Duration(900), "evaluation_interval": SCRAPE})
    # A job's own scrape timeout would outlast the 1s drill interval, which Prometheus refuses.
    services = [s.model_copy(update={"scrape_interval": None, "scrape": s.scrape.model_copy(update={"timeout": None}),
                                     "alerts": [_alert(a) for a in s.alerts],
                                     "slos": [_slo(o) for o in s.slos]})
                for s in spec.services]
    return spec.model_copy(update={"prometheus": prometheus, "services": services,
                                   "alertmanager": _alertmanager(spec.alertmanager)})


def drill_stack(stack: Stack) -> Stack:
    """The stack resolved again from its drill spec: SLO tiers carry the compressed `for`."""
    return replace(stack, spec=drill_spec(stack.spec))
