"""The drill profile compresses time without touching generated/ and keeps routing intact."""

from __future__ import annotations

from pathlib import Path

from stackgen.resolve import load_stack
from stackgen.runtime.drill import ERROR_BURST, STOP, plans
from stackgen.runtime.native import alertmanager_native_config
from stackgen.runtime.profile import drill_spec, drill_stack
from stackgen.runtime.thresholds import cycle, targets

ROOT = Path(__file__).resolve().parents[2]


def test_drill_profile_compresses_intervals_windows_and_for():
    stack = load_stack(ROOT / "stack.yaml")
    fast = drill_spec(stack.spec)
    assert str(fast.prometheus.scrape_interval) == "1s" and str(fast.prometheus.evaluation_interval) == "1s"
    alerts = {a.name: a for a in fast.services[0].alerts}
    assert str(alerts["HighErrorRate"].for_) == "4s" and str(alerts["HighErrorRate"].window) == "10s"
    assert str(alerts["HighGPUUtilization"].for_) == "20s"
    assert str(fast.alertmanager.route.group_wait) == "1s"
    # repeat intervals shrink too: the dead man's switch's 1m heartbeat comes every 2s, so the drill
    # can ask for a fresh one; the root's 1h becomes 2m
    assert str(fast.alertmanager.route.repeat_interval) == "2m"
    assert str(fast.alertmanager.route.routes[0].repeat_interval) == "2s"
    # the production spec is untouched
    assert str(stack.spec.prometheus.scrape_interval) == "15s"
    assert str(stack.spec.services[0].alerts[0].for_) == "2m"
    assert str(stack.spec.alertmanager.route.routes[0].repeat_interval) == "1m"


def test_native_alertmanager_keeps_routes_and_records_every_receiver():
    stack = load_stack(ROOT / "stack.yaml")
    config = alertmanager_native_config(stack.spec, "http://127.0.0.1:9")
    assert config["route"]["routes"][1]["receiver"] == "critical-alerts"
    receivers = {r["name"]: r["webhook_configs"][0] for r in config["receivers"]}
    assert receivers["critical-alerts"]["url"] == "http://127.0.0.1:9/critical-alerts"
    assert all(set(r) == {"name", "webhook_configs"} for r in config["receivers"])
    assert "smtp_smarthost" not in config["global"]
    # the dead man's switch sends no "resolved": a dying Prometheus's last one would count as a check-in
    assert receivers["deadmans-switch"]["send_resolved"] is False
    assert all(c["send_resolved"] for name, c in receivers.items() if name != "deadmans-switch")


def test_plans_map_alert_kinds_to_faults_and_predicted_receivers():
    stack = load_stack(ROOT / "stack.yaml")
    todo, skipped = plans(drill_stack(stack))
    by_name = {p.alert: p for p in todo}
    assert by_name["HighErrorRate"].fault == ERROR_BURST
    assert by_name["ServiceDown"].fault == STOP
    assert by_name["HighResponseTime"].fault == {"latency_seconds": 12.0}
    assert by_name["Watchdog"].receivers == ["deadmans-switch"]
    # a fresh heartbeat: the 2s repeat plus a group interval, not scrape + evaluation + group_wait
    assert by_name["Watchdog"].expected_fire == 3.0
    assert by_name["GenerateAvailabilityFastBurn"].fault == ERROR_BURST
    assert by_name["GenerateAvailabilityFastBurn"].receivers == ["critical-alerts"]
    assert by_name["GenerateAvailabilityFastBurn"].resolves_late and not by_name["HighErrorRate"].resolves_late
    assert set(skipped) == {"HighMemoryUsage", "GPUMemoryExhaustion", "HighGPUUtilization", "GenerateAvailabilitySlowBurn",
                            "GenerateLatencyFastBurn", "GenerateLatencySlowBurn"}


def test_plans_take_several_alert_names_and_reject_unknown_ones():
    stack = drill_stack(load_stack(ROOT / "stack.yaml"))
    todo, _ = plans(stack, ["ServiceDown", "Watchdog"])
    assert [p.alert for p in todo] == ["ServiceDown", "Watchdog"]
    try:
        plans(stack, ["ServiceDown", "NoSuchAlert"])
    except Exception as exc:  # noqa: BLE001 - the message is the point
        assert "'NoSuchAlert'" in str(exc)
    else:
        raise AssertionError("an unknown alert name must be refused")


def test_threshold_step_holds_every_error_ratio_alert_in_whole_cycles():
    stack = drill_stack(load_stack(ROOT / "stack.yaml"))
    groups = targets(stack, None)
    # both error-ratio alerts of stack.yaml have threshold 0.05 and are held together
    assert {key: sorted(t.alert.name for t in group) for key, group in groups.items()} == {
        ("fugatto-audio-lab", 0.05): ["HighErrorRate", "ModelGenerationFailures"]}
    assert cycle(0.05) == (5, 100)  # 4, 5 and 6 failures in 100: just under, at, just over
    assert cycle(0.2) == (20, 100)
    assert cycle(0.03) == (3, 100)
    assert cycle(0.125) == (13, 104)  # 1/8: whole cycles of 8, at least 100 requests
    assert cycle(0.001) is None  # 1 in 1000 needs more requests per scrape than a drill sends
