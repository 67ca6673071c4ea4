"""The drill's rules that keep it from passing by accident, on recorded notifications (no live stack)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from stackgen.resolve import load_stack
from stackgen.runtime import native
from stackgen.runtime.drill import Notifications, Result, _drill, blocking, plans
from stackgen.runtime.ports import free_port
from stackgen.runtime.profile import drill_stack

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "fugatto-audio-lab"


def _notify(path: Path, receiver: str, alertname: str, status: str, at: float) -> None:
    record = {"path": receiver, "received_at": at,
              "payload": {"alerts": [{"status": status, "labels": {"alertname": alertname, "service": SERVICE}}]}}
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def _watchdog(tmp_path: Path) -> tuple[Result, native.State, Notifications]:
    stack = drill_stack(load_stack(ROOT / "stack.yaml"))
    plan = next(p for p in plans(stack, ["Watchdog"])[0])
    unreachable = native.Component(SERVICE, ["x"], f"http://127.0.0.1:{free_port()}", "", port=1)
    state = native.State(str(tmp_path), "drill", [unreachable], {}, str(tmp_path / "n.jsonl"), "")
    (tmp_path / "n.jsonl").write_text("")
    return Result(plan), state, Notifications(tmp_path / "n.jsonl")


def test_the_dead_mans_switch_needs_a_heartbeat_sent_after_the_check_began(tmp_path):
    result, state, inbox = _watchdog(tmp_path)
    _notify(inbox.path, "deadmans-switch", "Watchdog", "firing", time.time() - 5)  # from before: not evidence
    _drill([result], state, inbox, "", timeout=0.6, echo=lambda _: None)
    assert not result.passed and "no firing notification at deadmans-switch" in result.error


def test_a_fresh_heartbeat_passes(tmp_path):
    result, state, inbox = _watchdog(tmp_path)
    beat = threading.Timer(0.5, lambda: _notify(inbox.path, "deadmans-switch", "Watchdog", "firing", time.time()))
    beat.start()
    _drill([result], state, inbox, "", timeout=5, echo=lambda _: None)
    beat.join()
    assert result.passed and 0.4 < result.fired_after < 3, result


def test_a_heartbeat_at_the_wrong_receiver_does_not_count(tmp_path):
    result, state, inbox = _watchdog(tmp_path)
    threading.Timer(0.2, lambda: _notify(inbox.path, "web.hook", "Watchdog", "firing", time.time())).start()
    _drill([result], state, inbox, "", timeout=1.0, echo=lambda _: None)
    assert not result.passed and result.reached == ["web.hook"]


def test_an_alert_firing_later_than_expected_plus_slack_fails():
    stack = drill_stack(load_stack(ROOT / "stack.yaml"))
    plan = next(p for p in plans(stack, ["HighErrorRate"])[0])
    late = Result(plan, reached=["critical-alerts"], fired_after=plan.expected_fire + 6.5, resolved_after=3.0)
    in_time = Result(plan, reached=["critical-alerts"], fired_after=plan.expected_fire + 5.5, resolved_after=3.0)
    assert in_time.passed and not late.passed
    assert late.failure == f"fired after {plan.expected_fire + 6.5:.1f}s, later than expected {plan.expected_fire:.1f}s + 6s"


def test_active_drilled_alerts_and_their_inhibitors_block_a_drill():
    stack = drill_stack(load_stack(ROOT / "stack.yaml"))
    every, _ = plans(stack)
    labels = {"alertname": "HighErrorRate", "service": SERVICE, "severity": "critical"}
    assert blocking(stack, every, {(SERVICE, "HighErrorRate"): (labels, "firing in Prometheus")}) == [
        "HighErrorRate (firing in Prometheus)"]
    # a critical alert the drill does not drill still silences the warning it does
    latency_page = {"alertname": "GenerateLatencyFastBurn", "service": SERVICE, "severity": "critical"}
    assert blocking(stack, every, {(SERVICE, "GenerateLatencyFastBurn"): (latency_page, "active in Alertmanager")}) == [
        "GenerateLatencyFastBurn (active in Alertmanager; it inhibits HighResponseTime)"]
    # the heartbeat and a ticket (warning) block nothing
    quiet = {(SERVICE, "Watchdog"): ({"alertname": "Watchdog", "service": SERVICE, "severity": "info"}, "firing"),
             (SERVICE, "GenerateAvailabilitySlowBurn"): ({"alertname": "GenerateAvailabilitySlowBurn", "service": SERVICE,
                                                          "severity": "warning"}, "firing")}
    assert blocking(stack, every, quiet) == []
    # another service's critical alert does not inhibit this one's warnings (equal: [service])
    other = {"alertname": "HighErrorRate", "service": "other", "severity": "critical"}
    warning = [p for p in every if p.alert == "HighResponseTime"]
    assert blocking(stack, warning, {("other", "HighErrorRate"): (other, "firing")}) == []
