"""Autoscaling on queue depth: a KEDA ScaledObject (Prometheus scaler) instead of the CPU HPA, validated
against KEDA's own CRD schema (vendored, hash-pinned)."""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path

import pytest

from stackgen.checks import crd
from stackgen.checks import kubernetes as k8s_check
from tests.targets_deploy.deploy_specs import base_doc, load, problems, render

QUEUE = """\
kubernetes:
  namespace: shop
  prometheus_url: http://prometheus.monitoring.svc:9090
  autoscaling:
    api:
      min_replicas: 2
      max_replicas: 10
      queue: {metric: queue_depth, target: 4, activation: 1, polling_interval: 15s}
"""


@pytest.fixture(scope="module")
def keda(tmp_path_factory):
    return render(tmp_path_factory.mktemp("keda"), tail=QUEUE)


def test_queue_autoscaling_renders_a_scaled_object_instead_of_an_hpa(keda):
    files = {p.name for p in (keda / "k8s/base").iterdir()}
    assert "api-scaledobject.yaml" in files and "api-hpa.yaml" not in files  # KEDA owns the HPA it creates
    scaler = base_doc(keda, "api-scaledobject.yaml")
    assert scaler["apiVersion"] == "keda.sh/v1alpha1" and scaler["kind"] == "ScaledObject"
    assert scaler["spec"] == {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
        "minReplicaCount": 2,
        "maxReplicaCount": 10,
        "pollingInterval": 15,
        "cooldownPeriod": 300,
        "triggers": [
            {"type": "prometheus", "name": "queue-depth", "metricType": "AverageValue", "metadata": {
                "serverAddress": "http://prometheus.monitoring.svc:9090",
                "query": 'sum(queue_depth{job="api",namespace="shop"})',
                "threshold": "4",
                "activationThreshold": "1",
            }},
            {"type": "cpu", "name": "cpu", "metricType": "Utilization", "metadata": {"value": "80"}},
        ],
    }


def test_cpu_only_autoscaling_is_still_the_hpa(tmp_path):
    root = render(tmp_path, tail="kubernetes:\n  autoscaling:\n    api: {min_replicas: 1, max_replicas: 3}\n")
    assert base_doc(root, "api-hpa.yaml")["kind"] == "HorizontalPodAutoscaler"
    assert not (root / "k8s/base/api-scaledobject.yaml").exists()


def test_the_scaled_object_passes_the_vendored_crd_schema_and_breaks_on_what_keda_refuses(keda):
    scaler = base_doc(keda, "api-scaledobject.yaml")
    assert crd.validate("base", [scaler]) == []
    typo = copy.deepcopy(scaler)
    typo["spec"]["pollingIntervall"] = 15  # the API server would prune it silently
    assert "'pollingIntervall' was unexpected" in crd.validate("base", [typo])[0].message
    untyped = copy.deepcopy(scaler)
    untyped["spec"]["triggers"][0]["metadata"]["threshold"] = 4  # metadata values are strings
    assert "is not of type 'string'" in crd.validate("base", [untyped])[0].message
    inverted = copy.deepcopy(scaler)
    inverted["spec"]["minReplicaCount"] = 11  # the CRD's CEL rule
    assert "minReplicaCount <= " in crd.validate("base", [inverted])[0].message
    no_triggers = copy.deepcopy(scaler)
    no_triggers["spec"]["triggers"] = []
    assert crd.validate("base", [no_triggers])


def test_the_vendored_crd_is_the_recorded_upstream_file_and_every_cel_rule_is_checked():
    source = (crd.SCHEMAS / "SOURCE.md").read_text()
    for file in {f for kinds in crd.CRDS.values() for f in kinds.values()}:
        digest = hashlib.sha256((crd.SCHEMAS / file).read_bytes()).hexdigest()
        row = next(line for line in source.splitlines() if line.startswith(f"| `{file}`"))
        assert digest in row and re.search(r"tag v\d+\.\d+\.\d+", row)
    for api_version, kinds in crd.CRDS.items():
        for kind in kinds:
            for _, rule in crd.cel_rules(api_version, kind):
                assert (kind, rule) in crd.CEL_RULES


@pytest.mark.slow
def test_stackgen_check_validates_the_scaled_object_and_refuses_two_autoscalers(keda, tmp_path):
    import shutil

    stack = load(keda.parent, tail=QUEUE)
    assert k8s_check.validate(keda, stack) == []
    root = tmp_path / "generated"
    shutil.copytree(keda, root)
    file = root / "k8s/base/api-scaledobject.yaml"
    file.write_text(file.read_text().replace("minReplicaCount: 2", "minReplicaCount: 2\n  minReplicas: 2")
                    .replace("query: sum(", "query: sum(("))
    hpa = render(tmp_path / "hpa", tail="kubernetes:\n  autoscaling:\n    api: {min_replicas: 1, max_replicas: 3}\n")
    shutil.copy(hpa / "k8s/base/api-hpa.yaml", root / "k8s/base/api-hpa.yaml")
    kustomization = root / "k8s/base/kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("- api-pdb.yaml", "- api-hpa.yaml\n- api-pdb.yaml"))
    messages = "\n".join(f"{d.rule}: {d.message}" for d in k8s_check.validate(root, stack))
    assert "'minReplicas' was unexpected" in messages and "ScaledObject CRD" in messages
    assert "both scale Deployment 'api'" in messages
    assert "the query does not parse as PromQL" in messages


@pytest.mark.parametrize(("scaling", "expected"), [
    ("{min_replicas: 1, max_replicas: 3, queue: {metric: http_requests_total, target: 4}}",
     "kubernetes.autoscaling.api.queue.metric: queue autoscaling needs a gauge"),
    ("{min_replicas: 1, max_replicas: 3, queue: {metric: jobs_waiting, target: 4}}",
     "metric 'jobs_waiting' is not in the metric contract of service 'api'"),
    ("{min_replicas: 1, max_replicas: 3, queue: {metric: queue_depth, matchers: ['kind=\"x\"'], target: 4}}",
     "label 'kind' is not declared on 'queue_depth'"),
    ("{min_replicas: 1, max_replicas: 3, queue: {metric: queue_depth, target: 0}}", "queue.target"),
    ("{min_replicas: 1, max_replicas: 3, queue: {metric: queue_depth, target: 4, polling_interval: 1500ms}}",
     "not a whole number of seconds"),
    ("{min_replicas: 1, max_replicas: 3, cpu_utilization: null}", "an autoscaler needs a metric"),
])
def test_queue_autoscaling_mistakes_are_refused_at_their_line(tmp_path, scaling, expected):
    assert expected in problems(tmp_path, tail=f"kubernetes:\n  autoscaling:\n    api: {scaling}\n")


def test_queue_only_scaling_has_no_cpu_trigger(tmp_path):
    tail = QUEUE.replace("polling_interval: 15s}", "polling_interval: 15s}\n      cpu_utilization: null")
    triggers = base_doc(render(tmp_path, tail=tail), "api-scaledobject.yaml")["spec"]["triggers"]
    assert [t["type"] for t in triggers] == ["prometheus"]


def test_the_llm_example_scales_on_its_queue():
    root = Path(__file__).resolve().parents[2] / "examples/llm-serving/generated"
    scaler = base_doc(root, "llm-server-scaledobject.yaml")
    assert scaler["spec"]["triggers"][0]["metadata"]["query"] == 'sum(llm_requests_waiting{job="llm-server",namespace="llm"})'
