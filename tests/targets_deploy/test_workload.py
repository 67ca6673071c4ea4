"""Deployment settings: startup probe, volumes, /dev/shm, placement, GPU resource, security context, Ingress, compose GPUs.

Each setting is rendered from the spec, refused at its line when a cluster or Docker would refuse it (or
silently misbehave), and the rendered trees pass the real validators (tests marked slow).
"""

from __future__ import annotations

import pytest

from stackgen.checks import compose as compose_check
from stackgen.checks import kubernetes as k8s_check
from stackgen.spec.kube import label_key, quantity_bytes
from tests.targets_deploy.deploy_specs import base_doc, compose_service, load, problems, render

GPU = ("    resources:\n      requests: {cpu: 100m, memory: 128Mi}\n      limits: {cpu: 500m, memory: 256Mi}\n",
       "    gpu: true\n    resources:\n      requests: {cpu: 100m, memory: 128Mi, gpu: 1}\n"
       "      limits: {cpu: 500m, memory: 256Mi, gpu: 1}\n")
EVERYTHING = """\
    shm_size: 64Mi
    volumes:
      - {name: model-cache, mount: /models, size: 50Gi, storage_class: fast-ssd}
      - {name: weights, mount: /weights, size: 1Ti, access_mode: ReadOnlyMany, read_only: true}
"""
WORKLOAD = """\
compose:
  services:
    api: {gpu_devices: ["1", GPU-6f1c7a52-3e1b-4c8e-9d2a-0b5e8f1c2d3e]}
kubernetes:
  gpu_resource: amd.com/gpu
  services:
    api:
      node_selector: {cloud.google.com/gke-accelerator: nvidia-l4, pool: gpu}
      tolerations:
        - {key: dedicated, value: inference, effect: NoSchedule}
        - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, seconds: 60}
      affinity:
        nodes: [{key: topology.kubernetes.io/zone, operator: In, values: [europe-west4-a, europe-west4-b]}]
        preferred_nodes: [{weight: 50, match: [{key: gpu-count, operator: Gt, values: ["1"]}]}]
        spread: required
      security_context: {run_as_user: 2000, fs_group: 3000, read_only_root_filesystem: false}
      ingress:
        host: api.example.com
        path: /v1
        class_name: nginx
        tls_secret: api-example-com-tls
        annotations: {nginx.ingress.kubernetes.io/proxy-read-timeout: "300"}
"""


@pytest.fixture(scope="module")
def everything(tmp_path_factory):
    return render(tmp_path_factory.mktemp("everything"), EVERYTHING, WORKLOAD, edits=(GPU,))


def _pod(root):
    return base_doc(root, "api-deployment.yaml")["spec"]["template"]["spec"]


def test_startup_probe_holds_off_liveness_while_the_model_loads(tmp_path):
    root = render(tmp_path, edits=(("      health: {path: /health}\n", "      health: {path: /health}\n"
                                    "      startup: {path: /ready, period: 10s, failure_threshold: 60}\n"),))
    (container,) = _pod(root)["containers"]
    assert container["startupProbe"] == {"httpGet": {"path": "/ready", "port": "http"}, "initialDelaySeconds": 0,
                                         "periodSeconds": 10, "timeoutSeconds": 1, "failureThreshold": 60}
    assert "startupProbe" not in _pod(render(tmp_path / "plain"))["containers"][0]  # unset: none, as before


