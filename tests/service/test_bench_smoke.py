"""The service benchmark reaches into the service's internals (its `cost` scenario drives the
middleware and the batch worker's tracing in-process), so an internal change can break it
without any other test noticing: run that scenario once, briefly, and check what it reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.live]

ROOT = Path(__file__).resolve().parents[2]


def test_cost_scenario_runs_and_reports_every_configuration(tmp_path):
    out = tmp_path / "cost.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "service_bench.py"), "cost", "--rounds", "1", "--seconds", "1",
         "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=240, env={**os.environ, "BENCH_LOG_DIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    cost = json.loads(out.read_text())
    assert set(cost["cost_us"]) == {"off", "metrics", "metrics + tracing, none sampled", "metrics + tracing, all sampled"}
    assert all(us > 0 for us in cost["cost_us"].values())
    assert cost["loaded_request_us"] > 0
    # Tracing every request costs measurably more than tracing none: the scenario measures something.
    assert cost["cost_us"]["metrics + tracing, all sampled"] > cost["cost_us"]["metrics + tracing, none sampled"]
