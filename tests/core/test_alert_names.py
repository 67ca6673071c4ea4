"""Alert names are unique per service: the `service` label tells two services' alerts apart everywhere
they are used (rule files, promtool tests, routing tests, the drill); a watchdog stays stack-wide."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackgen.diagnostics import SpecError
from stackgen.model import names
from stackgen.pipeline import render_stack
from stackgen.resolve import load_stack
from stackgen.runtime.drill import plans

BASE = Path(__file__).resolve().parent.parent / "bad_specs" / "base.yaml.txt"

SERVICE_DOWN = {"name": "ServiceDown", "kind": "target_down", "severity": "critical", "for": "1m",
                "summary": "Service down", "description": "{{ $labels.instance }} is down.",
                "runbook_url": "https://runbooks.example.com/ServiceDown"}
WATCHDOG = {"name": "Watchdog", "kind": "watchdog", "severity": "info", "for": "0s", "summary": "Watchdog",
            "description": "Always firing (value {{ $value }}).", "runbook_url": "https://runbooks.example.com/Watchdog"}


def _two_services(tmp_path: Path, second_alerts: list[dict[str, Any]]) -> Path:
    data = yaml.safe_load(BASE.read_text())
    api = data["services"][0]
    api["alerts"] += [SERVICE_DOWN, WATCHDOG]
    worker = copy.deepcopy(api)
    worker.update(name="worker", team="batch", ports={"http": 8090, "metrics": 9190}, alerts=second_alerts)
    data["services"].append(worker)
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_two_services_may_each_have_a_service_down(tmp_path: Path):
    stack = load_stack(_two_services(tmp_path, [SERVICE_DOWN]))
    files = {a.path: a.content for a in render_stack(stack)}
    routes = yaml.safe_load(files[names.ALERTMANAGER_ROUTE_TESTS])
    tested = [t for t in (routes["tests"] if isinstance(routes, dict) else routes)
              if t["labels"].get("alertname") == "ServiceDown"]
    assert sorted(t["labels"]["service"] for t in tested) == ["api", "worker"]
    assert len({t["name"] for t in tested}) == 2
    todo, _ = plans(stack, only="ServiceDown")
    assert sorted(p.service.name for p in todo) == ["api", "worker"]
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed")
    out = tmp_path / "generated"
    for path, content in files.items():
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text(content)
    for service in ("api", "worker"):
        test_file = out / names.alert_tests_file(service)
        result = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_a_watchdog_name_stays_unique_across_the_stack(tmp_path: Path):
    with pytest.raises(SpecError) as caught:
        load_stack(_two_services(tmp_path, [SERVICE_DOWN, WATCHDOG]))
    (problem,) = [p for p in caught.value.problems if "watchdog" in p.message]
    assert problem.path == "services[1].alerts[1].name"
    assert "first at services[0].alerts[3], line" in problem.message


def test_the_drill_tells_two_services_alerts_of_one_name_apart(tmp_path: Path):
    import json

    from stackgen.runtime.drill import Notifications

    stack = load_stack(_two_services(tmp_path, [SERVICE_DOWN]))
    api, worker = sorted(plans(stack, only="ServiceDown")[0], key=lambda p: p.service.name)
    inbox = tmp_path / "notifications.jsonl"
    alert = {"status": "firing", "labels": {"alertname": "ServiceDown", "service": "worker"}}
    inbox.write_text(json.dumps({"path": "pager", "received_at": 5.0, "payload": {"alerts": [alert]}}) + "\n")
    seen = [name for _, _, name, _ in Notifications(inbox).since(0.0)]
    assert seen == [worker.key]
    assert api.key not in seen
