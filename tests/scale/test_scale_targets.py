"""prometheus.replicas / shards / remote_write and alertmanager.replicas in every target."""

from __future__ import annotations

import copy
import shutil
import subprocess

import pytest
import yaml

from stackgen.checks import crd
from stackgen.checks import kubernetes as k8s_check
from stackgen.model.servers import shard_of
from tests.targets_deploy.deploy_specs import base_doc, compose_service, doc, problems, render

SECOND = """\
  - name: worker
    team: web
    image: {repository: example/worker, tag: "1.0.0"}
    ports: {http: 8082, metrics: 9102}
    resources:
      requests: {cpu: 100m, memory: 128Mi}
      limits: {cpu: 500m, memory: 256Mi}
    probes:
      liveness: {path: /live}
      readiness: {path: /ready}
      health: {path: /health}
    metrics:
      - {name: jobs_total, type: counter, help: Jobs.}
    alerts:
      - name: WorkerDown
        kind: target_down
        severity: warning
        for: 1m
        summary: worker down
        description: "{{ $labels.instance }} is down."
        runbook_url: https://runbooks.example.com/WorkerDown
"""
HA = """\
prometheus:
  external_labels: {stack: mini}
  replicas: 2
  shards: 2
  remote_write:
    - url: http://vm:8428/api/v1/write
      name: longterm
      authorization: {credentials: {file: /etc/prometheus/secrets/vm-token}}
      queue_config: {max_shards: 4, batch_send_deadline: 5s}
      write_relabel_configs:
        - {action: drop, source_labels: [__name__], regex: "go_.*"}
"""


@pytest.fixture(scope="module")
def ha(tmp_path_factory):
    # a second service (so the shards differ) and a three-peer Alertmanager
    return render(tmp_path_factory.mktemp("ha"), tail=HA,
                  edits=(("alertmanager:\n", SECOND + "alertmanager:\n  replicas: 3\n"),))


def test_one_config_per_server_with_its_replica_label_and_its_shard_of_jobs(ha):
    configs = {f"{s}-{r}": doc(ha, f"prometheus/prometheus-{s}-{r}.yml") for s in (0, 1) for r in (0, 1)}
    for name, config in configs.items():
        shard, replica = map(int, name.split("-"))
        assert config["global"]["external_labels"] == {"stack": "mini", "replica": str(replica)}
        jobs = {j["job_name"]: j for j in config["scrape_configs"]}
        assert jobs["prometheus"]["static_configs"][0]["targets"] == [f"prometheus-{name}:9090"]
        for service in ("api", "worker"):
            assert (service in jobs) == (shard_of(service, 2) == shard)
            if service in jobs:
                assert jobs[service]["relabel_configs"][:2] == [
                    {"action": "hashmod", "modulus": 2, "source_labels": ["job"], "target_label": "__tmp_hash"},
                    {"action": "keep", "regex": str(shard), "source_labels": ["__tmp_hash"]}]
        own = [f for s in ("api", "worker") if shard_of(s, 2) == shard for f in config["rule_files"] if f"/{s}-" in f]
        assert sorted(own) == sorted(config["rule_files"])
        assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
            "alertmanager-0:9093", "alertmanager-1:9093", "alertmanager-2:9093"]
        assert config["remote_write"] == [{
            "url": "http://vm:8428/api/v1/write", "name": "longterm",
            "authorization": {"type": "Bearer", "credentials_file": "/etc/prometheus/secrets/vm-token"},
            "queue_config": {"max_shards": 4, "batch_send_deadline": "5s"},
            "write_relabel_configs": [{"action": "drop", "regex": "go_.*", "source_labels": ["__name__"]}]}]
    # the whole-stack prometheus.yml keeps every job and no replica label
    whole = doc(ha, "prometheus/prometheus.yml")
    assert {"api", "worker"} <= {j["job_name"] for j in whole["scrape_configs"]}
    assert "replica" not in whole["global"]["external_labels"]


