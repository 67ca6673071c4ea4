"""The drill profile compresses time without touching generated/ and keeps routing intact."""

from __future__ import annotations

from pathlib import Path

from stackgen.resolve import load_stack
from stackgen.runtime.drill import ERROR_BURST, STOP, plans
from stackgen.runtime.native import alertmanager_native_config
from stackgen.runtime.profile import drill_spec, drill_stack

ROOT = Path(__file__).resolve().parents[2]


def test_drill_profile_compresses_intervals_windows_and_for():
    stack = load_stack(ROOT / "stack.yaml")
    fast = drill_spec(stack.spec)
    assert str(fast.prometheus.scrape_interval) == "1s" and str(fast.prometheus.evaluation_interval) == "1s"
    alerts = {a.name: a for a in fast.services[0].alerts}
    assert str(alerts["HighErrorRate"].for_) == "4s" and str(alerts["HighErrorRate"].window) == "10s"
    assert str(alerts["HighGPUUtilization"].for_) == "20s"
    assert str(fast.alertmanager.route.group_wait) == "1s"
    # the production spec is untouched
    assert str(stack.spec.prometheus.scrape_interval) == "15s"
    assert str(stack.spec.services[0].alerts[0].for_) == "2m"


def test_native_alertmanager_keeps_routes_and_records_every_receiver():
    stack = load_stack(ROOT / "stack.yaml")
    config = alertmanager_native_config(stack.spec, "http://127.0.0.1:9")
    assert config["route"]["routes"][1]["receiver"] == "critical-alerts"
    assert {r["name"]: r["webhook_configs"][0]["url"] for r in config["receivers"]}["critical-alerts"] \
        == "http://127.0.0.1:9/critical-alerts"
    assert all(set(r) == {"name", "webhook_configs"} for r in config["receivers"])
    assert "smtp_smarthost" not in config["global"]


def test_plans_map_alert_kinds_to_faults_and_predicted_receivers():
    stack = load_stack(ROOT / "stack.yaml")
    todo, skipped = plans(drill_stack(stack))
    by_name = {p.alert: p for p in todo}
    assert by_name["HighErrorRate"].fault == ERROR_BURST
    assert by_name["ServiceDown"].fault == STOP
    assert by_name["HighResponseTime"].fault == {"latency_seconds": 12.0}
    assert by_name["Watchdog"].receivers == ["deadmans-switch"]
    assert by_name["GenerateAvailabilityFastBurn"].fault == ERROR_BURST
    assert by_name["GenerateAvailabilityFastBurn"].receivers == ["critical-alerts"]
    assert set(skipped) == {"HighMemoryUsage", "HighGPUUtilization", "GenerateAvailabilitySlowBurn",
                            "GenerateLatencyFastBurn", "GenerateLatencySlowBurn"}
