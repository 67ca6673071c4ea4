"""A throwaway Prometheus with a known request history (backfilled by promtool, as tests/review/test_backtest.py
does), for the previews drawn from data."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from stackgen.checks.tools import find

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_700_000_000  # the history's first sample
SPAN = 3600
STEP = 10
# fugatto_requests_total grows by this much per 10 s step: rate() reads 0.2/s and 0.5/s
INCREMENTS = {("GET", "/health"): 2, ("POST", "/generate"): 5}


def history() -> str:
    lines = ["# HELP fugatto_requests Requests, made up.", "# TYPE fugatto_requests counter"]
    for (method, endpoint), step_increment in INCREMENTS.items():
        labels = f'job="fugatto-audio-lab",instance="127.0.0.1:8000",method="{method}",endpoint="{endpoint}",status="200"'
        lines += [f"fugatto_requests_total{{{labels}}} {i * step_increment} {T0 + i * STEP}"
                  for i in range(SPAN // STEP + 1)]
    return "\n".join([*lines, "# EOF", ""])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory):
    root = tmp_path_factory.mktemp("prometheus")
    (root / "history.om").write_text(history())
    data = root / "data"
    subprocess.run([find("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(root / "history.om"), str(data)],
                   check=True, capture_output=True, timeout=60)
    (root / "prometheus.yml").write_text("global: {}\n")
    port = _free_port()
    log = open(root / "prometheus.log", "wb")  # noqa: SIM115 - the child's
    process = subprocess.Popen([find("prometheus"), f"--config.file={root / 'prometheus.yml'}",
                                f"--storage.tsdb.path={data}", f"--web.listen-address=127.0.0.1:{port}",
                                "--storage.tsdb.retention.time=100y", "--log.level=warn"],
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, (root / "prometheus.log").read_text()
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
