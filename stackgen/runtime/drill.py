"""The fire drill: break the running service on purpose and watch each alert travel through real
Prometheus and Alertmanager to the receiver the route tree predicts, then recover and watch it resolve.

Faults go through the service's fault endpoint (`POST /admin/faults`), ServiceDown is drilled by
stopping the service process, and a bounded background load keeps requests flowing so ratios and
quantiles have data. Every alert kind that has a fault is drilled; the others are listed as skipped.
Then the threshold step (stackgen.runtime.thresholds) holds each error ratio exactly at, just under
and just over its alert's threshold.

The drill cannot pass by accident: it first checks that every component is running and healthy
(naming the one that is not), refuses to start while an alert it drills (or one that would inhibit
one) is still active, counts only notifications sent after each step began (the dead man's switch
too: a fresh heartbeat), fails an alert that fires later than expected + SLACK_S, and ends only
when the stack is as quiet as it found it.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from stackgen.model.promql import alert_labels
from stackgen.model.routing import receivers_for
from stackgen.resolve import Stack
from stackgen.runtime import chaos as havoc
from stackgen.runtime import native
from stackgen.runtime.profile import drill_stack
from stackgen.spec.alertmanager import RootRoute, Route
from stackgen.spec.alerts import ErrorRatioAlert, LatencyQuantileAlert, TargetDownAlert, WatchdogAlert
from stackgen.spec.service import Service
from stackgen.spec.slo import AvailabilitySLI

ERROR_BURST = {"error_rate": 0.5, "generation_failure_rate": 0.5}
STOP = "stop the service"
LOAD_THREADS = 6
LOAD_PAUSE = 0.1
PROMPT = {"prompt": "a calm 440 Hz sine tone", "duration_seconds": 0.2}
# An alert passes only if it fires within its expected seconds plus this: up to two group intervals
# and a few scrapes of a loaded 2-core machine (the recorded runs fire within 1 s of expected).
SLACK_S = 6.0
# Clean traffic before the first fault. A fresh stack has no history, so the SLO pages' long windows
# (2m and 12m compressed) would hold nothing but the drill's faults, and the latency page (critical)
# would fire with HighResponseTime and inhibit it; a few hundred clean requests dilute them as a real
# service's history does.
WARM_UP_S = 10.0

# Why an alert kind with no fault endpoint is not drilled (the others: "no fault can drive a <kind> alert safely").
UNDRILLABLE = {
    "absent": "the fault endpoint cannot make the service stop exporting one metric",
    "rate_threshold": "the drill's own load keeps traffic flowing, so no fault can stop or flood it",
    "predict_linear": "the fault endpoint cannot make a gauge grow towards its limit for the fit's window",
    "gauge_ratio": "the fault endpoint cannot set gauges",
}

Key = tuple[str, str]  # (service label, alertname): alert names are unique per service only


@dataclass
class Plan:
    service: Service
    alert: str
    fault: dict[str, float] | str | None  # None: nothing to inject (Watchdog fires by itself)
    receivers: list[str]
    expected_fire: float  # seconds: scrape + evaluation + for + group_wait (+ injected latency)
    labels: dict[str, str] = field(default_factory=dict)
    # SLO pages keep firing while their short window (30m, 1m compressed) holds the errors: their
    # resolution is collected at the end of the drill, while later steps run, not waited for in the step.
    resolves_late: bool = False

    @property
    def key(self) -> Key:
        """How notifications name this alert: its `service` label and alertname."""
        return (self.service.name, self.alert)


@dataclass
class Result:
    plan: Plan
    reached: list[str] = field(default_factory=list)
    fired_after: float | None = None
    resolved_after: float | None = None
    cleared_at: float | None = None  # when its fault was cleared: resolution is timed from here
    error: str = ""

    @property
    def passed(self) -> bool:
        resolves = self.plan.fault is not None
        return (not self.error and set(self.plan.receivers) <= set(self.reached) and self.fired_after is not None
                and self.fired_after <= self.plan.expected_fire + SLACK_S
                and (self.resolved_after is not None or not resolves))

    @property
    def failure(self) -> str:
        if self.error:
            return self.error
        if self.fired_after is not None and self.fired_after > self.plan.expected_fire + SLACK_S:
            return f"fired after {self.fired_after:.1f}s, later than expected {self.plan.expected_fire:.1f}s + {SLACK_S:.0f}s"
        return "reached the wrong receiver"


def _repeat_interval(root: RootRoute, labels: dict[str, str]) -> float:
    """Seconds between repeated notifications of a firing alert: the first matching route's, inherited."""
    def visit(route: Route | RootRoute, inherited: float) -> float:
        own = route.repeat_interval.seconds if route.repeat_interval is not None else inherited
        for child in route.routes:
            if all(m.matches(labels.get(m.label, "")) for m in child.matchers):
                return visit(child, own)
        return own

    return visit(root, root.repeat_interval.seconds)


