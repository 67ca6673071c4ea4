"""The error-budget dashboard of a service with SLOs: exists exactly where it should, shows the SLO panels
with their units and thresholds, links to and from the operations dashboard, is packaged for Kubernetes,
SLO alerts link to it, and the grafana validator rejects a broken one naming the panel."""

from __future__ import annotations

import json

import pytest
import yaml

from stackgen.checks.grafana import validate
from stackgen.model import names
from stackgen.pipeline import render_stack
from stackgen.resolve import load_stack
from stackgen.targets.grafana.panel_ids import panel_ids
from stackgen.targets.grafana.slo_dashboard import slo_dashboard, slo_grid
from stackgen.targets.grafana.slo_panels import slo_dashboard_panels

SERVICE = "fugatto-audio-lab"
SLO_DASHBOARD = f"grafana/dashboards/{SERVICE}-slos.json"
OPS_DASHBOARD = f"grafana/dashboards/{SERVICE}.json"


def _json(artifacts, path=SLO_DASHBOARD) -> dict:
    return json.loads(artifacts[path])


def _render(write_spec, mutate) -> dict[str, str]:
    return {a.path: a.content for a in render_stack(load_stack(write_spec(mutate)))}


def _steps(panel) -> list[tuple[float | None, str]]:
    return [(s["value"], s["color"]) for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]


# --- where it exists --------------------------------------------------------------------------------


def test_names_are_stable_and_fit_grafana_uids():
    assert names.slo_dashboard_file(SERVICE) == SLO_DASHBOARD
    assert names.slo_dashboard_uid(SERVICE) == f"{SERVICE}-slos"
    long = "a" * 38
    uid = names.slo_dashboard_uid(long)
    assert len(uid) <= 40 and uid == names.slo_dashboard_uid(long) and uid != names.dashboard_uid(long)


def test_only_services_with_slos_get_one(artifacts, write_spec):
    dashboards = {p for p in artifacts if p.startswith("grafana/dashboards/")}
    assert dashboards == {OPS_DASHBOARD, SLO_DASHBOARD, names.OVERVIEW_DASHBOARD_FILE}

    def no_slos(d):
        d["services"][0]["slos"] = []

    without = _render(write_spec, no_slos)
    assert {p for p in without if p.startswith("grafana/dashboards/")} == {OPS_DASHBOARD, names.OVERVIEW_DASHBOARD_FILE}
    assert "Error budget (SLOs)" not in {link["title"] for link in _json(without, OPS_DASHBOARD)["links"]}

    def dashboards_off(d):
        d["services"][0]["dashboards"]["enabled"] = False

    off = _render(write_spec, dashboards_off)
    # Only the stack overview is left, and it links to no service dashboard.
    assert [p for p in off if p.startswith("grafana/dashboards/")] == [names.OVERVIEW_DASHBOARD_FILE]
    assert _json(off, names.OVERVIEW_DASHBOARD_FILE)["links"] == []
    assert "dashboard_url" not in off[f"prometheus/rules/{SERVICE}-slos.yml"]


def test_kubernetes_packages_it_as_a_config_map(artifacts):
    path = f"k8s/base/grafana-dashboard-{SERVICE}-slos.yaml"
    config_map = yaml.safe_load(artifacts[path])
    assert config_map["metadata"]["name"] == f"grafana-dashboard-{SERVICE}-slos"
    assert json.loads(config_map["data"][f"{SERVICE}-slos.json"]) == _json(artifacts)
    assert path.removeprefix("k8s/base/") in yaml.safe_load(artifacts["k8s/base/kustomization.yaml"])["resources"]


# --- what it shows ----------------------------------------------------------------------------------


