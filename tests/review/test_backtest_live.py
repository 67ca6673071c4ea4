"""The backtest against the real thing: the native stack (drill profile) with the bundled service. An error burst
injected through the service's /admin/faults endpoint, under a steady request load, makes Prometheus's own rule
manager fire and resolve HighErrorRate and ModelGenerationFailures, twice; backtesting the rules Prometheus has
loaded over the same period must count what the rule manager recorded in its ALERTS series.

Starts processes: run it under `flock /tmp/stackgen-live.lock` like every live test.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from stackgen.review import backtest as bt
from stackgen.review.backtest import BacktestCase, Episodes, backtest, episodes, hold_steps
from stackgen.runtime.drill import Load

pytestmark = [pytest.mark.slow, pytest.mark.live]

ROOT = Path(__file__).resolve().parents[2]
UNDER_TEST = ("HighErrorRate", "ModelGenerationFailures")  # the error burst drives both
ERROR_BURST = {"error_rate": 0.5, "generation_failure_rate": 0.5}
BURSTS = 2


def _stackgen(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stackgen", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def _api(url: str, path: str, **params: str) -> object:
    body = urllib.parse.urlencode(params).encode() if params else None
    with urllib.request.urlopen(f"{url}{path}", body, timeout=10) as response:
        return json.load(response)["data"]


def _active(url: str, state: str | None = None) -> set[str]:
    return {a["labels"]["alertname"] for a in _api(url, "/api/v1/alerts")["alerts"]
            if a["labels"]["alertname"] in UNDER_TEST and (state is None or a["state"] == state)}


def _wait(predicate, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} within {timeout:.0f}s"
        time.sleep(0.5)


def _faults(service: str, token: str, faults: dict[str, float] | None) -> None:
    method, body = ("POST", json.dumps(faults).encode()) if faults else ("DELETE", None)
    request = urllib.request.Request(f"{service}/admin/faults", body, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    work = tmp_path_factory.mktemp("live")
    # A snapshot of the bundled spec: edits to the checkout's stack.yaml during the run cannot reach the stack.
    shutil.copy(ROOT / "stack.yaml", work / "stack.yaml")
    spec, run = work / "stack.yaml", work / "run"
    # (the drill profile: scrape and evaluation every second, `for` and rate windows divided by 30)
    result = _stackgen("up", "--runtime", "native", "--profile", "drill", "--spec", str(spec),
                       "--out", str(work / "generated"), "--run-dir", str(run))
    assert result.returncode == 0, result.stdout + result.stderr
    try:
        state = json.loads((run / "state.json").read_text())
        urls = {c["name"]: c["url"] for c in state["components"]}
        yield urls["prometheus"], urls["fugatto-audio-lab"], (run / "admin-token").read_text()
    finally:
        _stackgen("down", "--runtime", "native", "--run-dir", str(run))


def _recorded(url: str, alert: str, hold: int, interval: float, start: float, end: float) -> Episodes:
    """Episodes as the rule manager recorded them: one ALERTS{alertstate="firing"} sample per firing evaluation.

    Consecutive samples further apart than hold + 1 intervals belong to different episodes: a resolve and
    re-fire leaves at least hold + 2 intervals between firing samples (one evaluation without the series, then
    `for` pending again), while a missed iteration of a busy rule group leaves a shorter gap and does not
    change the alert's state.
    """
    selector = f'ALERTS{{alertname="{alert}",alertstate="firing"}}[{round((end - start) * 1000)}ms]'
    series = _api(url, "/api/v1/query", query=selector, time=f"{end:.3f}")["result"]
    steps = []
    for one in series:
        stamps = [float(t) for t, _ in one["values"]]
        # Map to a grid of this series' own evaluations, closing gaps of missed iterations.
        indices, index = [0], 0
        for before, after in zip(stamps, stamps[1:], strict=False):
            gap = round((after - before) / interval)
            index += 1 if gap <= hold + 1 else gap
            indices.append(index)
        steps.append(indices)
    return episodes(steps, 0, interval, (0, max((s[-1] for s in steps), default=0)))


def test_backtest_counts_what_prometheus_rule_evaluation_recorded(live, monkeypatch):
    url, service, token = live
    with Load(service):  # the drill's steady traffic, so the error ratios have a total
        # Right after `up` HighErrorRate may be firing already: the /ready 503s answered while the model
        # loads count as 5xx in its ratio. Clean traffic dilutes them; start from quiet.
        _wait(lambda: not _active(url), f"{UNDER_TEST} quiet after start-up")
        start = time.time()
        for _ in range(BURSTS):
            _faults(service, token, ERROR_BURST)
            _wait(lambda: _active(url, "firing") == set(UNDER_TEST), f"{UNDER_TEST} firing")
            _faults(service, token, None)
            _wait(lambda: not _active(url), f"{UNDER_TEST} resolved")
        time.sleep(2)  # a couple of quiet evaluations inside the range
        end = time.time()

    rules = {(rule["name"]): (rule, group) for group in _api(url, "/api/v1/rules")["groups"]
             for rule in group["rules"] if rule["type"] == "alerting"}
    cases = [BacktestCase(name, None, rules[name][0]["query"], rules[name][0]["duration"], rules[name][1]["interval"])
             for name in UNDER_TEST]
    results = backtest(url, cases, end - start, end)
    monkeypatch.setattr(bt, "MAX_POINTS", 17)  # the same range in many chunks counts the same
    assert backtest(url, cases, end - start, end) == results

    for case, result in zip(cases, results, strict=True):
        recorded = _recorded(url, case.name, hold_steps(case.for_s, case.interval_s), case.interval_s, start, end)
        context = f"{case.name}: backtest {result}, recorded {recorded}"
        print(context)  # the numbers, for `pytest -s`
        assert result.findings == (), context
        assert recorded.count >= BURSTS, context
        assert result.after.count == recorded.count, context
        # The rule group evaluates at its own phase (a hash of its name and file, mod the interval), the backtest
        # at multiples of the interval; and at an evaluation the rule manager may not yet hold the scrape stamped
        # just before it, which the later range query does. So each end of an episode can land one evaluation
        # apart: firing time may differ by up to two intervals per episode, never by more.
        tolerance = 2 * case.interval_s * recorded.count
        assert abs(result.after.firing_s - recorded.firing_s) <= tolerance, context
        assert abs(result.after.longest_s - recorded.longest_s) <= 2 * case.interval_s, context
