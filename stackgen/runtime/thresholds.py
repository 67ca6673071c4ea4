"""The drill's threshold step: hold each error ratio exactly at, just under and just over its alert's
threshold, and check the alert stays quiet, stays quiet, and fires.

A ratio can be held exactly only if every scrape sees whole cycles. The service fails exactly k of
every n requests when asked (its `even` fault pattern, counted from the moment the fault is set),
and the drill sends one cycle of N requests (a multiple of n, at least CYCLE_MIN) right after each
scrape of the service, finished before the next. rate() reads the first and last sample of its
window, so every window then holds whole cycles and bad/total is exactly the cycle's ratio.
"Just under" and "just over" are one failure fewer or more per cycle (4, 5 and 6 in 100 for 0.05).

The fault is generation_failure_rate: a failed generation answers HTTP 500, so the ratio of failed
generations and the ratio of 5xx /generate answers are the same number; alerts of one service with
the same threshold are held together. At the threshold itself, PromQL's floating point (rate()
extrapolates both counters by the same factor, rounded separately) reads a few ulp above it in a
few percent of evaluations: `pending` is allowed there, firing (every evaluation for `for`) is not.
"""

from __future__ import annotations

import http.client
import json
import math
import re
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from urllib.parse import urlsplit

from stackgen.model import names
from stackgen.model.promql import alert_labels
from stackgen.model.routing import receivers_for
from stackgen.resolve import Stack
from stackgen.runtime import native
from stackgen.runtime.drill import SLACK_S, AlertStates, Key, Notifications, set_faults
from stackgen.spec.alerts import ErrorRatioAlert
from stackgen.spec.service import Service

FAULT = "generation_failure_rate"
CYCLE_MIN = 100  # requests per cycle at least: "just under" and "just over" are one failure in this many
CYCLE_MAX = 400  # more than this per scrape interval is more than a loaded 2-core machine reliably sends
SENDERS = 8
GUARD_S = 0.05  # a cycle starts this long after a scrape and must end this long before the next
BODY = json.dumps({"prompt": "a calm 440 Hz sine tone", "duration_seconds": 0.1}).encode()


@dataclass
class Target:
    service: Service
    alert: ErrorRatioAlert
    receivers: list[str]

    @property
    def key(self) -> Key:
        return (self.service.name, self.alert.name)


@dataclass
class Check:
    alert: str
    threshold: float
    level: str  # under, at, over
    held: str  # "0.04 (4/100)"
    expect_fire: bool
    seen: str = ""
    passed: bool = False


def targets(profile: Stack, only: list[str] | None) -> dict[tuple[str, float], list[Target]]:
    """Error-ratio alerts grouped by service and threshold: one hold drives each group."""
    groups: dict[tuple[str, float], list[Target]] = {}
    route = profile.spec.alertmanager.route
    for service in profile.spec.services:
        for alert in service.alerts:
            if isinstance(alert, ErrorRatioAlert) and (not only or alert.name in only):
                receivers = receivers_for(route, {"alertname": alert.name, **alert_labels(service, alert)})
                groups.setdefault((service.name, alert.threshold), []).append(Target(service, alert, receivers))
    return groups