def plans(profile: Stack, only: list[str] | str | None = None) -> tuple[list[Plan], dict[str, str]]:
    """What to drill (`only` these alert names, when given), with the timings of the profile (the stack
    as it runs); and what is skipped, why."""
    only = [only] if isinstance(only, str) else only
    profile_spec = profile.spec
    todo, skipped = [], {}
    am = profile_spec.alertmanager.route
    base = (profile_spec.prometheus.scrape_interval.seconds + profile_spec.prometheus.evaluation_interval.seconds
            + am.group_wait.seconds)
    for service in profile_spec.services:
        for alert in service.alerts:
            if only and alert.name not in only:
                continue
            fault: dict[str, float] | str | None
            extra = 0.0
            labels = {"alertname": alert.name, **alert_labels(service, alert)}
            match alert:
                case ErrorRatioAlert():
                    fault = ERROR_BURST
                case LatencyQuantileAlert():
                    latency = round(alert.threshold * 1.2, 3)
                    fault, extra = {"latency_seconds": latency}, latency
                case TargetDownAlert():
                    fault = STOP
                case WatchdogAlert():
                    # A fresh heartbeat: the next repeat of the already-firing alert.
                    fault, extra = None, _repeat_interval(am, labels) + am.group_interval.seconds - base
                case _:
                    skipped[alert.name] = UNDRILLABLE.get(alert.kind, f"no fault can drive a {alert.kind} alert safely")
                    continue
            todo.append(Plan(service, alert.name, fault, receivers_for(am, labels),
                             base + alert.for_.seconds + extra, labels))
        for group in profile.slos_of(service):
            for tier in group.tiers:
                if only and tier.alert not in only:
                    continue
                if tier.tier != "page" or not isinstance(group.slo.sli, AvailabilitySLI):
                    skipped[tier.alert] = ("ticket windows (1d/2h, 48m/4m compressed) outlast a drill"
                                           if tier.tier == "ticket" else
                                           "a latency page needs minutes of slow traffic to fill its 1h (2m) window")
                    continue
                labels = {"alertname": tier.alert, **tier.labels}
                todo.append(Plan(service, tier.alert, ERROR_BURST, receivers_for(am, labels),
                                 base + tier.for_.seconds, labels, resolves_late=True))
    missing = [name for name in only or [] if name not in {p.alert for p in todo} | set(skipped)]
    if missing:
        raise native.StackError(f"no alert named {', '.join(map(repr, missing))} in the spec")
    return todo, skipped


