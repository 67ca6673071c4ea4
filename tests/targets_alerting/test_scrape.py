"""Per-job scrape settings: typed in the spec, rendered into prometheus.yml and the ServiceMonitor, credentials
mounted in compose, and accepted by the real promtool even though the credential files exist only in production."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from stackgen.checks.promtool import check_config
from stackgen.output.write import write_tree
from stackgen.pipeline import render_stack
from stackgen.spec.scrape import RelabelRule
from stackgen.targets.prometheus.config import relabel
from tests.targets_alerting.helpers import load_variant, problems_of

SECRETS = "/etc/prometheus/secrets"
SCRAPE = {
    "timeout": "5s", "scheme": "https",
    "tls": {"ca_file": f"{SECRETS}/ca.pem", "cert_file": f"{SECRETS}/client.pem", "key_file": f"{SECRETS}/client.key",
            "server_name": "metrics.fugatto.internal"},
    "authorization": {"credentials": {"file": f"{SECRETS}/scrape-token"}},
    "labels": {"region": "eu-west-1"},
    "relabel_configs": [{"action": "labeldrop", "regex": "pod_template_hash"}],
    "metric_relabel_configs": [{"action": "drop", "source_labels": ["__name__"], "regex": "python_gc_.*"}],
}


def _with_scrape(scrape: dict):
    def mutate(data: dict) -> None:
        data["services"][0]["scrape"] = scrape
    return mutate


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("scrape")
    stack = load_variant(tmp, _with_scrape(SCRAPE))
    return stack, {a.path: a.content for a in render_stack(stack)}


def _job(artifacts: dict[str, str]) -> dict:
    config = yaml.safe_load(artifacts["prometheus/prometheus.yml"])
    return next(j for j in config["scrape_configs"] if j["job_name"] == "fugatto-audio-lab")


def test_job_carries_every_setting(scraped) -> None:
    job = _job(scraped[1])
    assert job["scrape_timeout"] == "5s" and job["scheme"] == "https"
    assert job["tls_config"] == {"ca_file": f"{SECRETS}/ca.pem", "cert_file": f"{SECRETS}/client.pem",
                                 "key_file": f"{SECRETS}/client.key", "server_name": "metrics.fugatto.internal"}
    assert job["authorization"] == {"type": "Bearer", "credentials_file": f"{SECRETS}/scrape-token"}
    assert job["static_configs"][0]["labels"] == {"region": "eu-west-1", "service": "fugatto-audio-lab",
                                                  "team": "audio-ml"}
    assert job["relabel_configs"] == [{"action": "labeldrop", "regex": "pod_template_hash"}]
    assert job["metric_relabel_configs"] == [{"action": "drop", "source_labels": ["__name__"], "regex": "python_gc_.*"}]


def test_plain_job_stays_plain(artifacts) -> None:
    assert set(_job(artifacts)) == {"job_name", "metrics_path", "static_configs"}


def test_service_monitor_endpoint_matches(scraped) -> None:
    monitor = yaml.safe_load(scraped[1]["k8s/base/fugatto-audio-lab-servicemonitor.yaml"])
    endpoint = monitor["spec"]["endpoints"][0]
    secret = "fugatto-audio-lab-scrape-credentials"
    assert endpoint["scheme"] == "https" and endpoint["scrapeTimeout"] == "5s"
    assert endpoint["tlsConfig"] == {"ca": {"secret": {"name": secret, "key": "ca.pem"}},
                                     "cert": {"secret": {"name": secret, "key": "client.pem"}},
                                     "keySecret": {"name": secret, "key": "client.key"},
                                     "serverName": "metrics.fugatto.internal"}
    assert endpoint["authorization"] == {"type": "Bearer", "credentials": {"name": secret, "key": "scrape-token"}}
    assert endpoint["relabelings"] == [{"action": "replace", "targetLabel": "region", "replacement": "eu-west-1"},
                                       {"action": "labeldrop", "regex": "pod_template_hash"}]
    assert endpoint["metricRelabelings"] == [{"action": "drop", "sourceLabels": ["__name__"], "regex": "python_gc_.*"}]


def test_compose_mounts_the_credential_files(scraped) -> None:
    compose = yaml.safe_load(scraped[1]["compose/docker-compose.yml"])
    mounts = {m["target"] for m in compose["services"]["prometheus"]["secrets"]}
    assert mounts == {f"{SECRETS}/{f}" for f in ("ca.pem", "client.pem", "client.key", "scrape-token")}


@pytest.mark.slow
def test_promtool_accepts_config_whose_credential_files_are_elsewhere(scraped, tmp_path: Path) -> None:
    stack, _ = scraped
    root = tmp_path / "generated"
    write_tree(root, render_stack(stack))
    plain = subprocess.run(["promtool", "check", "config", "prometheus/prometheus.yml"], cwd=root,
                           capture_output=True, text=True, timeout=60)
    assert plain.returncode != 0 and "no such file" in plain.stdout + plain.stderr  # why stand-ins are needed
    result = check_config("promtool", root, stack)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 rule files found" in result.stdout  # the rule files are still checked


@pytest.mark.slow
def test_stand_ins_keep_promtool_strict(scraped, tmp_path: Path) -> None:
    stack, _ = scraped
    root = tmp_path / "generated"
    write_tree(root, render_stack(stack))
    rules = root / "prometheus" / "rules" / "fugatto-audio-lab-alerts.yml"
    rules.write_text(rules.read_text().replace("expr: ", "expr: sum by (( ", 1))
    result = check_config("promtool", root, stack)
    assert result.returncode != 0 and "fugatto-audio-lab-alerts.yml" in result.stdout + result.stderr


# Rules the spec accepts, each of which promtool must accept too.
ACCEPTED = [
    {"action": "replace", "source_labels": ["endpoint"], "regex": "/v1/(.*)", "target_label": "route", "replacement": "$1"},
    {"action": "replace", "source_labels": ["a", "b"], "separator": "-", "target_label": "${1}_x"},
    {"action": "keep", "source_labels": ["__name__"], "regex": "fugatto_.*"},
    {"action": "drop", "source_labels": ["__name__"], "regex": "(?i)GO_.*"},
    {"action": "hashmod", "source_labels": ["__address__"], "target_label": "shard", "modulus": 4},
    {"action": "labelmap", "regex": "__meta_kubernetes_pod_label_(.+)"},
    {"action": "labeldrop", "regex": "pod_template_hash|controller_revision_hash"},
    {"action": "labelkeep", "regex": "__.*|service|team|job|instance|le|quantile|method|endpoint|status|model|success|gpu"},
    {"action": "lowercase", "source_labels": ["method"], "target_label": "method"},
    {"action": "uppercase", "source_labels": ["method"], "target_label": "method_upper"},
    {"action": "keepequal", "source_labels": ["method"], "target_label": "endpoint"},
    {"action": "dropequal", "source_labels": ["method"], "target_label": "endpoint"},
]
REFUSED = {
    "hashmod without modulus": ({"action": "hashmod", "source_labels": ["a"], "target_label": "s"}, "needs modulus"),
    "replace without target": ({"action": "replace", "source_labels": ["a"]}, "needs target_label"),
    "lookahead": ({"action": "drop", "source_labels": ["__name__"], "regex": "(?=go).*"}, "invalid regular expression"),
    "replacement on lowercase": ({"action": "lowercase", "source_labels": ["a"], "target_label": "a",
                                  "replacement": "x"}, "does not read replacement"),
    "unknown action": ({"action": "rename", "source_labels": ["a"]}, "action"),
    "bad target": ({"action": "hashmod", "source_labels": ["a"], "target_label": "$1", "modulus": 2},
                   "is not a label name"),
    "drops team": ({"action": "labeldrop", "regex": "te.*"}, "'team' label"),
    "overwrites service": ({"action": "replace", "target_label": "service", "replacement": "x"}, "'service' label"),
    "keep loses team": ({"action": "labelkeep", "regex": "service|job"}, "'team' label"),
}


@pytest.mark.slow
def test_every_rule_the_spec_accepts_promtool_accepts(tmp_path: Path) -> None:
    rules = [relabel(RelabelRule.model_validate(r)) for r in ACCEPTED]
    config = {"scrape_configs": [{"job_name": "j", "static_configs": [{"targets": ["x:1"]}],
                                  "relabel_configs": rules, "metric_relabel_configs": rules}]}
    path = tmp_path / "prometheus.yml"
    path.write_text(json.dumps(config), encoding="utf-8")
    result = subprocess.run(["promtool", "check", "config", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_rules_are_located(tmp_path: Path, case: str) -> None:
    rule, message = REFUSED[case]
    found = problems_of(tmp_path, _with_scrape({"metric_relabel_configs": [rule]}))
    assert len(found) == 1 and "services[0].scrape.metric_relabel_configs" in found[0] and message in found[0], found


def test_literal_and_env_credentials_are_refused(tmp_path: Path) -> None:
    literal = problems_of(tmp_path, _with_scrape({"basic_auth": {"username": "prom", "password": "hunter2hunter2"}}))
    assert len(literal) == 1 and "scrape.basic_auth.password" in literal[0] and "literal secret" in literal[0]
    env = problems_of(tmp_path, _with_scrape({"authorization": {"credentials": {"env": "SCRAPE_TOKEN"}}}))
    assert len(env) == 1 and "scrape.authorization.credentials" in env[0] and "files only" in env[0]


def test_timeout_longer_than_the_interval_is_refused(tmp_path: Path) -> None:
    found = problems_of(tmp_path, _with_scrape({"timeout": "20s"}))
    assert len(found) == 1 and "services[0].scrape.timeout" in found[0] and "exceeds" in found[0] and "15s" in found[0]


@pytest.mark.parametrize(("scrape", "message"), [
    ({"tls": {"ca_file": f"{SECRETS}/ca.pem"}}, "set scheme: https"),
    ({"scheme": "https", "tls": {"cert_file": f"{SECRETS}/c.pem"}}, "go together"),
    ({"scheme": "https", "tls": {"ca_file": "ca.pem"}}, "is not absolute"),
    ({"labels": {"team": "x"}}, "set by Prometheus or stackgen"),
    ({"authorization": {"type": "Basic", "credentials": {"file": "/x"}}}, "use basic_auth"),
])
def test_inconsistent_settings_are_refused(tmp_path: Path, scrape: dict, message: str) -> None:
    found = problems_of(tmp_path, _with_scrape(scrape))
    assert len(found) == 1 and message in found[0], found