@pytest.mark.slow
def test_every_server_config_passes_promtool(ha, tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    token = tmp_path / "vm-token"
    token.write_text("x")
    for s in (0, 1):
        for r in (0, 1):
            config = doc(ha, f"prometheus/prometheus-{s}-{r}.yml")
            config["remote_write"][0]["authorization"]["credentials_file"] = str(token)
            config["rule_files"] = [str(ha / "prometheus" / f) for f in config["rule_files"]]
            path = tmp_path / f"p-{s}-{r}.yml"
            path.write_text(yaml.safe_dump(config))
            result = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, text=True)
            assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_each_server_and_an_alertmanager_gossip_cluster_on_loopback(ha):
    peers = [compose_service(ha, f"alertmanager-{i}") for i in range(3)]
    for i, peer in enumerate(peers):
        assert peer["ports"] == [f"127.0.0.1:{9093 + 100 * i}:9093"]
        flags = [f for f in peer["command"] if f.startswith("--cluster.peer=")]
        assert sorted(flags) == [f"--cluster.peer=alertmanager-{j}:9094" for j in range(3) if j != i]
        assert peer["networks"] == {"default": {"aliases": ["alertmanager"]}}
    ports = set()
    for s in (0, 1):
        for r in (0, 1):
            server = compose_service(ha, f"prometheus-{s}-{r}")
            assert f"../prometheus/prometheus-{s}-{r}.yml:/etc/prometheus/prometheus.yml:ro" in server["volumes"]
            ports |= set(server["ports"])
            assert ("networks" in server) == (s == 0)  # Grafana's "prometheus" is the first shard's pair
    assert ports == {f"127.0.0.1:{9090 + 100 * i}:9090" for i in range(4)}
    services = doc(ha, "compose/docker-compose.yml")["services"]
    assert "prometheus" not in services and "alertmanager" not in services


def test_kubernetes_prometheus_and_alertmanager_resources_pass_the_operator_schema(ha):
    prom = base_doc(ha, "prometheus.yaml")
    assert prom["spec"]["replicas"] == 2 and prom["spec"]["shards"] == 2
    assert prom["spec"]["replicaExternalLabelName"] == "replica"
    assert prom["spec"]["remoteWrite"][0]["authorization"]["credentialsFile"].endswith("/vm-token")
    am = base_doc(ha, "alertmanager.yaml")
    assert am["spec"]["replicas"] == 3 and "podAntiAffinity" in am["spec"]["affinity"]
    pdbs = [base_doc(ha, "prometheus-pdb.yaml"), base_doc(ha, "alertmanager-pdb.yaml")]
    docs = [prom, am, *pdbs]
    assert crd.validate("base", docs) == []
    # the PDBs select the operator's pods (the config Secret is kustomize's, absent from this list)
    assert not [p for p in k8s_check.references(docs) if "PodDisruptionBudget" in p or "pdb" in p]
    assert [p for p in k8s_check.references([*pdbs]) if "matches no" in p]  # without the resources they select
    typo = copy.deepcopy(prom)
    typo["spec"]["shard"] = 2  # the strict schema refuses a key the operator would prune
    assert crd.validate("base", [typo])
    bad = copy.deepcopy(prom)
    bad["spec"]["replicas"] = "two"
    assert crd.validate("base", [bad])


def test_default_stack_has_no_prometheus_resource_nor_extra_configs(tmp_path):
    root = render(tmp_path)
    assert not (root / "k8s/base/prometheus.yaml").exists()
    assert sorted(p.name for p in (root / "prometheus").glob("*.yml")) == ["prometheus.yml"]
    assert "replica" not in yaml.safe_dump(doc(root, "prometheus/prometheus.yml"))


def test_bad_scaling_settings_are_refused_where_written(tmp_path):
    assert "replica_label" in problems(tmp_path, tail="prometheus:\n  external_labels: {replica: a}\n")
    assert "at most 100" in problems(tmp_path, tail="prometheus:\n  replicas: 10\n  shards: 11\n")
    assert "cluster_port must differ" in problems(tmp_path, edits=(("alertmanager:\n", "alertmanager:\n  cluster_port: 9093\n"),))
    assert "basic_auth and authorization" in problems(tmp_path, tail=(
        "prometheus:\n  remote_write:\n    - url: http://vm/api/v1/write\n"
        "      basic_auth: {username: u, password: {file: /etc/prometheus/secrets/p}}\n"
        "      authorization: {credentials: {file: /etc/prometheus/secrets/t}}\n"))


@pytest.mark.slow
def test_stackgen_check_runs_promtool_on_each_server_config(ha, tmp_path):
    from stackgen.checks import promtool
    from stackgen.resolve import load_stack

    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed")
    root = tmp_path / "generated"
    shutil.copytree(ha, root)
    stack = load_stack(ha.parent / "stack.yaml", root)
    assert promtool.validate(root, stack) == []  # the credentials file stands in, the rule files resolve
    broken = root / "prometheus/prometheus-1-0.yml"
    broken.write_text(broken.read_text().replace("scrape_interval: 15s", "scrape_interval: soon", 1))
    assert [f.file for f in promtool.validate(root, stack)] == ["prometheus/prometheus-1-0.yml"]
