"""The bundled service's real log lines carry every field of the declared log schema.

Runs `python -m fugatto_lab.server` with its log folder in a temporary directory, makes a health
check and one generation, then reads the JSON lines the service wrote to its log file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from stackgen.runtime.ports import free_port

pytestmark = [pytest.mark.slow, pytest.mark.live]

STARTUP_TIMEOUT_S = 60


def _request(url: str, body: dict | None = None, timeout: float = 30) -> int:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url,
        data=data,
        method="POST" if body is not None else "GET",
        headers={"Content-Type": "application/json", "X-User-Id": "schema-test"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture(scope="module")
def service_log_lines(tmp_path_factory) -> list[dict]:
    log_dir = tmp_path_factory.mktemp("fugatto-logs")
    port, metrics_port, dead_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "FUGATTO_LOG_DIR": str(log_dir),
        "LOG_LEVEL": "INFO",
        "FUGATTO_DEVICE": "cpu",
        # Every request traced, so trace_id/span_id appear (they are on the log lines of sampled
        # requests only); the exporter points at a closed port and just drops spans.
        "TRACING_ENABLED": "true",
        "OTEL_TRACES_SAMPLER": "parentbased_always_on",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{dead_port}",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fugatto_lab.server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--metrics-port",
            str(metrics_port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"the service exited with {process.returncode}: {process.stderr.read()[-2000:]}")
            try:
                if _request(f"{base}/ready", timeout=2) == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the service was not ready within {STARTUP_TIMEOUT_S}s")
            time.sleep(0.2)
        assert _request(f"{base}/health") == 200
        assert (
            _request(f"{base}/generate", {"prompt": "a calm 440 Hz sine tone", "duration_seconds": 0.5})
            == 200
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    path = log_dir / "fugatto_lab.log"
    assert path.exists(), f"no log file at {path}"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_every_schema_field_appears_in_real_log_lines(service_log_lines, stack):
    logs = stack.spec.services[0].logs
    seen = set().union(*(line.keys() for line in service_log_lines))
    missing = [f.name for f in logs.fields if f.name not in seen]
    assert missing == [], f"schema fields the service never wrote: {missing}"


def test_required_fields_are_on_every_line(service_log_lines, stack):
    required = [f.name for f in stack.spec.services[0].logs.fields if f.required]
    for line in service_log_lines:
        assert [name for name in required if name not in line] == [], line


def test_request_completion_lines_match_the_schema_types(service_log_lines):
    completed = [
        line for line in service_log_lines if line.get("endpoint") == "/generate" and "duration" in line
    ]
    assert completed, "no request-completion line for /generate"
    line = completed[-1]
    assert isinstance(line["duration"], float) and line["method"] == "POST" and int(line["status"]) == 200
    assert line["timestamp"].startswith("20") and "T" in line["timestamp"]
    assert line["user_id"] == "schema-test" and line["request_id"]