class Notifications:
    """Reads the webhook recorder's file."""

    def __init__(self, path: Path):
        self.path = path

    def since(self, t0: float) -> Iterator[tuple[str, float, Key, str]]:
        """(receiver, received_at, (service, alertname), status) of each alert in notifications after t0."""
        with open(self.path, encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                if record["received_at"] < t0:
                    continue
                for alert in record["payload"].get("alerts", []):
                    labels = alert["labels"]
                    yield (record["path"], record["received_at"], (labels.get("service", ""), labels.get("alertname", "")),
                           alert.get("status", ""))


class AlertStates:
    """Which alerts are pending or firing in Prometheus and active in Alertmanager, by key."""

    def __init__(self, state: native.State):
        self.prometheus = state.component("prometheus").url
        self.alertmanager = state.component("alertmanager").url

    def _get(self, url: str) -> object:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.load(response)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            name = "prometheus" if url.startswith(self.prometheus) else "alertmanager"
            raise native.StackError(f"{name} does not answer {url}: {exc}") from None

    def prometheus_alerts(self) -> list[tuple[dict[str, str], str]]:
        """(labels, state) of every pending or firing alert."""
        data = self._get(f"{self.prometheus}/api/v1/alerts")
        return [(a["labels"], a["state"]) for a in data["data"]["alerts"]]  # type: ignore[index]

    def active(self) -> dict[Key, tuple[dict[str, str], str]]:
        """Every alert Prometheus has pending or firing, or Alertmanager holds unresolved: labels and where."""
        found: dict[Key, tuple[dict[str, str], str]] = {}
        for labels, where in self.prometheus_alerts():
            found[(labels.get("service", ""), labels.get("alertname", ""))] = (labels, f"{where} in Prometheus")
        for alert in self._get(f"{self.alertmanager}/api/v2/alerts?active=true&silenced=true&inhibited=true"):  # type: ignore[union-attr]
            labels = alert["labels"]
            found.setdefault((labels.get("service", ""), labels.get("alertname", "")), (labels, "active in Alertmanager"))
        return found


def inhibited_by(profile: Stack, labels: dict[str, str], plans_: list[Plan]) -> list[str]:
    """The planned alerts that an alert with these labels would inhibit (the spec's inhibit rules)."""
    return sorted({p.alert for p in plans_ for rule in profile.spec.alertmanager.inhibit_rules
                   if all(m.matches(labels.get(m.label, "")) for m in rule.source_matchers)
                   and all(m.matches(p.labels.get(m.label, "")) for m in rule.target_matchers)
                   and all(labels.get(k, "") == p.labels.get(k, "") for k in rule.equal)})


def blocking(profile: Stack, plans_: list[Plan], active: dict[Key, tuple[dict[str, str], str]]) -> list[str]:
    """Active alerts that would make a drill of these plans meaningless: one it drills (Alertmanager
    sends no new notification for an alert already firing) or one that inhibits an alert it drills."""
    drilled = {p.key for p in plans_ if p.fault is not None}
    found = []
    for key, (labels, where) in sorted(active.items()):
        inhibits = inhibited_by(profile, labels, plans_)
        if key in drilled:
            found.append(f"{key[1]} ({where})")
        elif inhibits:
            found.append(f"{key[1]} ({where}; it inhibits {', '.join(sorted(set(inhibits)))})")
    return found


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
        for thread in self.threads:
            thread.join(timeout=70)

    def _loop(self) -> None:
        body = json.dumps(PROMPT).encode()
        while not self.done.is_set():
            request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
            try:
                urllib.request.urlopen(request, timeout=60).read()
            except (urllib.error.URLError, OSError):
                pass  # 500s are the point of an error burst
            self.done.wait(LOAD_PAUSE)


def set_faults(service_url: str, token: str, faults: dict[str, float] | None) -> None:
    method, body = ("POST", json.dumps(faults).encode()) if faults else ("DELETE", None)
    request = urllib.request.Request(f"{service_url}/admin/faults", body, method=method,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise native.StackError(f"the fault endpoint answered {exc.code}: is the service started by `stackgen up` "
                                f"with faults enabled?") from None


def wait(predicate: Callable[[], bool], timeout: float, step: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


@dataclass
class Report:
    results: list[Result]
    skipped: dict[str, str]
    thresholds: list = field(default_factory=list)  # thresholds.Check rows
    left_active: list[str] = field(default_factory=list)
    # --chaos only: what was killed (chaos.Kill), notifications per alert and status, what went wrong
    kills: list = field(default_factory=list)
    deliveries: dict = field(default_factory=dict)
    chaos_problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return (all(r.passed for r in self.results) and all(c.passed for c in self.thresholds)
                and not self.left_active and not self.chaos_problems)


def check_ready(state: native.State, stack_plans: list[Plan], profile: Stack, alerts: AlertStates) -> None:
    """Raise, naming what is wrong, unless the stack can give a meaningful drill."""
    # The alerting path first: with it broken every alert would time out, one by one.
    broken = native.problems(state, native.CORE) + native.problems(
        state, tuple(c.name for c in state.components if c.name not in native.CORE))
    if broken:
        raise native.StackError("the stack is not healthy: " + "; ".join(broken)
                                + " (`stackgen restart NAME` starts one again)")
    found = blocking(profile, stack_plans, alerts.active())
    if found:
        raise native.StackError(f"alerts the drill fires are still active: {', '.join(found)}; wait until they "
                                f"resolve (an earlier drill or real trouble), then drill again")


def run(stack: Stack, run_dir: Path, only: list[str] | str | None = None, timeout: float = 90.0,
        echo: Callable[[str], None] = print, thresholds: bool = True, chaos: bool = False) -> Report:
    """The drill; with `chaos` (ha profile) it kills a Prometheus replica and an Alertmanager peer
    while it runs, skips the threshold step and checks every alert was delivered exactly once."""
    from stackgen.runtime import thresholds as exact

    only = [only] if isinstance(only, str) else only

    state = native.State.load(run_dir.resolve())
    if state is None:
        raise native.StackError(f"no stack is running from {run_dir}: run `stackgen up --profile drill` first")
    profile = drill_stack(stack) if state.profile in ("drill", "ha") else stack  # ha: drill timings, HA topology
    todo, skipped = plans(profile, only)
    every, _ = plans(profile)
    alerts = AlertStates(state)
    check_ready(state, every, profile, alerts)
    inbox = Notifications(Path(state.notifications))
    token = Path(state.admin_token_file).read_text()
    results = [Result(plan) for plan in todo]
    # Group alerts that one fault drives, so each fault is injected once.
    groups: dict[str, list[Result]] = {}
    for result in results:
        key = json.dumps(result.plan.fault, sort_keys=True) + result.plan.service.name
        groups.setdefault(key, []).append(result)
    inhibitors = {p.key for p in every if inhibited_by(profile, p.labels, every)}

    def order(group: list[Result]) -> int:
        """The dead man's switch first; faults that can raise an inhibiting alert after those that cannot (a
        still-resolving critical alert would silence a warning); stopping the service last."""
        fault = group[0].plan.fault
        if fault is None:
            return 0
        if fault == STOP:
            return 3
        return 2 if any(r.plan.key in inhibitors for r in group) else 1

    checks: list = []
    started = time.time()
    monkey = havoc.Chaos(state, sum(1 for g in groups.values() if g[0].plan.fault is not None), echo) if chaos else None
    thresholds = thresholds and not chaos  # the threshold step's exact ratios need one steady Prometheus
    if any(r.plan.fault is not None for r in results):
        echo(f"drill: {WARM_UP_S:.0f}s of clean traffic first, so the SLO windows have history")
        with ExitStack() as loads:
            for name in sorted({r.plan.service.name for r in results if r.plan.fault is not None}):
                loads.enter_context(Load(state.component(name).url))
            time.sleep(WARM_UP_S)
    for group in sorted(groups.values(), key=order):
        # A step waits only for what concerns it: its own alerts and their inhibitors must be quiet.
        _wait_quiet(alerts, profile, [r.plan for r in group], timeout)
        _drill(group, state, inbox, token, timeout, echo,
               monkey if group[0].plan.fault is not None else None)
        if thresholds and order(group) == 2 and group[0].plan.fault == ERROR_BURST:
            checks += exact.step(profile, state, alerts, inbox, token, only, timeout, echo)
    _collect_resolutions(results, inbox, timeout)
    left = _wait_quiet(alerts, profile, every, timeout, raise_=False)
    report = Report(results, skipped, checks, left)
    if monkey is not None:
        report.chaos_problems = monkey.finish(timeout)
        report.kills = monkey.kills
        drilled = {r.plan.key for r in results if r.plan.fault is not None}
        report.deliveries, duplicates = havoc.deliveries(inbox.path, started, drilled)
        report.chaos_problems += duplicates
    return report


def _wait_quiet(alerts: AlertStates, profile: Stack, step: list[Plan], timeout: float,
                raise_: bool = True) -> list[str]:
    """Wait until none of `step`'s alerts nor their inhibitors is active; return what still is after timeout."""
    left: list[str] = []

    def quiet() -> bool:
        nonlocal left
        left = blocking(profile, step, alerts.active())
        return not left

    if not wait(quiet, timeout, step=0.5) and raise_:
        raise native.StackError(f"still active {timeout:.0f}s after the previous step: {', '.join(left)}")
    return left


def _collect_resolutions(results: list[Result], inbox: Notifications, timeout: float) -> None:
    """Alerts whose resolution the drill did not wait for in their own step (see _drill)."""
    pending = [r for r in results if r.cleared_at is not None and r.resolved_after is None]

    def resolved() -> bool:
        notes = list(inbox.since(min(r.cleared_at for r in pending))) if pending else []  # type: ignore[type-var]
        for result in pending:
            times = [at for _, at, name, st in notes if name == result.plan.key and st == "resolved"
                     and at >= result.cleared_at]  # type: ignore[operator]
            if times and result.resolved_after is None:
                result.resolved_after = min(times) - result.cleared_at  # type: ignore[operator]
        return all(r.resolved_after is not None for r in pending)

    if pending and not wait(resolved, timeout):
        for result in pending:
            if result.resolved_after is None and not result.error:
                result.error = f"no resolved notification in {timeout:.0f}s"


def _drill(group: list[Result], state: native.State, inbox: Notifications, token: str, timeout: float,
           echo: Callable[[str], None], chaos: havoc.Chaos | None = None) -> None:
    """Inject one fault, wait for every alert it drives to fire, clear it, and wait for the alerts
    that resolve within a few scrapes; slower ones (SLO pages with minute-long short windows) are
    collected at the end while later steps run."""
    plan = group[0].plan
    service = state.component(plan.service.name)
    echo(f"drill: {', '.join(r.plan.alert for r in group)} <- "
         f"{plan.fault if plan.fault is not None else 'no fault (a fresh heartbeat)'}")
    # No load while the service is stopped and started: its 503s while the model loads would rightly
    # fire the error-ratio alerts, and a target-down alert needs no traffic.
    load = Load(service.url) if plan.fault != STOP else None
    if load:
        load.__enter__()
    try:
        t0 = time.time()
        if plan.fault == STOP:
            native.stop(state, service)
        elif isinstance(plan.fault, dict):
            set_faults(service.url, token, plan.fault)
        step = ", ".join(r.plan.alert for r in group)
        if chaos is not None:
            chaos.on_fault(step)

        def fired() -> bool:
            notes = list(inbox.since(t0))
            for result in group:
                hits = {(r, at) for r, at, name, st in notes if name == result.plan.key and st == "firing"}
                result.reached = sorted({r for r, _ in hits})
                if set(result.plan.receivers) <= set(result.reached) and result.fired_after is None:
                    result.fired_after = max(0.0, min(at for r, at in hits if r in result.plan.receivers) - t0)
            return all(r.fired_after is not None for r in group)

        if not wait(fired, timeout):
            for result in group:
                if result.fired_after is None:
                    result.error = f"no firing notification at {', '.join(result.plan.receivers)} in {timeout:.0f}s"
        if plan.fault is None:
            return
        if chaos is not None:
            chaos.on_fired(step)
        t1 = time.time()
        for result in group:
            result.cleared_at = t1
        if plan.fault == STOP:
            native.start(state, service)
            native.wait_healthy(state, service, timeout)
        else:
            set_faults(service.url, token, None)
        quick = [r for r in group if not r.plan.resolves_late]

        def resolved() -> bool:
            notes = list(inbox.since(t1))
            for result in group:
                times = [at for _, at, name, st in notes if name == result.plan.key and st == "resolved"]
                if times and result.resolved_after is None:
                    result.resolved_after = min(times) - t1
            return all(r.resolved_after is not None for r in quick)

        wait(resolved, timeout)
    finally:
        if load:
            load.__exit__()


def chaos_table(report: Report) -> str:
    """What chaos killed, and each drilled alert's notifications by status (exactly one firing per group)."""
    lines = [f"killed {k.name} (pid {k.pid}) during {k.step}" for k in report.kills]
    rows = [("alert", "firing notifications", "resolved notifications", "sent again after resolved")] + [
        (alert, str(counts["firing"]), str(counts["resolved"]), str(counts["after resolved"]))
        for (_, alert), counts in sorted(report.deliveries.items(), key=lambda item: item[0][1])]
    return "\n".join([*lines, columns(rows), *(f"chaos: {p}" for p in report.chaos_problems)])


def table(results: list[Result], skipped: dict[str, str]) -> str:
    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    header = ("alert", "expected receiver", "receiver reached", "fire s", "expected s", "resolve s", "result")
    rows = [header] + [
        (r.plan.alert, ",".join(r.plan.receivers), ",".join(r.reached) or "-", seconds(r.fired_after),
         seconds(r.plan.expected_fire), seconds(r.resolved_after) if r.plan.fault is not None else "n/a",
         "pass" if r.passed else f"FAIL: {r.failure}")
        for r in results
    ] + [(name, "-", "-", "-", "-", "-", f"skipped: {why}") for name, why in sorted(skipped.items())]
    return columns(rows)


def columns(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)