def test_volumes_become_claims_and_named_volumes(everything):
    cache = base_doc(everything, "api-model-cache-pvc.yaml")
    assert cache["kind"] == "PersistentVolumeClaim" and cache["metadata"]["name"] == "api-model-cache"
    assert cache["spec"] == {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "50Gi"}},
                             "storageClassName": "fast-ssd"}
    assert base_doc(everything, "api-weights-pvc.yaml")["spec"]["accessModes"] == ["ReadOnlyMany"]
    pod = _pod(everything)
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["model-cache"]["persistentVolumeClaim"] == {"claimName": "api-model-cache"}
    assert volumes["weights"]["persistentVolumeClaim"] == {"claimName": "api-weights", "readOnly": True}
    mounts = {m["mountPath"]: m for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["/models"] == {"name": "model-cache", "mountPath": "/models"}
    assert mounts["/weights"]["readOnly"] is True
    assert "api-model-cache-pvc.yaml" in base_doc(everything, "kustomization.yaml")["resources"]
    svc = compose_service(everything)
    assert {"api-model-cache:/models", "api-weights:/weights:ro"} <= set(svc["volumes"])
    from tests.targets_deploy.deploy_specs import doc
    assert {"api-model-cache", "api-weights"} <= set(doc(everything, "compose/docker-compose.yml")["volumes"])


def test_shm_size_is_a_memory_emptydir_and_compose_shm_size(everything):
    pod = _pod(everything)
    assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}} in pod["volumes"]
    assert {"name": "dshm", "mountPath": "/dev/shm"} in pod["containers"][0]["volumeMounts"]
    assert compose_service(everything)["shm_size"] == 64 * 2**20


def test_placement_gpu_resource_and_security_context(everything):
    pod = _pod(everything)
    assert pod["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4", "pool": "gpu"}
    assert pod["tolerations"] == [  # written out: they replace the default GPU toleration
        {"key": "dedicated", "operator": "Equal", "value": "inference", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60},
    ]
    node = pod["affinity"]["nodeAffinity"]
    assert node["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"] == [{"matchExpressions": [
        {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["europe-west4-a", "europe-west4-b"]}]}]
    assert node["preferredDuringSchedulingIgnoredDuringExecution"] == [
        {"weight": 50, "preference": {"matchExpressions": [{"key": "gpu-count", "operator": "Gt", "values": ["1"]}]}}]
    assert pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == [
        {"labelSelector": {"matchLabels": {"app.kubernetes.io/name": "api"}}, "topologyKey": "kubernetes.io/hostname"}]
    (container,) = pod["containers"]
    assert container["resources"]["limits"] == {"cpu": "500m", "memory": "256Mi", "amd.com/gpu": 1}
    assert container["securityContext"]["readOnlyRootFilesystem"] is False
    assert pod["securityContext"] | {} == {"runAsNonRoot": True, "runAsUser": 2000, "runAsGroup": 2000,
                                           "fsGroup": 3000, "seccompProfile": {"type": "RuntimeDefault"}}


def test_a_gpu_service_tolerates_its_vendors_gpu_taint_by_default(tmp_path):
    root = render(tmp_path, tail="kubernetes:\n  services:\n    api: {gpu_resource: nvidia.com/mig-1g.10gb}\n",
                  edits=(GPU,))
    pod = _pod(root)
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert pod["containers"][0]["resources"]["requests"]["nvidia.com/mig-1g.10gb"] == 1
    none = render(tmp_path / "none", tail="kubernetes:\n  services:\n    api: {tolerations: []}\n", edits=(GPU,))
    assert "tolerations" not in _pod(none)


