"""The fire drill: break the running service on purpose and watch each alert travel through real
Prometheus and Alertmanager to the receiver the route tree predicts, then recover and watch it resolve.

Faults go through the service's fault endpoint (`POST /admin/faults`), ServiceDown is drilled by
stopping the service process, and a bounded background load keeps requests flowing so ratios and
quantiles have data. Every alert kind that has a fault is drilled; the others are listed as skipped.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from stackgen.model.promql import alert_labels
from stackgen.model.routing import receivers_for
from stackgen.resolve import Stack
from stackgen.runtime import native
from stackgen.runtime.profile import drill_stack
from stackgen.spec.alerts import ErrorRatioAlert, LatencyQuantileAlert, TargetDownAlert, WatchdogAlert
from stackgen.spec.service import Service
from stackgen.spec.slo import AvailabilitySLI

ERROR_BURST = {"error_rate": 0.5, "generation_failure_rate": 0.5}
STOP = "stop the service"
LOAD_THREADS = 6
LOAD_PAUSE = 0.1
PROMPT = {"prompt": "a calm 440 Hz sine tone", "duration_seconds": 0.2}


@dataclass
class Plan:
    service: Service
    alert: str
    fault: dict[str, float] | str | None  # None: nothing to inject (Watchdog fires by itself)
    receivers: list[str]
    expected_fire: float  # seconds: scrape + evaluation + for + group_wait (+ injected latency)

    @property
    def key(self) -> tuple[str, str]:
        """How notifications name this alert: its `service` label and alertname."""
        return (self.service.name, self.alert)


@dataclass
class Result:
    plan: Plan
    reached: list[str] = field(default_factory=list)
    fired_after: float | None = None
    resolved_after: float | None = None
    error: str = ""

    @property
    def passed(self) -> bool:
        resolves = self.plan.fault is not None
        return (not self.error and set(self.plan.receivers) <= set(self.reached) and self.fired_after is not None
                and (self.resolved_after is not None or not resolves))


def plans(profile: Stack, only: str | None = None) -> tuple[list[Plan], dict[str, str]]:
    """What to drill, with the timings of the profile (the stack as it runs); and what is skipped, why."""
    profile_spec = profile.spec
    todo, skipped = [], {}
    am = profile_spec.alertmanager.route
    base = (profile_spec.prometheus.scrape_interval.seconds + profile_spec.prometheus.evaluation_interval.seconds
            + am.group_wait.seconds)
    for service in profile_spec.services:
        for alert in service.alerts:
            if only and alert.name != only:
                continue
            fault: dict[str, float] | str | None
            extra = 0.0
            match alert:
                case ErrorRatioAlert():
                    fault = ERROR_BURST
                case LatencyQuantileAlert():
                    latency = round(alert.threshold * 1.2, 3)
                    fault, extra = {"latency_seconds": latency}, latency
                case TargetDownAlert():
                    fault = STOP
                case WatchdogAlert():
                    fault = None
                case _:
                    skipped[alert.name] = f"no fault can drive a {alert.kind} alert safely"
                    continue
            labels = {"alertname": alert.name, **alert_labels(service, alert)}
            todo.append(Plan(service, alert.name, fault, receivers_for(am, labels),
                             base + alert.for_.seconds + extra))
        for group in profile.slos_of(service):
            for tier in group.tiers:
                if only and tier.alert != only:
                    continue
                if tier.tier != "page" or not isinstance(group.slo.sli, AvailabilitySLI):
                    skipped[tier.alert] = ("ticket windows (1d/2h, 48m/4m compressed) outlast a drill"
                                           if tier.tier == "ticket" else
                                           "a latency page needs minutes of slow traffic to fill its 1h (2m) window")
                    continue
                labels = {"alertname": tier.alert, **tier.labels}
                todo.append(Plan(service, tier.alert, ERROR_BURST, receivers_for(am, labels), base + tier.for_.seconds))
    if only and not todo and only not in skipped:
        raise native.StackError(f"no alert named {only!r} in the spec")
    return todo, skipped


class Notifications:
    """Reads the webhook recorder's file incrementally."""

    def __init__(self, path: Path):
        self.path = path

    def since(self, t0: float) -> Iterator[tuple[str, float, tuple[str, str], str]]:
        """(receiver, received_at, (service, alertname), status) of each alert in notifications after t0.
        Alert names are unique per service only, so the service label is part of an alert's identity."""
        with open(self.path, encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                if record["received_at"] < t0:
                    continue
                for alert in record["payload"].get("alerts", []):
                    labels = alert["labels"]
                    yield (record["path"], record["received_at"], (labels.get("service", ""), labels.get("alertname", "")),
                           alert.get("status", ""))


class Load:
    """A bounded stream of generation requests: LOAD_THREADS loops, stopped by `stop()`."""

    def __init__(self, url: str):
        self.url = f"{url}/generate"
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(LOAD_THREADS)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()

    def _loop(self) -> None:
        body = json.dumps(PROMPT).encode()
        while not self.done.is_set():
            request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
            try:
                urllib.request.urlopen(request, timeout=60).read()
            except (urllib.error.URLError, OSError):
                pass  # 500s are the point of an error burst; refused connections of a stopped service too
            self.done.wait(LOAD_PAUSE)


def _set_faults(service_url: str, token: str, faults: dict[str, float] | None) -> None:
    method, body = ("POST", json.dumps(faults).encode()) if faults else ("DELETE", None)
    request = urllib.request.Request(f"{service_url}/admin/faults", body, method=method,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise native.StackError(f"the fault endpoint answered {exc.code}: is the service started by `stackgen up` "
                                f"with faults enabled?") from None


def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


def run(stack: Stack, run_dir: Path, only: str | None = None, timeout: float = 90.0,
        echo: Callable[[str], None] = print) -> tuple[list[Result], dict[str, str]]:
    state = native.State.load(run_dir.resolve())
    if state is None:
        raise native.StackError(f"no stack is running from {run_dir}: run `stackgen up --profile drill` first")
    todo, skipped = plans(drill_stack(stack) if state.profile == "drill" else stack, only)
    inbox = Notifications(Path(state.notifications))
    token = Path(state.admin_token_file).read_text()
    results = [Result(plan) for plan in todo]
    # Group alerts that one fault drives, so each fault is injected once.
    groups: dict[str, list[Result]] = {}
    for result in results:
        key = json.dumps(result.plan.fault, sort_keys=True) + result.plan.service.name
        groups.setdefault(key, []).append(result)
    # The dead man's switch first (nothing to break), stopping the service last: its restart answers
    # 503 while the model loads, which rightly trips the error-ratio alerts.
    def order(group: list[Result]) -> int:
        fault = group[0].plan.fault
        return 0 if fault is None else 2 if fault == STOP else 1

    for group in sorted(groups.values(), key=order):
        _drill(group, state, inbox, token, timeout, echo)
    return results, skipped


def _drill(group: list[Result], state: native.State, inbox: Notifications, token: str, timeout: float,
           echo: Callable[[str], None]) -> None:
    """Inject one fault, wait for every alert it drives to fire, clear it, wait for them to resolve."""
    plan = group[0].plan
    service = state.component(plan.service.name)
    echo(f"drill: {', '.join(r.plan.alert for r in group)} <- "
         f"{plan.fault if plan.fault is not None else 'no fault (always firing)'}")
    with Load(service.url):
        t0 = time.time()
        since = 0.0 if plan.fault is None else t0  # the dead man's switch fires from `up` on
        if plan.fault == STOP:
            native.stop(service)
        elif isinstance(plan.fault, dict):
            _set_faults(service.url, token, plan.fault)

        def fired() -> bool:
            for result in group:
                hits = {(r, at) for r, at, name, st in inbox.since(since)
                        if name == result.plan.key and st == "firing"}
                result.reached = sorted({r for r, _ in hits})
                if set(result.plan.receivers) <= set(result.reached) and result.fired_after is None:
                    result.fired_after = max(0.0, min(at for r, at in hits if r in result.plan.receivers) - t0)
            return all(r.fired_after is not None for r in group)

        if not _wait(fired, timeout):
            for result in group:
                if result.fired_after is None:
                    result.error = f"no firing notification at {', '.join(result.plan.receivers)} in {timeout:.0f}s"
        if plan.fault is None:
            return
        t1 = time.time()
        if plan.fault == STOP:
            native.restart(state, service.name)
        else:
            _set_faults(service.url, token, None)

        def resolved() -> bool:
            for result in group:
                times = [at for _, at, name, st in inbox.since(t1) if name == result.plan.key and st == "resolved"]
                if times and result.resolved_after is None:
                    result.resolved_after = min(times) - t1
            return all(r.resolved_after is not None for r in group)

        if not _wait(resolved, timeout):
            for result in group:
                if result.resolved_after is None and not result.error:
                    result.error = f"no resolved notification in {timeout:.0f}s"
        if plan.fault == STOP:
            native.wait_healthy(service, timeout, Path(state.run_dir) / "logs")


def table(results: list[Result], skipped: dict[str, str]) -> str:
    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    header = ("alert", "expected receiver", "receiver reached", "fire s", "expected s", "resolve s", "result")
    rows = [header] + [
        (r.plan.alert, ",".join(r.plan.receivers), ",".join(r.reached) or "-", seconds(r.fired_after),
         seconds(r.plan.expected_fire), seconds(r.resolved_after) if r.plan.fault is not None else "n/a",
         "pass" if r.passed else f"FAIL: {r.error or 'reached the wrong receiver'}")
        for r in results
    ] + [(name, "-", "-", "-", "-", "-", f"skipped: {why}") for name, why in sorted(skipped.items())]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)
