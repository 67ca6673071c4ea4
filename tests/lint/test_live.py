"""`stackgen lint --live`: the contract against a handwritten exposition and against the real service."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stackgen.cli import app
from stackgen.pipeline import lint
from stackgen.runtime.ports import free_port

from .conftest import REPO

# The contract minus fugatto_queue_depth (missing), plus fugatto_cache_hits_total (undeclared), with
# fugatto_requests_total missing its `status` label and carrying `user` instead; python_/process_
# collectors and _created series are not contract metrics and must be ignored.
EXPOSITION = """\
# HELP fugatto_requests_total HTTP requests.
# TYPE fugatto_requests_total counter
fugatto_requests_total{method="POST",endpoint="/generate",user="alice"} 3.0
# HELP fugatto_requests_created HTTP requests.
# TYPE fugatto_requests_created gauge
fugatto_requests_created{method="POST",endpoint="/generate",user="alice"} 1.7e9
# HELP fugatto_request_duration_seconds Latency.
# TYPE fugatto_request_duration_seconds histogram
fugatto_request_duration_seconds_bucket{method="POST",endpoint="/generate",le="+Inf"} 3.0
fugatto_request_duration_seconds_sum{method="POST",endpoint="/generate"} 1.5
fugatto_request_duration_seconds_count{method="POST",endpoint="/generate"} 3.0
# HELP fugatto_audio_generation_seconds Synthesis time.
# TYPE fugatto_audio_generation_seconds histogram
# HELP fugatto_audio_generations_total Generations.
# TYPE fugatto_audio_generations_total counter
fugatto_audio_generations_total{model="m",success="true"} 3.0
# HELP fugatto_memory_usage_bytes RSS.
# TYPE fugatto_memory_usage_bytes gauge
fugatto_memory_usage_bytes 1.0e8
# HELP fugatto_model_load_seconds Load time.
# TYPE fugatto_model_load_seconds histogram
fugatto_model_load_seconds_bucket{model="m",le="+Inf"} 1.0
fugatto_model_load_seconds_sum{model="m"} 2.0
fugatto_model_load_seconds_count{model="m"} 1.0
# HELP fugatto_active_models Models.
# TYPE fugatto_active_models gauge
fugatto_active_models 1.0
# HELP fugatto_batch_size Batch.
# TYPE fugatto_batch_size histogram
fugatto_batch_size_bucket{le="+Inf"} 3.0
fugatto_batch_size_sum 3.0
fugatto_batch_size_count 3.0
# HELP fugatto_cache_hits_total Cache hits.
# TYPE fugatto_cache_hits_total counter
fugatto_cache_hits_total 7.0
# HELP python_gc_objects_collected_total Objects collected during gc
# TYPE python_gc_objects_collected_total counter
python_gc_objects_collected_total{generation="0"} 10.0
# HELP process_cpu_seconds_total Total user and system CPU time.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 1.0
"""


@pytest.fixture
def handwritten() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            body = EXPOSITION.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/metrics"
    finally:
        server.shutdown()
        server.server_close()


def test_handwritten_exposition_missing_extra_and_wrong_labels(committed, handwritten):
    stack, artifacts = committed
    found = [f for f in lint(stack, artifacts, REPO, live=handwritten) if f.rule.startswith("live-")]
    by_rule: dict[str, list] = {}
    for f in found:
        by_rule.setdefault(f.rule, []).append(f)
    assert set(by_rule) == {"live-missing-metric", "live-optional-absent", "live-undeclared-metric",
                            "live-label-mismatch"}
    [missing] = by_rule["live-missing-metric"]
    assert "does not expose fugatto_queue_depth" in missing.message and missing.severity == "error"
    assert missing.location().endswith("services[0].metrics[9].name")
    assert sorted(f.message.split(" expose ")[1].split(" ")[0] for f in by_rule["live-optional-absent"]) == [
        "fugatto_gpu_memory_usage_bytes", "fugatto_gpu_utilization_percent"]
    assert all(f.severity == "warning" for f in by_rule["live-optional-absent"])
    [extra] = by_rule["live-undeclared-metric"]  # python_*, process_* and *_created ignored
    assert "counter fugatto_cache_hits" in extra.message and extra.severity == "error"
    [labels] = by_rule["live-label-mismatch"]
    assert labels.location().endswith("services[0].metrics[0].labels")
    assert "exposed but not declared: user" in labels.message
    assert "declared but not exposed: status" in labels.message
    # a family with no samples yet (fugatto_audio_generation_seconds) is present; labels unknown, no finding


def test_live_via_cli_exits_1_and_unreachable_is_an_error(handwritten):
    runner = CliRunner()
    result = runner.invoke(app, ["lint", "--spec", str(REPO / "stack.yaml"), "--live", handwritten])
    assert result.exit_code == 1 and "[live-missing-metric]" in result.output
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/metrics"
    result = runner.invoke(app, ["lint", "--spec", str(REPO / "stack.yaml"), "--live", dead])
    assert result.exit_code == 1 and "[live-unreachable]" in result.output
    result = runner.invoke(app, ["lint", "--spec", str(REPO / "stack.yaml"), "--live", dead, "--service", "nope"])
    assert result.exit_code == 2 and "'nope' is not a service" in result.output


def _wait_ready(url: str, proc: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the service exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} not ready in time")


@pytest.mark.slow
@pytest.mark.live
def test_real_service_satisfies_the_contract(tmp_path: Path):
    port, metrics_port = free_port(), free_port()
    env = {**os.environ, "FUGATTO_LOG_DIR": str(tmp_path / "logs")}
    proc = subprocess.Popen([sys.executable, "-m", "fugatto_lab.server", "--host", "127.0.0.1", "--port", str(port),
                             "--metrics-port", str(metrics_port), "--device", "cpu"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(f"http://127.0.0.1:{port}/ready", proc, time.monotonic() + 60)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/generate", method="POST",
                                         data=b'{"prompt": "bell", "duration_seconds": 0.2}',
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as r:
            assert r.status == 200
        # Named, so a spec without the service is an error rather than a comparison against nothing.
        result = CliRunner().invoke(app, ["lint", "--spec", str(REPO / "stack.yaml"), "--service", "fugatto-audio-lab",
                                          "--live", f"http://127.0.0.1:{metrics_port}/metrics"])
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert result.exit_code == 0, result.output
    # labelled families now have samples, so their label sets were compared; only GPU gauges may be absent
    live = [line for line in result.output.splitlines() if "[live-" in line]
    assert all("[live-optional-absent]" in line and "fugatto_gpu_" in line for line in live), result.output