def cycle(threshold: float) -> tuple[int, int] | None:
    """(failures at the threshold, requests) per cycle, or None when a cycle would be too long."""
    exact = Fraction(threshold).limit_denominator(1_000_000)
    size = exact.denominator * math.ceil(CYCLE_MIN / exact.denominator)
    return (exact.numerator * size // exact.denominator, size) if size <= CYCLE_MAX else None


class Sender:
    """Sends one cycle of requests, concurrently over kept-alive connections; returns the status codes."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(SENDERS, thread_name_prefix="drill-cycle")

    def _post(self, _: int) -> int:
        for attempt in (1, 2):  # a kept-alive connection the server closed is reopened once
            connection = getattr(self.local, "connection", None)
            if connection is None:
                connection = self.local.connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                connection.request("POST", "/generate", BODY, {"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                return response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                self.local.connection = None
                if attempt == 2:
                    return 0
        return 0

    def cycle(self, size: int) -> list[int]:
        return list(self.pool.map(self._post, range(size)))

    def close(self) -> None:
        self.pool.shutdown()


class ScrapeClock:
    """When Prometheus scrapes the service: its last scrape and interval, from /api/v1/targets."""

    def __init__(self, prometheus: str, job: str, interval: float):
        self.url, self.job, self.interval = f"{prometheus}/api/v1/targets?state=active", job, interval

    def last(self) -> float:
        try:
            with urllib.request.urlopen(self.url, timeout=5) as response:
                targets = json.load(response)["data"]["activeTargets"]
            stamp = next(t["lastScrape"] for t in targets if t["labels"]["job"] == self.job)
        except (OSError, ValueError, KeyError, StopIteration) as exc:
            raise native.StackError(f"prometheus does not say when it scrapes {self.job} ({self.url}): {exc}") from None
        # Prometheus writes nanoseconds and a Z; datetime reads microseconds and an offset.
        stamp = re.sub(r"(\.\d{6})\d*", r"\1", stamp).replace("Z", "+00:00")
        return datetime.fromisoformat(stamp).timestamp()

    def next_slot(self) -> float:
        """The start of the next safe slot: just after the next scrape."""
        last, now = self.last(), time.time()
        return last + math.ceil((now - last) / self.interval) * self.interval + GUARD_S


@dataclass
class Hold:
    """What one hold saw: cycles sent, those that crossed a scrape, unexpected answers, alert states."""
    cycles: int = 0
    misaligned: int = 0
    unexpected: dict[int, int] = field(default_factory=dict)
    pending: dict[Key, int] = field(default_factory=dict)
    firing: dict[Key, int] = field(default_factory=dict)
    polls: int = 0


def _send_cycles(sender: Sender, clock: ScrapeClock, size: int, alerts: AlertStates, keys: list[Key],
                 until: Callable[[Hold], bool]) -> Hold:
    hold = Hold()
    while not until(hold):
        slot = clock.next_slot()
        time.sleep(max(0.0, slot - time.time()))
        statuses = sender.cycle(size)
        if time.time() > slot + clock.interval - 2 * GUARD_S:
            hold.misaligned += 1  # a scrape may have seen part of this cycle
        hold.cycles += 1
        for status in statuses:
            if status not in (200, 500):
                hold.unexpected[status] = hold.unexpected.get(status, 0) + 1
        hold.polls += 1
        for labels, where in alerts.prometheus_alerts():
            key = (labels.get("service", ""), labels.get("alertname", ""))
            if key in keys:
                counts = hold.firing if where == "firing" else hold.pending
                counts[key] = counts.get(key, 0) + 1
    return hold


def _lasting(seconds: float, done: Callable[[], bool] = lambda: False) -> Callable[[Hold], bool]:
    """Stop sending when `done()` or after `seconds`."""
    deadline = time.monotonic() + seconds
    return lambda _: done() or time.monotonic() >= deadline


def _firing_at_receivers(inbox: Notifications, since: float, group: list[Target]) -> Callable[[], bool]:
    def fired() -> bool:
        reached = {(name, r) for r, _, name, st in inbox.since(since) if st == "firing"}
        return all((t.key, r) in reached for t in group for r in t.receivers)
    return fired


def _resolved(inbox: Notifications, since: float, keys: list[Key]) -> Callable[[], bool]:
    return lambda: {k for _, _, k, st in inbox.since(since) if st == "resolved"} >= set(keys)


def step(profile: Stack, state: native.State, alerts: AlertStates, inbox: Notifications, token: str,
         only: list[str] | None, timeout: float, echo: Callable[[str], None]) -> list[Check]:
    """Every group of error-ratio alerts held at, under and over its threshold."""
    checks: list[Check] = []
    for (service_name, threshold), group in targets(profile, only).items():
        shape = cycle(threshold)
        if shape is None:
            why = (f"skipped: {Fraction(threshold).limit_denominator(1_000_000)} needs more than {CYCLE_MAX} "
                   "requests per scrape")
            checks += [Check(t.alert.name, threshold, level, "-", level == "over", why, passed=True)
                       for t in group for level in ("under", "at", "over")]
            continue
        echo(f"drill: {', '.join(t.alert.name for t in group)} held at, under and over {threshold} "
             f"({shape[0]} of {shape[1]} requests per scrape fail)")
        sender = Sender(state.component(service_name).url)
        try:
            checks += _hold_group(profile, state, alerts, inbox, token, timeout, group, threshold, shape, sender)
        finally:
            set_faults(state.component(service_name).url, token, None)
            sender.close()
    return checks


def _hold_group(profile: Stack, state: native.State, alerts: AlertStates, inbox: Notifications, token: str,
                timeout: float, group: list[Target], threshold: float, shape: tuple[int, int],
                sender: Sender) -> list[Check]:
    at, size = shape
    prom = profile.spec.prometheus
    service = state.component(group[0].service.name)
    keys = [t.key for t in group]
    clock = ScrapeClock(state.component("prometheus").url, names.job_name(service.name), prom.scrape_interval.seconds)
    base = prom.scrape_interval.seconds + prom.evaluation_interval.seconds + profile.spec.alertmanager.route.group_wait.seconds
    # Long enough that an alert that would fire at this ratio has: its window full of it, then `for`.
    hold_s = max(t.alert.window.seconds + t.alert.for_.seconds for t in group) + 2 * prom.evaluation_interval.seconds
    checks = []
    set_faults(service.url, token, None)
    # Clean whole cycles first, so the windows hold no errors of an earlier step.
    window_s = max(t.alert.window.seconds for t in group) + 2 * prom.scrape_interval.seconds
    _send_cycles(sender, clock, size, alerts, keys, _lasting(window_s))
    for level, failures in (("under", at - 1), ("at", at), ("over", at + 1)):
        ratio = Fraction(failures, size)
        held = f"{float(ratio):g} ({failures}/{size})"
        set_faults(service.url, token, {FAULT: float(ratio)})  # restarts the fault's even schedule
        t0 = time.time()
        if level == "over":
            limit = base + max(t.alert.for_.seconds for t in group) + SLACK_S
            hold = _send_cycles(sender, clock, size, alerts, keys, _lasting(limit, _firing_at_receivers(inbox, t0, group)))
            notes = list(inbox.since(t0))
            for target in group:
                times = [t for r, t, name, st in notes if name == target.key and st == "firing" and r in target.receivers]
                after = min(times) - t0 if times else None
                ok = after is not None and after <= limit and not hold.unexpected
                seen = (f"fired at {', '.join(target.receivers)} after {after:.1f}s" if after is not None
                        else f"did not fire within {limit:.0f}s")
                checks.append(Check(target.alert.name, threshold, level, held, True, _note(seen, hold), ok))
            continue
        hold = _send_cycles(sender, clock, size, alerts, keys, _lasting(hold_s))
        notes = list(inbox.since(t0))
        for target in group:
            notified = any(name == target.key and st == "firing" for _, _, name, st in notes)
            firing, pending = hold.firing.get(target.key, 0), hold.pending.get(target.key, 0)
            # Pending at the threshold itself is floating point (see the module's note); under it, not.
            ok = not notified and not firing and not hold.unexpected and (pending == 0 or level == "at")
            seen = "fired" if notified or firing else f"pending in {pending} of {hold.polls} polls" if pending else "quiet"
            checks.append(Check(target.alert.name, threshold, level, held, False, _note(seen, hold), ok))
    set_faults(service.url, token, None)
    # Clean traffic resolves them within a window; the drill's end checks that they did.
    _send_cycles(sender, clock, size, alerts, keys, _lasting(timeout, _resolved(inbox, time.time(), keys)))
    return checks


def _note(seen: str, hold: Hold) -> str:
    extra = []
    if hold.misaligned:
        extra.append(f"{hold.misaligned} of {hold.cycles} cycles crossed a scrape")
    if hold.unexpected:
        answers = ", ".join(f"{n}x{code or 'no answer'}" for code, n in sorted(hold.unexpected.items()))
        extra.append(f"unexpected answers {answers}: the ratio was not exact")
    return seen + (f" ({'; '.join(extra)})" if extra else "")


def table(checks: list[Check]) -> str:
    from stackgen.runtime.drill import columns

    rows = [("alert", "threshold", "held at", "expected", "seen", "result")] + [
        (c.alert, f"{c.threshold:g}", c.held, "fire" if c.expect_fire else "no fire", c.seen,
         "pass" if c.passed else "FAIL") for c in checks]
    return columns(rows)