def test_environment_resources_use_the_services_gpu_resource(tmp_path):
    tail = ("kubernetes:\n  gpu_resource: amd.com/gpu\nenvironments:\n  - name: dev\n    services:\n      api:\n"
            "        resources:\n          requests: {cpu: 100m, memory: 128Mi, gpu: 1}\n"
            "          limits: {cpu: 200m, memory: 256Mi, gpu: 1}\n")
    root = render(tmp_path, tail=tail, edits=(GPU,))
    from tests.targets_deploy.deploy_specs import doc
    patch = doc(root, "k8s/overlays/dev/api-deployment-patch.yaml")
    assert patch["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["amd.com/gpu"] == 1


def test_ingress_routes_the_host_to_the_http_port_with_tls(everything):
    ingress = base_doc(everything, "api-ingress.yaml")
    assert ingress["apiVersion"] == "networking.k8s.io/v1"
    assert ingress["metadata"]["annotations"] == {"nginx.ingress.kubernetes.io/proxy-read-timeout": "300"}
    assert ingress["spec"] == {
        "ingressClassName": "nginx",
        "tls": [{"hosts": ["api.example.com"], "secretName": "api-example-com-tls"}],
        "rules": [{"host": "api.example.com", "http": {"paths": [
            {"path": "/v1", "pathType": "Prefix",
             "backend": {"service": {"name": "api", "port": {"name": "http"}}}}]}}],
    }


def test_compose_selects_gpus_by_device_id(everything, tmp_path):
    (device,) = compose_service(everything)["deploy"]["resources"]["reservations"]["devices"]
    assert device == {"driver": "nvidia", "device_ids": ["1", "GPU-6f1c7a52-3e1b-4c8e-9d2a-0b5e8f1c2d3e"],
                      "capabilities": ["gpu"]}  # no count: compose refuses both
    (device,) = compose_service(render(tmp_path, edits=(GPU,)))["deploy"]["resources"]["reservations"]["devices"]
    assert device == {"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}


@pytest.mark.slow
def test_the_rendered_trees_pass_kubernetes_validate_kustomize_and_the_compose_schema(everything):
    stack = load(everything.parent)
    assert k8s_check.validate(everything, stack) == []
    assert compose_check.validate(everything, stack) == []


@pytest.mark.slow
def test_the_validators_catch_a_broken_claim_ingress_and_compose_gpu(everything, tmp_path):
    import shutil

    import yaml

    root = tmp_path / "generated"
    shutil.copytree(everything, root)
    stack = load(everything.parent)
    dep_file = root / "k8s/base/api-deployment.yaml"
    dep_file.write_text(dep_file.read_text().replace("claimName: api-model-cache", "claimName: api-cache"))
    ing_file = root / "k8s/base/api-ingress.yaml"
    ing_file.write_text(ing_file.read_text().replace("name: http", "name: web"))
    messages = "\n".join(d.message for d in k8s_check.validate(root, stack))
    assert "claims 'api-cache', which is not generated" in messages
    assert "routes to port 'web'" in messages
    compose_file = root / "compose/docker-compose.yml"
    compose = yaml.safe_load(compose_file.read_text())
    compose["services"]["api"]["deploy"]["resources"]["reservations"]["devices"][0]["device_ids"] = "1"  # not a list
    compose_file.write_text(yaml.safe_dump(compose))
    assert any("vendor.compose-spec" in d.rule for d in compose_check.validate(root, stack))


# --- refused at the spec line ------------------------------------------------------------------

@pytest.mark.parametrize(("service", "tail", "edits", "expected"), [
    ("    replicas: 2\n    volumes: [{name: cache, mount: /c, size: 1Gi}]\n", "", (),
     "services[0].volumes[0].access_mode: ReadWriteOnce lets one node mount volume 'cache' at a time"),
    ("    volumes: [{name: cache, mount: /tmp, size: 1Gi}]\n", "", (), "cannot mount a volume at /tmp"),
    ("    volumes: [{name: cache, mount: /c, size: 1Gi, access_mode: ReadOnlyMany}]\n", "", (),
     "a ReadOnlyMany claim is mounted read_only: true"),
    ("    volumes: [{name: cache, mount: /c, size: 500m}]\n", "", (), "services[0].volumes[0].size"),
    ("    volumes: [{name: cache, mount: /c/, size: 1Gi}]\n", "", (), "drop the trailing '/'"),
    ("    volumes: [{name: a, mount: /c, size: 1Gi}, {name: b, mount: /c, size: 1Gi}]\n", "", (),
     "two volumes are mounted at /c"),
    ("    shm_size: 256Mi\n", "", (), "shm_size 256Mi is not below limits.memory 256Mi"),
    ("    volumes: [{name: cache, mount: /c, size: 1Gi}]\n",
     "kubernetes:\n  autoscaling:\n    api: {min_replicas: 1, max_replicas: 3}\n", (),
     "kubernetes.autoscaling.api.max_replicas: 3 replicas would share volume 'cache'"),
    ("    shm_size: 128Mi\n", "environments:\n  - name: dev\n    services:\n      api:\n        resources:\n"
     "          requests: {cpu: 100m, memory: 64Mi}\n          limits: {cpu: 100m, memory: 128Mi}\n", (),
     "environments[0].services.api.resources.limits.memory: limits.memory 128Mi is not above shm_size 128Mi"),
    ("", "kubernetes:\n  services:\n    web: {node_selector: {pool: gpu}}\n", (),
     "kubernetes.services.web: service 'web' is not defined"),
    ("", "compose:\n  services:\n    api: {gpu_devices: ['0']}\n", (),
     "compose.services.api.gpu_devices: service 'api' has gpu: false"),
    ("", "compose:\n  services:\n    api: {gpu_devices: ['0']}\n",
     ((GPU[0], GPU[1].replace("gpu: 1}\n", "gpu: 2}\n")),), "1 GPU(s) listed, but service 'api' asks for 2"),
    ("", "compose:\n  services:\n    api: {gpu_devices: [gpu0]}\n", (GPU,),
     "compose.services.api.gpu_devices[0]: string should match"),
    ("", "kubernetes:\n  services:\n    api: {gpu_resource: nvidia.com/gpu}\n", (), "has gpu: false"),
    ("", "kubernetes:\n  gpu_resource: gpu\n", (), "kubernetes.gpu_resource: string should match pattern"),
    ("", "kubernetes:\n  gpu_resource: kubernetes.io/gpu\n", (), "reserved for native resources"),
    ("", "kubernetes:\n  services:\n    api: {node_selector: {Bad_Prefix/pool: gpu}}\n", (), "node_selector"),
    ("", "kubernetes:\n  services:\n    api:\n      tolerations: [{key: a, operator: Exists, value: b}]\n", (),
     "an Exists toleration matches any value"),
    ("", "kubernetes:\n  services:\n    api:\n      tolerations: [{key: a, value: b, seconds: 5}]\n", (),
     "seconds (tolerationSeconds) applies to the NoExecute effect only"),
    ("", "kubernetes:\n  services:\n    api:\n      affinity: {nodes: [{key: zone, operator: In}]}\n", (),
     "operator In needs values"),
    ("", "kubernetes:\n  services:\n    api:\n      affinity: {nodes: [{key: n, operator: Gt, values: [x]}]}\n", (),
     "operator Gt takes exactly one integer value"),
    ("", "kubernetes:\n  services:\n    api:\n      security_context: {run_as_user: 0}\n", (), "0 is root"),
    ("", "kubernetes:\n  services:\n    api:\n      ingress: {host: 10.0.0.1}\n", (), "not an IP address"),
    ("", "kubernetes:\n  services:\n    api:\n      ingress: {host: API.example.com}\n", (), "not an Ingress host"),
    ("", "kubernetes:\n  services:\n    api:\n      ingress: {host: a.example.com, tls_secret: My_Cert}\n", (),
     "kubernetes.services.api.ingress.tls_secret"),
])
def test_settings_a_cluster_or_docker_would_refuse_are_refused_at_their_line(tmp_path, service, tail, edits, expected):
    found = problems(tmp_path, service, tail, edits)
    assert expected in found
    assert all(line.startswith(str(tmp_path)) and ":" in line for line in found.splitlines())  # located, one line each


def test_wildcard_ingress_hosts_and_int_or_label_syntax_are_accepted(tmp_path):
    stack = load(tmp_path, tail="kubernetes:\n  services:\n    api:\n      ingress: {host: '*.apps.example.com'}\n"
                                "      node_selector: {example.com/pool: gpu-a100_80gb}\n")
    assert stack.spec.kubernetes.services["api"].ingress.host == "*.apps.example.com"


def test_label_keys_and_quantities_follow_kubernetes():
    assert label_key("nvidia.com/gpu.product") == "nvidia.com/gpu.product"
    for bad in ("-pool", "a" * 64, "Example.com/pool", "example..com/pool", "/pool"):
        with pytest.raises(ValueError):
            label_key(bad)
    assert quantity_bytes("1Gi") == 2**30 and quantity_bytes("2G") == 2 * 10**9 and quantity_bytes("512") == 512
    assert quantity_bytes("1500m") == 1
