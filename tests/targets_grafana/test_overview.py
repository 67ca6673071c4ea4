"""The stack overview dashboard: a row per service (traffic, errors, p95 latency, firing alerts) linking to
each service's operations dashboard, validated by `stackgen check` like the other dashboards."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from stackgen.cli import app
from stackgen.model import names
from stackgen.resolve import SpecError, load_stack
from stackgen.targets.grafana.builder import build
from stackgen.targets.grafana.overview import overview_dashboard

SEVERAL = Path(__file__).resolve().parent.parent / "golden" / "several-services" / "stack.yaml"


@pytest.fixture(scope="module")
def board() -> dict:
    return build(overview_dashboard(load_stack(SEVERAL)))


def _rows(board: dict) -> dict[int, list[dict]]:
    rows: dict[int, list[dict]] = {}
    for panel in board["panels"]:
        rows.setdefault(panel["gridPos"]["y"], []).append(panel)
    return rows


def _exprs(panels: list[dict]) -> list[str]:
    return [t["expr"] for p in panels for t in p["targets"]]


def test_one_row_per_service_in_spec_order(board):
    services = [s.name for s in load_stack(SEVERAL).spec.services]
    rows = _rows(board)
    assert len(rows) == len(services) == 2
    for service, (_, panels) in zip(services, sorted(rows.items()), strict=True):
        assert all(p["title"].startswith(f"{service}: ") for p in panels)
        assert sum(p["gridPos"]["w"] for p in panels) == 24


def test_row_queries_traffic_errors_latency_alerts(board):
    api = _exprs(_rows(board)[0])
    assert api[0] == 'sum(rate(http_requests_total{job="api"}[5m]))'
    assert api[1] == (
        'sum(rate(http_requests_total{job="api",code=~"5.."}[5m]))\n/\nsum(rate(http_requests_total{job="api"}[5m]))'
    )
    assert api[2] == 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="api"}[5m])))'
    assert api[3] == 'count(ALERTS{alertstate="firing", service="api"}) or vector(0)'
    assert _exprs(_rows(board)[6])[-1] == 'count(ALERTS{alertstate="firing", service="ingest"}) or vector(0)'


def test_a_service_without_counters_shows_up():
    stack = load_stack(SEVERAL)
    service = stack.spec.services[0].model_copy(update={"metrics": []})
    stack.spec.services[0] = service
    first = [p for p in build(overview_dashboard(stack))["panels"] if p["title"].startswith("api: ")]
    assert _exprs(first) == ['sum(up{job="api"})', 'count(ALERTS{alertstate="firing", service="api"}) or vector(0)']


def test_links_to_each_service_dashboard(board):
    for service in ("api", "ingest"):
        path = names.dashboard_path(names.dashboard_uid(service))
        assert {"title": f"{service} operations", "url": path} in [{"title": x["title"], "url": x["url"]} for x in board["links"]]
        row = [p for p in board["panels"] if p["title"].startswith(f"{service}: ")]
        assert row and all(p["links"][0]["url"] == path for p in row)


def test_uid_cannot_be_a_service_dashboard_uid(board):
    assert board["uid"] == "mini_overview"
    assert len(names.overview_dashboard_uid("a" * 60)) <= 40
    assert names.overview_dashboard_uid("a" * 60).endswith("_overview")


def test_a_service_named_like_the_overview_is_refused(tmp_path):
    data = yaml.safe_load(SEVERAL.read_text(encoding="utf-8"))
    data["services"][1]["name"] = names.OVERVIEW_DASHBOARD_NAME
    spec = tmp_path / "stack.yaml"
    spec.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(SpecError, match="service name 'overview' is reserved"):
        load_stack(spec)


def test_check_passes_on_two_services_and_validates_the_overview(tmp_path):
    spec = tmp_path / "stack.yaml"
    shutil.copy(SEVERAL, spec)
    out = tmp_path / "generated"
    runner = CliRunner()
    assert runner.invoke(app, ["render", "--spec", str(spec), "--out", str(out)]).exit_code == 0
    assert (out / names.OVERVIEW_DASHBOARD_FILE).is_file()
    result = runner.invoke(app, ["check", "--spec", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output

    from stackgen.checks.grafana import validate

    path = out / names.OVERVIEW_DASHBOARD_FILE
    broken = json.loads(path.read_text(encoding="utf-8"))
    broken["panels"][0]["targets"][0]["expr"] = "sum(rate(not_a_metric_total[5m]))"
    path.write_text(json.dumps(broken), encoding="utf-8")
    found = validate(out, load_stack(spec, out))
    assert [(d.file, "not_a_metric_total" in d.message) for d in found] == [(names.OVERVIEW_DASHBOARD_FILE, True)]
