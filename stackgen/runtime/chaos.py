"""`stackgen drill --chaos` on the ha profile: SIGKILL one Prometheus replica and one Alertmanager peer
(by the pids `up` recorded) at different moments of the drill, then check what HA promises.

Every drilled alert must reach its receiver exactly once per notification group: a second firing
notification with the same group key and the same alerts is a duplicate (the two replicas' alerts
were not merged, or two peers both sent), an alert listed twice in one notification means the
replica label reached Alertmanager, and a missing one was lost with the dead peer. Afterwards the
killed components are started again with their recorded commands and must be healthy.
"""

from __future__ import annotations

import calendar
import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from stackgen.runtime import native

# Seconds after a step's fault is injected before the Alertmanager peer dies: the alert is pending
# in both replicas, about to fire.
KILL_AFTER_S = 2.0
# Between two kills in one step (when the drill has fewer faulted steps than victims).
KILL_APART_S = 4.0


def _started(alert: dict) -> float:
    """An alert's startsAt as epoch seconds (whole seconds: Prometheus writes up to nanoseconds)."""
    return calendar.timegm(time.strptime(alert.get("startsAt", "1970-01-01T00:00:00")[:19], "%Y-%m-%dT%H:%M:%S"))


@dataclass
class Kill:
    name: str
    pid: int
    at: float  # time.time()
    step: str


def victims(state: native.State) -> list[str]:
    """The second Prometheus replica and the second Alertmanager peer: the drill reads alert states
    from the first of each, so they must survive."""
    found = [next((c.name for c in state.components if c.name.startswith(prefix)), None)
             for prefix in ("prometheus-", "alertmanager-")]
    if None in found:
        raise native.StackError("--chaos needs the ha profile's replicas: start the stack with "
                                "`stackgen up --profile ha`")
    return [name for name in found if name]


@dataclass
class Chaos:
    state: native.State
    steps: int  # how many faulted steps the drill runs
    echo: Callable[[str], None] = print
    kills: list[Kill] = field(default_factory=list)
    _timers: list[threading.Timer] = field(default_factory=list)
    _done: int = 0
    _due: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.order = victims(self.state)

    def on_fault(self, step: str) -> None:
        """A faulted step has injected its fault. The Alertmanager peer dies KILL_AFTER_S later, before
        the alert fires (nothing may be lost with it); in the last step every victim left is due."""
        self._due = self.order[self._done:] if self._done + 1 >= self.steps else self.order[self._done:self._done + 1]
        self._done += 1
        peers = [name for name in self._due if name.startswith("alertmanager")]
        for n, name in enumerate(peers):
            timer = threading.Timer(KILL_AFTER_S + n * KILL_APART_S, self.kill, (name, step))
            timer.daemon = True
            timer.start()
            self._timers.append(timer)

    def on_fired(self, step: str) -> None:
        """The step's alerts were notified, from both replicas (the pair was deduplicated): the
        Prometheus replica dies now, so the resolution has to come from the survivor."""
        for name in self._due:
            if name.startswith("prometheus"):
                self.kill(name, step)

    def kill(self, name: str, step: str) -> None:
        found = native.locate(self.state.run, self.state.component(name))
        if found is None:
            return
        os.kill(found.pid, signal.SIGKILL)
        self.kills.append(Kill(name, found.pid, time.time(), step))
        self.echo(f"chaos: SIGKILL {name} (pid {found.pid}) during {step}")

    def finish(self, timeout: float) -> list[str]:
        """Wait for pending kills, restart every killed component; return what is not healthy after."""
        for timer in self._timers:
            timer.join()
        for kill in self.kills:
            native.restart(self.state.run, kill.name, timeout)
            self.echo(f"chaos: restarted {kill.name}")
        missed = [name for name in self.order if name not in {k.name for k in self.kills}]
        return [f"{name} was never killed (the drill had no step left)" for name in missed] + native.problems(self.state)


def deliveries(path: Path, since: float, keys: set[tuple[str, str]]) -> tuple[dict, list[str]]:
    """Per drilled alert (service, alertname): notifications by status ("firing", "resolved", and
    "after resolved"), and every duplicate found.

    A notification is (receiver, groupKey, status, the set of alerts with their start and status); the
    same one twice before its alerts resolved is a duplicate (an alert that flaps starts again: a new
    startsAt). Once a receiver got an alert's resolution, a peer may still send the "firing" it
    prepared before it saw the resolution in the gossiped log (Alertmanager's cluster delivers at
    least once; ha.PEER_TIMEOUT keeps that window small): counted as "after resolved", not failed.
    Alerts that started before `since` (a service starting while Prometheus scraped it, say) are
    not the drill's and are left out."""
    seen: Counter = Counter()
    counts: dict[tuple[str, str], Counter] = {key: Counter() for key in keys}
    resolved: set[tuple] = set()  # (receiver, episode) where episode = (startsAt, *labels)
    problems = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record["received_at"] < since:
                continue
            payload = record["payload"]
            receiver = record["path"]
            alerts = [((a["labels"].get("service", ""), a["labels"].get("alertname", "")), a.get("status", ""),
                       (a.get("startsAt", "")[:19], *sorted(a["labels"].items())))
                      for a in payload.get("alerts", []) if _started(a) >= since - 1]
            alerts = [a for a in alerts if a[0] in counts]
            if not alerts:
                continue
            listed = Counter((key, st) for key, st, _ in alerts)
            for (key, st), n in listed.items():
                if n > 1:
                    problems.append(f"{key[1]} is {n} times in one {st} notification (labels differ: "
                                    f"{[dict(lbl[1:]) for k, s, lbl in alerts if k == key and s == st]})")
            late = [a for a in alerts if (receiver, a[2]) in resolved]
            for key, st, episode in alerts:
                counts[key]["after resolved" if (receiver, episode) in resolved else st] += 1
            resolved |= {(receiver, episode) for _, st, episode in alerts if st == "resolved"}
            if late:
                continue
            content = (receiver, payload.get("groupKey", ""), payload.get("status", ""),
                       tuple(sorted((episode, st) for _, st, episode in alerts)))
            seen[content] += 1
            if seen[content] == 2:
                problems.append(f"{', '.join(sorted({key[1] for key, _, _ in alerts}))}: the same "
                                f"{content[2]} notification twice at {receiver}")
    return counts, problems
