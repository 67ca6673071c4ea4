"""The real command line: separate API and metrics ports, fast liveness, background model load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from fugatto_lab.server import main

from stackgen.runtime.ports import free_port


def _poll(url: str, want: int, deadline: float) -> httpx2.Response:
    while True:
        try:
            r = httpx2.get(url, timeout=1)
            if r.status_code == want:
                return r
        except httpx2.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer {want} in time")
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.live
def test_server_starts_serves_and_exposes_metrics(tmp_path: Path):
    port, metrics_port = free_port(), free_port()
    env = {**os.environ, "FUGATTO_LOG_DIR": str(tmp_path / "logs"), "LOG_LEVEL": "INFO"}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "fugatto_lab.server", "--port", str(port),
                             "--metrics-port", str(metrics_port), "--device", "cpu"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _poll(f"http://127.0.0.1:{port}/live", 200, started + 15)
        live_after = time.monotonic() - started
        _poll(f"http://127.0.0.1:{port}/ready", 200, started + 30)
        r = httpx2.post(f"http://127.0.0.1:{port}/generate", json={"prompt": "bell", "duration_seconds": 0.2})
        assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
        text = httpx2.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert 'fugatto_requests_total{endpoint="/generate",method="POST",status="200"} 1.0' in text
        assert "fugatto_active_models 1.0" in text
        assert live_after < 5, f"/live took {live_after:.1f}s"
        assert (tmp_path / "logs" / "fugatto_lab.log").stat().st_size > 0
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal for the exit status.
    assert proc.returncode in (0, -15), out.decode()[-2000:]
    assert "service stopped" in [json.loads(line)["message"] for line in out.decode().splitlines()]


def test_cli_refuses_faults_without_token(monkeypatch, capsys):
    monkeypatch.setenv("FUGATTO_FAULTS_ENABLED", "true")
    monkeypatch.delenv("FUGATTO_ADMIN_TOKEN", raising=False)
    assert main(["--port", "0"]) == 2
    assert "FUGATTO_ADMIN_TOKEN" in capsys.readouterr().err
    from fugatto_lab.logging_setup import remove_handlers

    remove_handlers()


@pytest.mark.parametrize("env", [{"TRACING_ENABLED": "maybe"}, {"FUGATTO_MAX_BATCH": "0"}, {"LOG_LEVEL": "LOUD"},
                                 {"FUGATTO_REQUEST_TIMEOUT_S": "0"}, {"FUGATTO_REQUEST_TIMEOUT_S": "soon"}])
def test_invalid_environment_is_a_clear_error(monkeypatch, capsys, env):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main([]) == 2
    assert next(iter(env)) in capsys.readouterr().err or "LOG_LEVEL" in env
    from fugatto_lab.logging_setup import remove_handlers

    remove_handlers()
