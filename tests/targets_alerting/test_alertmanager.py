"""Time intervals, notification templates, the other 0.25 receivers and richer Slack/PagerDuty fields:
typed, rendered, located when wrong, and accepted by the real amtool."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from stackgen.checks.amtool import render_templates
from stackgen.output.write import write_tree
from stackgen.parsers.am_template import DEFAULT_TEMPLATES
from stackgen.pipeline import render_stack
from stackgen.runtime.profile import drill_spec
from stackgen.targets.alertmanager.config import config
from tests.targets_alerting.helpers import load_variant, problems_of


def _am(artifacts: dict[str, str]) -> dict:
    return yaml.safe_load(artifacts["alertmanager/alertmanager.yml"])


def _amtool_check(tmp_path: Path, am_config: dict) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "alertmanager.yml"
    path.write_text(json.dumps(am_config), encoding="utf-8")
    return subprocess.run(["amtool", "check-config", str(path)], capture_output=True, text=True, timeout=60)


# --- time intervals -------------------------------------------------------------------------------

def test_bundled_stack_mutes_warnings_outside_business_hours(artifacts) -> None:
    am = _am(artifacts)
    assert [t["name"] for t in am["time_intervals"]] == ["outside-business-hours"]
    warning = next(r for r in am["route"]["routes"] if r.get("receiver") == "warning-alerts")
    assert warning["mute_time_intervals"] == ["outside-business-hours"]
    critical = next(r for r in am["route"]["routes"] if r.get("receiver") == "critical-alerts")
    assert "mute_time_intervals" not in critical
    cases = yaml.safe_load(artifacts["alertmanager/tests/routes.yml"])["tests"]
    muted = {c["name"] for c in cases if c.get("muted_during") == ["outside-business-hours"]}
    assert "fugatto-audio-lab HighResponseTime" in muted and "fugatto-audio-lab ServiceDown" not in muted


def test_drill_profile_drops_mutes(stack) -> None:
    routes = drill_spec(stack.spec).alertmanager.route.routes
    assert any(r.mute_time_intervals for r in stack.spec.alertmanager.route.routes)
    assert not any(r.mute_time_intervals or r.active_time_intervals for r in routes)


PERIODS_ACCEPTED = [
    {"times": [{"start_time": "00:00", "end_time": "24:00"}]},
    {"weekdays": ["monday:friday", "sunday"], "location": "Europe/Berlin"},
    {"days_of_month": ["1:7", "-3:-1", "15"], "months": ["january:march", "12"], "years": ["2024:2030"]},
]
PERIODS_REFUSED = {
    "reversed times": ({"times": [{"start_time": "18:00", "end_time": "09:00"}]}, "is not before end_time"),
    "bad clock": ({"times": [{"start_time": "9:00", "end_time": "10:00"}]}, "start_time"),
    "reversed weekdays": ({"weekdays": ["friday:monday"]}, "starts after it ends"),
    "unknown weekday": ({"weekdays": ["funday"]}, "is not a weekday"),
    "day zero": ({"days_of_month": ["0"]}, "is not a day of the month"),
    "negative before positive": ({"days_of_month": ["-5:3"]}, "starts after it ends"),
    "unknown zone": ({"weekdays": ["monday"], "location": "Mars/Olympus"}, "is not an IANA time zone"),
    "empty period": ({}, "say when it applies"),
}


def _with_interval(period: dict, route_key: str = "mute_time_intervals", name: str = "window"):
    def mutate(data: dict) -> None:
        am = data["alertmanager"]
        am["time_intervals"] = [{"name": "window", "time_intervals": [period]}, *am.get("time_intervals", [])]
        am["route"]["routes"][1][route_key] = [name]
    return mutate


@pytest.mark.slow
def test_periods_the_spec_accepts_amtool_accepts(tmp_path: Path) -> None:
    stack = load_variant(tmp_path, lambda d: (_with_interval(PERIODS_ACCEPTED[0])(d),
                                              d["alertmanager"]["time_intervals"][0].update(
                                                  time_intervals=PERIODS_ACCEPTED)))
    rendered = config(stack.spec.alertmanager)
    assert len(rendered["time_intervals"][0]["time_intervals"]) == 3
    result = _amtool_check(tmp_path, rendered)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case", sorted(PERIODS_REFUSED))
def test_refused_periods_are_located(tmp_path: Path, case: str) -> None:
    period, message = PERIODS_REFUSED[case]
    found = problems_of(tmp_path, _with_interval(period))
    assert len(found) == 1 and "alertmanager.time_intervals[0].time_intervals[0]" in found[0] and message in found[0], found


def test_undefined_interval_is_located(tmp_path: Path) -> None:
    found = problems_of(tmp_path, _with_interval({"weekdays": ["monday"]}, "active_time_intervals", "weekend"))
    assert len(found) == 1 and "alertmanager.route.routes[1].active_time_intervals[0]" in found[0]
    assert "'weekend' is not defined" in found[0]


def test_root_route_takes_no_intervals(tmp_path: Path) -> None:
    found = problems_of(tmp_path, lambda d: d["alertmanager"]["route"].update(mute_time_intervals=["x"]))
    assert len(found) == 1 and "alertmanager.route.mute_time_intervals" in found[0]


# --- templates ------------------------------------------------------------------------------------

def test_templates_are_rendered_beside_the_config(artifacts) -> None:
    text = artifacts["alertmanager/templates/fugatto.tmpl"]
    assert text.startswith("{{/* Generated by stackgen") and '{{ define "fugatto.title" }}' in text
    assert _am(artifacts)["templates"] == ["templates/fugatto.tmpl"]
    k8s = yaml.safe_load(artifacts["k8s/base/alertmanager-config.yaml"])
    assert k8s["templates"] == ["/etc/alertmanager/config/fugatto.tmpl"]
    assert artifacts["k8s/base/alertmanager-templates/fugatto.tmpl"] == text
    compose = yaml.safe_load(artifacts["compose/docker-compose.yml"])
    assert "../alertmanager/templates:/etc/alertmanager/templates:ro" in compose["services"]["alertmanager"]["volumes"]


@pytest.mark.parametrize(("text", "message"), [
    ('{{ define "x" }}a{{ end }}stray', "text outside a define block"),
    ('{{ define "x" }}{{ if .Status }}a{{ end }}', "not closed"),
    ('{{ .Status }}', "outside a define block"),
    ('{{ define "x" }}a{{ end }}{{ define "x" }}b{{ end }}', "defined twice"),
    ('{{ define "slack.default.title" }}a{{ end }}', "already defined by Alertmanager's default templates"),
    ('{{ define "x" }}\x1b[2Ja{{ end }}', "control character"),
])
def test_bad_templates_are_located(tmp_path: Path, text: str, message: str) -> None:
    found = problems_of(tmp_path, lambda d: d["alertmanager"]["templates"].append({"name": "t", "text": text}))
    assert len(found) == 1 and "alertmanager.templates[1]" in found[0] and message in found[0], found


def test_receiver_calling_an_undefined_template_is_located(tmp_path: Path) -> None:
    def mutate(data: dict) -> None:
        data["alertmanager"]["receivers"][2]["slack"][0]["title"] = '{{ template "fugatto.titel" . }}'
    found = problems_of(tmp_path, mutate)
    assert len(found) == 1 and "receivers[2].slack[0].title" in found[0] and "'fugatto.titel'" in found[0]


def test_default_template_names_match_the_installed_alertmanager() -> None:
    installed = Path("/usr/share/prometheus/alertmanager/default.tmpl")
    if not installed.is_file():
        pytest.skip("the Debian prometheus-alertmanager package ships default.tmpl; this Alertmanager embeds it")
    import re
    names = set(re.findall(r'define "([^"]+)"', installed.read_text()))
    assert names <= DEFAULT_TEMPLATES and DEFAULT_TEMPLATES - names == {"email.default.subject", "email.default.html"}


@pytest.mark.slow
def test_amtool_renders_every_receiver_template(stack, tmp_path: Path) -> None:
    root = tmp_path / "generated"
    write_tree(root, render_stack(stack))
    assert render_templates("amtool", root) == []
    template = root / "alertmanager" / "templates" / "fugatto.tmpl"
    template.write_text(template.read_text().replace(".Annotations.summary", ".Anotations.summary"))
    found = render_templates("amtool", root)
    assert len(found) == 1 and "can't evaluate field Anotations" in found[0].message


# --- receivers ------------------------------------------------------------------------------------

RECEIVERS = {
    "opsgenie": [{"api_key": {"file": "/etc/alertmanager/secrets/opsgenie-key"}, "priority": "P2",
                  "responders": [{"name": "audio-ml", "type": "team"}], "tags": ["fugatto", "gpu"]}],
    "victorops": [{"api_key": {"file": "/etc/alertmanager/secrets/victorops-key"}, "routing_key": "audio-ml",
                   "message_type": "CRITICAL"}],
    "webex": [{"bot_token": {"file": "/etc/alertmanager/secrets/webex-token"}, "room_id": "Y2lzY29zcGFyazovL3Vz"}],
    "sns": [{"sigv4": {"region": "eu-west-1", "role_arn": "arn:aws:iam::123456789012:role/alerts"},
             "topic_arn": "arn:aws:sns:eu-west-1:123456789012:fugatto-alerts"}],
    "pagerduty": [{"routing_key": {"file": "/etc/alertmanager/secrets/pd-key"}, "links": ["runbook", "dashboard"],
                   "details": {"service": "{{ .CommonLabels.service }}"}, "class": "gpu", "component": "inference"}],
}


@pytest.fixture(scope="module")
def receivers(tmp_path_factory: pytest.TempPathFactory):
    def mutate(data: dict) -> None:
        data["alertmanager"]["receivers"].append({"name": "everything", **RECEIVERS})
    return load_variant(tmp_path_factory.mktemp("receivers"), mutate)


def test_receivers_render_credentials_as_files(receivers) -> None:
    everything = next(r for r in config(receivers.spec.alertmanager)["receivers"] if r["name"] == "everything")
    assert everything["opsgenie_configs"] == [{
        "api_key_file": "/etc/alertmanager/secrets/opsgenie-key", "priority": "P2",
        "responders": [{"name": "audio-ml", "type": "team"}], "tags": "fugatto,gpu", "send_resolved": True}]
    assert everything["victorops_configs"][0]["api_key_file"] == "/etc/alertmanager/secrets/victorops-key"
    assert everything["webex_configs"][0]["http_config"] == {
        "authorization": {"type": "Bearer", "credentials_file": "/etc/alertmanager/secrets/webex-token"}}
    assert everything["sns_configs"][0]["sigv4"] == {"region": "eu-west-1",
                                                     "role_arn": "arn:aws:iam::123456789012:role/alerts"}
    pagerduty = everything["pagerduty_configs"][0]
    assert pagerduty["links"] == [{"href": "{{ (index .Alerts 0).Annotations.runbook_url }}", "text": "Runbook"},
                                  {"href": "{{ (index .Alerts 0).Annotations.dashboard_url }}", "text": "Dashboard"}]
    assert pagerduty["class"] == "gpu"


def test_receiver_credential_files_are_mounted(receivers) -> None:
    compose = yaml.safe_load({a.path: a.content for a in render_stack(receivers)}["compose/docker-compose.yml"])
    targets = {m["target"] for m in compose["services"]["alertmanager"]["secrets"]}
    assert {"/etc/alertmanager/secrets/opsgenie-key", "/etc/alertmanager/secrets/victorops-key",
            "/etc/alertmanager/secrets/webex-token"} <= targets


@pytest.mark.slow
def test_amtool_accepts_every_receiver(receivers, tmp_path: Path) -> None:
    result = _amtool_check(tmp_path, config(receivers.spec.alertmanager))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("kind", "entry", "message"), [
    ("opsgenie", {"api_key": "0123456789abcdef0123456789abcdef"}, "literal secret"),
    ("victorops", {"api_key": {"env": "VO_KEY"}, "routing_key": "r"}, "files only"),
    ("pushover", {"user_key": {"file": "/u"}, "token": {"file": "/t"}}, "user_key_file and token_file"),
    ("telegram", {"bot_token": {"file": "/t"}, "chat_id": 1}, "only inline"),
    ("wechat", {"api_secret": {"file": "/s"}, "corp_id": "c"}, "only inline"),
    ("sns", {"sigv4": {"region": "us-east-1"}, "topic_arn": "arn:aws:sns:eu-west-1:123456789012:t"}, "SNS refuses"),
    ("sns", {"sigv4": {"region": "us-east-1", "secret_key": "x"}, "phone_number": "+15550100"}, "secret_key"),
])
def test_receivers_without_a_safe_credential_are_refused(tmp_path: Path, kind: str, entry: dict, message: str) -> None:
    found = problems_of(tmp_path, lambda d: d["alertmanager"]["receivers"].append({"name": "x", kind: [entry]}))
    assert len(found) == 1 and f"alertmanager.receivers[4].{kind}[0]" in found[0] and message in found[0], found
