"""The deployment settings are documented where users look: the JSON Schema (every field described) and
docs/spec.md (an example that is itself a valid spec, rendered and validated)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stackgen.checks import kubernetes as k8s_check
from stackgen.output.write import write_tree
from stackgen.pipeline import render_stack
from stackgen.resolve import load_stack
from stackgen.targets.schema import schema

REPO = Path(__file__).resolve().parents[2]
# The spec models of the deployment settings: every field of each has a description.
DEPLOY_MODELS = ("Compose", "ComposeService", "Kubernetes", "Autoscaling", "QueueScaling", "Workload", "Toleration",
                 "NodeRequirement", "PreferredNodes", "Affinity", "SecurityContext", "Ingress", "Volume",
                 "Environment", "ServiceOverride")
SERVICE_FIELDS = ("volumes", "shm_size")


def _example() -> str:
    text = (REPO / "docs/spec.md").read_text()
    section = text.split("## Deployment settings", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```yaml\n(.*?)```", section, re.S)
    return block


def test_every_deployment_field_has_a_description():
    defs = schema()["$defs"]
    missing = [f"{model}.{name}" for model in DEPLOY_MODELS for name, prop in defs[model]["properties"].items()
               if not prop.get("description")]
    missing += [f"Service.{name}" for name in SERVICE_FIELDS if not defs["Service"]["properties"][name].get("description")]
    missing += [] if defs["Probes"]["properties"]["startup"].get("description") else ["Probes.startup"]
    assert missing == []


@pytest.mark.slow
def test_the_documented_example_is_a_valid_spec_that_renders_and_validates(tmp_path):
    spec = tmp_path / "stack.yaml"
    spec.write_text(_example())
    stack = load_stack(spec)
    assert stack.spec.kubernetes.autoscaling["api"].queue is not None and stack.spec.services[0].volumes
    root = tmp_path / "generated"
    write_tree(root, render_stack(stack))
    assert (root / "k8s/base/api-scaledobject.yaml").exists() and (root / "k8s/base/api-ingress.yaml").exists()
    assert k8s_check.validate(root, stack) == []