def test_dashboard_identity_variables_and_links(artifacts):
    dashboard = _json(artifacts)
    assert dashboard["uid"] == f"{SERVICE}-slos" and dashboard["title"] == f"{SERVICE} - error budget"
    assert dashboard["schemaVersion"] == names.GRAFANA_SCHEMA_VERSION and dashboard["time"]["from"] == "now-7d"
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["datasource"]
    links = {link["title"]: link for link in dashboard["links"]}
    assert links["Operations"]["url"] == f"/d/{SERVICE}" and links["Operations"]["keepTime"]
    assert links["Runbook: generate-latency"]["url"] == "https://runbooks.example.com/fugatto/GenerateLatency"
    ops_links = {link["title"]: link["url"] for link in _json(artifacts, OPS_DASHBOARD)["links"]}
    assert ops_links["Error budget (SLOs)"] == f"/d/{SERVICE}-slos"


def test_panels_units_and_thresholds(artifacts, stack):
    panels = _json(artifacts)["panels"]
    expected = [p for per_slo in slo_dashboard_panels(stack, SERVICE) for p in per_slo]
    assert [p["title"] for p in panels] == [p.title for p in expected]
    assert [p["id"] for p in panels] == panel_ids(f"{SERVICE}-slos", [p.title for p in expected])
    assert [p["type"] for p in panels[:6]] == ["stat", "gauge", "timeseries", "timeseries", "timeseries",
                                               "timeseries"]
    by_title = {p["title"]: p for p in panels}
    avail = "generate-availability (99.5% / 30d)"

    sli = by_title[f"{avail}: SLI over the period"]
    assert sli["fieldConfig"]["defaults"]["unit"] == "percentunit"
    assert _steps(sli) == [(None, "red"), (0.995, "green")]
    assert sli["targets"][0]["instant"] and sli["targets"][0]["expr"].startswith("1 - slo:sli_error:ratio_rate30d{")

    budget = by_title[f"{avail}: error budget remaining"]
    defaults = budget["fieldConfig"]["defaults"]
    assert (defaults["unit"], defaults["min"], defaults["max"]) == ("percentunit", 0.0, 1.0)
    assert _steps(budget) == [(None, "red"), (0.25, "orange"), (0.5, "green")]

    burn = by_title[f"{avail}: burn rate per window"]
    assert burn["fieldConfig"]["defaults"]["unit"] == "none"
    assert [t["legendFormat"] for t in burn["targets"]] == ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]

    page = by_title[f"{avail}: page tier (GenerateAvailabilityFastBurn)"]
    assert _steps(page) == [(None, "green"), (1.0, "red")]
    assert page["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "dashed"
    assert [t["legendFormat"] for t in page["targets"]] == ["1h burn / 14.4", "5m burn / 14.4",
                                                            "6h burn / 6", "30m burn / 6"]
    assert page["targets"][0]["expr"].endswith("/ 14.4")
    assert "generate-latency (99% / 30d): ticket tier (GenerateLatencySlowBurn)" in by_title


def test_grid_has_no_overlap_with_one_tier(stack, write_spec):
    def page_only(d):
        d["services"][0]["slos"][0]["alerting"]["ticket"] = {"enabled": False}

    mutated = load_stack(write_spec(page_only))
    service = mutated.spec.services[0]
    grid = slo_grid(slo_dashboard_panels(mutated, service))
    assert len(grid) == 11
    cells = [(x + i, y + j) for x, y, w, h in grid for i in range(w) for j in range(h)]
    assert len(cells) == len(set(cells)) and all(x + w <= 24 for x, _, w, _ in grid)
    # the first SLO's second row: burn rate per window and the page tier, half the width each
    assert grid[3][2] == grid[4][2] == 12
    # one tier fewer renumbers no other panel
    ids = {p.title: p.id for p in slo_dashboard(mutated, service).panels}
    full = {p.title: p.id for p in slo_dashboard(stack, stack.spec.services[0]).panels}
    assert len(ids) == 11 and all(full[title] == pid for title, pid in ids.items())


# --- SLO alerts link to it ------------------------------------------------------------------------


def test_slo_alerts_and_their_promtool_tests_carry_the_dashboard_url(artifacts):
    url = f"http://localhost:3000/d/{SERVICE}-slos"
    rules = yaml.safe_load(artifacts[f"prometheus/rules/{SERVICE}-slos.yml"])
    alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    assert len(alerts) == 4 and all(a["annotations"]["dashboard_url"] == url for a in alerts)
    tests = yaml.safe_load(artifacts[f"prometheus/tests/{SERVICE}-slos.test.yml"])
    expected = [a for t in tests["tests"] for case in t.get("alert_rule_test", []) for a in case["exp_alerts"]]
    assert expected and all(a["exp_annotations"]["dashboard_url"] == url for a in expected)


def test_dashboard_url_is_reserved_in_slo_tier_annotations(run_check, write_spec):
    def mutate(d):
        d["services"][0]["slos"][0]["alerting"]["page"] = {"annotations": {"dashboard_url": "http://x"}}

    code, output = run_check(write_spec(mutate))
    assert code == 2
    assert "services[0].slos[0].alerting.page.annotations" in output and "dashboard_url" in output


# --- the validator ----------------------------------------------------------------------------------


def _edit(root, edit):
    path = root / SLO_DASHBOARD
    dashboard = json.loads(path.read_text())
    edit(dashboard)
    path.write_text(json.dumps(dashboard))


def _pid(title: str) -> int:
    return panel_ids(f"{SERVICE}-slos", [title])[0]


def _findings(root, stack):
    return [(f.file, f.message) for f in validate(root, stack)]


def test_validator_accepts_the_render(rendered, stack):
    assert _findings(rendered, stack) == []


def test_broken_expr_fails_naming_the_panel(rendered, stack):
    def edit(d):
        d["panels"][4]["targets"][1]["expr"] = "slo:sli_error:ratio_rate5m{sloth_id=\"x\""
        d["panels"][3]["targets"][0]["expr"] = "slo:sli_error:ratio_rate10m"

    _edit(rendered, edit)
    findings = _findings(rendered, stack)
    title = "generate-availability (99.5% / 30d): page tier (GenerateAvailabilityFastBurn)"
    page = f"panel {_pid(title)} '{title}' query B"
    assert any(f == SLO_DASHBOARD and m.startswith(f"{page}: not valid PromQL") for f, m in findings), findings
    burn = "generate-availability (99.5% / 30d): burn rate per window"
    assert (SLO_DASHBOARD, f"panel {_pid(burn)} '{burn}' query A: "
            "metric 'slo:sli_error:ratio_rate10m' is neither in the service's metric contract nor a generated "
            "recording rule") in findings
    assert len(findings) == 2


def test_missing_dashboard_overlap_and_dead_link_fail(rendered, stack):
    def edit(d):
        d["panels"][1]["gridPos"] = {"x": 4, "y": 0, "w": 6, "h": 8}
        d["links"][0]["url"] = "/d/no-such-dashboard"

    _edit(rendered, edit)
    messages = [m for _, m in _findings(rendered, stack)]
    budget, sli = (f"generate-availability (99.5% / 30d): {t}" for t in ("error budget remaining", "SLI over the period"))
    assert any(m.startswith(f"panel {_pid(budget)} '{budget}' overlaps panel {_pid(sli)} '{sli}'")
               for m in messages), messages
    assert any(m.startswith("link 'Operations': /d/no-such-dashboard is not a generated dashboard") for m in messages)
    (rendered / SLO_DASHBOARD).unlink()
    assert (SLO_DASHBOARD, "dashboard missing") in _findings(rendered, stack)


def test_service_named_like_an_slo_dashboard_is_rejected(write_spec):
    from stackgen.diagnostics import SpecError

    def mutate(d):
        twin = json.loads(json.dumps(d["services"][0]))
        twin.update(name=f"{SERVICE}-slos", alerts=[], slos=[])
        d["services"].append(twin)

    with pytest.raises(SpecError) as raised:
        load_stack(write_spec(mutate))
    assert f"services[1].name: service name '{SERVICE}-slos' collides with the error-budget dashboard of service " \
           f"'{SERVICE}'" in str(raised.value)
