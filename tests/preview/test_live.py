"""The native stack (drill profile) with the bundled service under a request load: `stackgen preview --prometheus`
draws the operations dashboard's request-rate panel from it, and the drawn lines are what Prometheus answers.

Starts processes: run it under `flock /tmp/stackgen-live.lock` like every live test.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stackgen.pipeline import load_stack, render_stack
from stackgen.preview import render_dashboard
from stackgen.preview.draw import Source
from stackgen.preview.load import from_texts
from stackgen.runtime.drill import Load
from tests.preview.conftest import query_range_by_route

pytestmark = [pytest.mark.slow, pytest.mark.live]
ROOT = Path(__file__).resolve().parents[2]


def _stackgen(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stackgen", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    work = tmp_path_factory.mktemp("live")
    shutil.copy(ROOT / "stack.yaml", work / "stack.yaml")  # edits to the checkout cannot reach the stack
    run = work / "run"
    result = _stackgen("up", "--runtime", "native", "--profile", "drill", "--spec", str(work / "stack.yaml"),
                       "--out", str(work / "generated"), "--run-dir", str(run))
    assert result.returncode == 0, result.stdout + result.stderr
    try:
        urls = {c["name"]: c["url"] for c in json.loads((run / "state.json").read_text())["components"]}
        yield urls["prometheus"], urls["fugatto-audio-lab"], result.stdout, work
    finally:
        _stackgen("down", "--runtime", "native", "--run-dir", str(run))


def test_request_rate_panel_is_drawn_from_the_live_stack(live, tmp_path):
    prometheus, service, up_output, work = live
    assert "dashboard preview    http://127.0.0.1:" in up_output and prometheus in up_output
    with Load(service):
        time.sleep(40)  # drill profile: 1 s scrapes, so a rate over a few dozen samples
    end = float(int(time.time()))
    # the native stack writes its own configs, not --out: the dashboards come from a render of the same spec
    artifacts = render_stack(load_stack(work / "stack.yaml"))
    dashboard = from_texts({a.path: a.content for a in artifacts if a.path.startswith("grafana/dashboards/")},
                           ["fugatto-audio-lab"])[0]
    preview = render_dashboard(dashboard, tmp_path / "ops.png", Source(prometheus, end, 300.0))
    panel = next(r for r in preview.panels.values() if r.title == "Request Rate")
    assert panel.drawn == "timeseries" and not panel.errors
    assert any(s.name.startswith("POST /generate") for s in panel.series), [s.name for s in panel.series]
    ((_, expr, step),) = panel.queries
    expected = query_range_by_route(prometheus, expr, end - 300, end, step)
    assert {s.name: list(zip(s.times, s.values, strict=True)) for s in panel.series} == expected
    generate = next(s for s in panel.series if s.name.startswith("POST /generate"))
    assert max(generate.values) > 0
