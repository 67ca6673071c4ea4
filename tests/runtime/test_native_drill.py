"""End to end: `stackgen up` (native, drill profile), `status`, `drill`, `down` on real Prometheus,
Alertmanager and the bundled service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _stackgen(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stackgen", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    result = _stackgen("up", "--runtime", "native", "--profile", "drill", "--run-dir", str(run))
    assert result.returncode == 0, result.stdout + result.stderr
    yield run, result.stdout
    _stackgen("down", "--runtime", "native", "--run-dir", str(run))


def _pids(run: Path) -> dict[str, int]:
    return {c["name"]: c["pid"] for c in json.loads((run / "state.json").read_text())["components"]}


def test_up_prints_urls_and_skips_what_cannot_run_here(stack):
    run, out = stack
    for name in ("prometheus", "alertmanager", "webhook-receiver", "fugatto-audio-lab"):
        assert f"  {name}" in out and "http://127.0.0.1:" in out
    assert "grafana              skipped:" in out and "logstash             skipped:" in out
    assert "FUGATTO_ADMIN_TOKEN" not in (run / "state.json").read_text()
    assert oct((run / "admin-token").stat().st_mode & 0o777) == "0o600"


def test_status_reports_every_component_healthy(stack):
    run, _ = stack
    result = _stackgen("status", "--run-dir", str(run))
    assert result.returncode == 0, result.stdout
    lines = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()}
    assert lines["prometheus"] == lines["alertmanager"] == lines["fugatto-audio-lab"] == "healthy"
    assert lines["jaeger"] == "skipped"


def test_second_up_says_a_stack_is_running(stack):
    run, _ = stack
    before = _pids(run)
    result = _stackgen("up", "--runtime", "native", "--run-dir", str(run))
    assert result.returncode == 1
    assert "already running" in result.stderr and "stackgen down" in result.stderr
    assert "starting" not in result.stdout  # no announcement of a start that does not happen
    assert _pids(run) == before


def test_drill_fires_every_drillable_alert_at_its_receiver(stack):
    run, _ = stack
    result = _stackgen("drill", "--run-dir", str(run), timeout=400)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line[:1].isupper()}
    for alert, receiver in [("HighErrorRate", "critical-alerts"), ("ModelGenerationFailures", "critical-alerts"),
                            ("HighResponseTime", "warning-alerts"), ("ServiceDown", "critical-alerts"),
                            ("Watchdog", "deadmans-switch")]:
        row = rows[alert]
        assert row[1] == receiver and row[2] == receiver and row[-1] == "pass", row
    for alert in ("HighErrorRate", "ModelGenerationFailures", "ServiceDown"):
        fired, expected = float(rows[alert][3]), float(rows[alert][4])
        # scrape + evaluation + for + group_wait, plus the few seconds a rate window needs to cross the ratio
        assert fired <= expected + 8, rows[alert]
    assert "skipped: no fault can drive a threshold alert safely" in " ".join(rows["HighMemoryUsage"])


def test_down_stops_exactly_what_up_started(stack):
    run, _ = stack
    pids = _pids(run)
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        result = _stackgen("down", "--runtime", "native", "--run-dir", str(run))
        assert result.returncode == 0
        for name, pid in pids.items():
            assert not Path(f"/proc/{pid}").exists() or _zombie(pid), f"{name} still running"
        assert bystander.poll() is None, "down must not touch processes it did not start"
        assert _stackgen("status", "--run-dir", str(run)).returncode == 1
    finally:
        bystander.kill()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_compose_runtime_without_engine_is_a_clear_error(tmp_path):
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    result = subprocess.run([sys.executable, "-m", "stackgen", "up", "--runtime", "compose"], cwd=ROOT,
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1
    assert "no Docker engine is reachable" in result.stderr and "--runtime native" in result.stderr
