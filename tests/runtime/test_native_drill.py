"""End to end on real Prometheus, Alertmanager and the bundled service: `stackgen up` (native, drill
profile), `status`, `drill`, `restart`, `down`. Run under `flock /tmp/stackgen-live.lock` (one live stack
at a time). The first test runs one full drill (every alert and the threshold step, about 3 minutes)
and two shorter ones; the second kills and restarts components."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from stackgen.runtime.native import listeners

pytestmark = [pytest.mark.slow, pytest.mark.live]

ROOT = Path(__file__).resolve().parents[2]
# Alerts the shorter drills fire: the dead man's switch, the warning a leftover critical alert would
# inhibit, and the stop and restart of the service that used to leave error-ratio alerts firing.
SHORT = ["--alert", "Watchdog", "--alert", "HighResponseTime", "--alert", "ServiceDown", "--no-thresholds"]


def _stackgen(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stackgen", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def _up(run: Path, *extra: str) -> str:
    result = _stackgen("up", "--runtime", "native", "--profile", "drill", "--run-dir", run, *extra)
    assert result.returncode == 0, result.stdout + result.stderr
    if "--keep-data" not in extra:
        # `up` hands over a quiet stack: the service, scraped while it was still starting, leaves no
        # ServiceDown pending (a drill started at once refuses to run over one).
        assert _active_alerts(run) == [], "active right after up"
    return result.stdout


def _active_alerts(run: Path) -> list[tuple[str, str]]:
    prometheus = next(c["url"] for c in _state(run)["components"] if c["name"] == "prometheus")
    with urllib.request.urlopen(f"{prometheus}/api/v1/alerts", timeout=5) as response:
        alerts = json.load(response)["data"]["alerts"]
    return [(a["labels"]["alertname"], a["state"]) for a in alerts if a["labels"]["alertname"] != "Watchdog"]


@pytest.fixture
def run(tmp_path):
    """A run directory whose stack is always stopped at the end, passed or failed."""
    folder = tmp_path / "run"
    yield folder
    if (folder / "state.json").exists():
        _stackgen("down", "--runtime", "native", "--run-dir", folder)


def _state(run: Path) -> dict:
    return json.loads((run / "state.json").read_text())


def _ports_and_pids(run: Path) -> tuple[dict[str, int], dict[str, int]]:
    components = _state(run)["components"]
    pids = {p.stem: int(p.read_text()) for p in (run / "pids").glob("*.pid")}
    return {c["name"]: c["port"] for c in components}, pids


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _down_leaves_nothing(run: Path) -> None:
    ports, pids = _ports_and_pids(run)
    assert len(pids) == 2 * len(ports)  # each component and its log relay
    result = _stackgen("down", "--runtime", "native", "--run-dir", run)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not [name for name, pid in pids.items() if _alive(pid)], "left running"
    assert {name: listeners(port) for name, port in ports.items()} == dict.fromkeys(ports, [])
    assert not (run / "pids").exists() and not (run / "state.json").exists()


def _drill(run: Path, *args: str, timeout: float = 420) -> tuple[dict[str, list[str]], list[list[str]]]:
    """The alert table's rows by alert, and the threshold table's rows (after the blank line)."""
    result = _stackgen("drill", "--run-dir", run, *args, timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    alerts, _, thresholds = result.stdout.partition("\n\n")
    return ({line.split()[0]: line.split() for line in alerts.splitlines() if line[:1].isupper()},
            [line.split() for line in thresholds.splitlines()[1:] if line[:1].isupper()])


def test_up_drill_drill_down_up_drill_down(run):
    out = _up(run)
    for name in ("prometheus", "alertmanager", "webhook-receiver", "fugatto-audio-lab"):
        assert f"  {name}" in out and "http://127.0.0.1:" in out
    assert "grafana              skipped:" in out and "logstash             skipped:" in out
    assert "FUGATTO_ADMIN_TOKEN" not in (run / "state.json").read_text()
    assert oct((run / "admin-token").stat().st_mode & 0o777) == "0o600"

    status = _stackgen("status", "--run-dir", run)
    assert status.returncode == 0, status.stdout
    lines = {line.split()[0]: line.split() for line in status.stdout.splitlines()}
    assert lines["prometheus"][1] == lines["alertmanager"][1] == lines["fugatto-audio-lab"][1] == "healthy"
    assert lines["jaeger"][1] == "skipped" and lines["profile"] == ["profile", "drill"]
    assert lines["notifications"] == ["notifications", str(run.resolve() / "notifications.jsonl")]
    assert "metrics" in lines["fugatto-audio-lab"] and "found" in lines["prometheus"]

    again = _stackgen("up", "--runtime", "native", "--run-dir", run)
    assert again.returncode == 1 and "already running" in again.stderr and "stackgen down" in again.stderr
    assert "starting" not in again.stdout  # no announcement of a start that does not happen

    rows, held = _drill(run)
    for alert, receiver in [("HighErrorRate", "critical-alerts"), ("ModelGenerationFailures", "critical-alerts"),
                            ("HighResponseTime", "warning-alerts"), ("ServiceDown", "critical-alerts"),
                            ("Watchdog", "deadmans-switch"), ("GenerateAvailabilityFastBurn", "critical-alerts")]:
        assert rows[alert][1] == receiver and rows[alert][2] == receiver and rows[alert][-1] == "pass", rows[alert]
    assert "skipped: no fault can drive a threshold alert safely" in " ".join(rows["HighMemoryUsage"])
    # the threshold step, for both error-ratio alerts of stack.yaml (they share 0.05): alert, threshold,
    # ratio held, (k/n), expected ("fire" or "no fire"), what was seen, result
    assert sorted((r[0], r[2], r[4], r[-1]) for r in held) == sorted(
        (alert, ratio, expected, "pass") for alert in ("HighErrorRate", "ModelGenerationFailures")
        for ratio, expected in (("0.04", "no"), ("0.05", "no"), ("0.06", "fire")))

    _drill(run, *SHORT)  # the first drill left the stack quiet: nothing is still firing or inhibiting
    _down_leaves_nothing(run)
    notifications = (run / "notifications.jsonl").read_text()  # after down: heartbeats arrive every 2 s

    (run / "alertmanager" / "data" / "stale").write_text("an earlier run's notification log")
    _up(run)
    assert not (run / "alertmanager" / "data" / "stale").exists()  # fresh data
    assert (run / "notifications.1.jsonl").read_text() == notifications  # the evidence is kept
    _drill(run, *SHORT)
    _down_leaves_nothing(run)


def test_a_dead_prometheus_is_named_restart_brings_parts_back_and_down_finds_them_all(run):
    (run / "prometheus" / "data").mkdir(parents=True)
    (run / "prometheus" / "data" / "kept").write_text("an earlier run's series")
    _up(run, "--keep-data")
    assert (run / "prometheus" / "data" / "kept").exists()  # --keep-data keeps it
    _, pids = _ports_and_pids(run)

    os.kill(pids["prometheus"], signal.SIGKILL)
    dead = _stackgen("drill", "--run-dir", run, "--alert", "Watchdog", timeout=120)
    assert dead.returncode == 1
    assert "prometheus is not running" in dead.stderr and "stackgen restart" in dead.stderr, dead.stderr
    status = _stackgen("status", "--run-dir", run)
    assert status.returncode == 1 and "prometheus           stopped" in status.stdout

    restarted = _stackgen("restart", "prometheus", "--run-dir", run)
    assert restarted.returncode == 0 and "restarted prometheus" in restarted.stdout, restarted.stderr
    assert _drill(run, "--alert", "Watchdog")[0]["Watchdog"][-1] == "pass"

    before = _ports_and_pids(run)[1]["alertmanager"]
    assert _stackgen("restart", "alertmanager", "--run-dir", run).returncode == 0
    after = _ports_and_pids(run)[1]["alertmanager"]
    assert after != before and not _alive(before)

    # The webhook receiver restarted by hand: no pid file knows it, its port does.
    webhook = next(c for c in _state(run)["components"] if c["name"] == "webhook-receiver")
    os.kill(_ports_and_pids(run)[1]["webhook-receiver"], signal.SIGTERM)
    deadline = time.monotonic() + 10
    while listeners(webhook["port"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    by_hand = subprocess.Popen(webhook["argv"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        while not listeners(webhook["port"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        status = _stackgen("status", "--run-dir", run)
        assert status.returncode == 0, status.stdout
        rows = {line.split()[0]: line for line in status.stdout.splitlines()}
        assert "healthy" in rows["alertmanager"] and "healthy" in rows["prometheus"]
        assert f"(pid {by_hand.pid}, found by port)" in rows["webhook-receiver"]
        ports = {c["name"]: c["port"] for c in _state(run)["components"]}
        pids = _ports_and_pids(run)[1]
        assert _stackgen("down", "--runtime", "native", "--run-dir", run).returncode == 0
        assert by_hand.wait(timeout=15) is not None
        assert not [name for name, pid in pids.items() if _alive(pid)]
        assert {name: listeners(port) for name, port in ports.items()} == dict.fromkeys(ports, [])
    finally:
        by_hand.kill()


def test_compose_runtime_without_engine_is_a_clear_error(tmp_path):
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    result = subprocess.run([sys.executable, "-m", "stackgen", "up", "--runtime", "compose"], cwd=ROOT,
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1
    assert "no Docker engine is reachable" in result.stderr and "--runtime native" in result.stderr
