"""A throwaway Prometheus with a known request history (backfilled by promtool, as tests/review/test_backtest.py
does), for the previews drawn from data."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.backfilled_prometheus import backfilled_prometheus

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


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory):
    with backfilled_prometheus(tmp_path_factory.mktemp("prometheus"), history()) as url:
        yield url


def query_range_by_route(url: str, expr: str, start: float, end: float, step: int) -> dict[str, list[tuple[float, float]]]:
    """Prometheus's own answer to a request-rate query, keyed as the panel's legend names its series."""
    params = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{url}/api/v1/query_range?{params}", timeout=10) as response:
        result = json.load(response)["data"]["result"]
    return {f'{r["metric"].get("method", "")} {r["metric"].get("endpoint", "")}': [(float(t), float(v)) for t, v in r["values"]]
            for r in result}
