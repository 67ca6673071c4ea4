"""An environment's PrometheusRule patch carries only what the environment overrides (issue 21: the dev
overlay was a 488-line copy of the whole rule, so every new alert showed up in it a third time).

The proof that the small patch is the same change: applied to the base PrometheusRule (by a tiny RFC 6902
applier here, and by kubectl's kustomize) it gives exactly what the old full copy held, the PrometheusRule
built from the environment's resolved rules (kubernetes.prometheus_rule(stack, service, env)).
"""

from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackgen.model import names
from stackgen.output.write import write_tree
from stackgen.pipeline import render_stack
from stackgen.resolve import load_stack
from stackgen.targets import kubernetes
from stackgen.targets.json_patch import pointer, replace_ops

SERVICE = "fugatto-audio-lab"
DEV_PATCH = f"k8s/overlays/dev/{SERVICE}-prometheusrule-patch.yaml"
BASE_RULE = f"{names.K8S_BASE_DIR}/{SERVICE}-prometheusrule.yaml"
NEW_ALERT = """      - name: DeepQueue
        kind: threshold
        severity: warning
        for: 5m
        gauge: {metric: fugatto_queue_depth}
        threshold: 50
        summary: Requests are piling up
        description: "{{ $value }} requests wait for the batch worker."
        runbook_url: https://runbooks.example.com/fugatto/DeepQueue
"""


class PatchFailed(Exception):
    pass


def _walk(doc: Any, path: str) -> tuple[Any, str | int]:
    """The parent of the pointer's target and the last key, failing where the path does not exist."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
    node = doc
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last: str | int = int(parts[-1]) if isinstance(node, list) else parts[-1]
    if isinstance(node, list) and not 0 <= int(last) < len(node) or isinstance(node, dict) and last not in node:
        raise PatchFailed(f"{path} does not exist")
    return node, last


def apply(doc: Any, ops: list[dict[str, Any]]) -> Any:
    """RFC 6902 `test` and `replace` (all stackgen emits) on a copy of `doc`."""
    out = copy.deepcopy(doc)
    for op in ops:
        parent, key = _walk(out, op["path"])
        if op["op"] == "test":
            if parent[key] != op["value"]:
                raise PatchFailed(f"test {op['path']}: {parent[key]!r} != {op['value']!r}")
        elif op["op"] == "replace":
            parent[key] = copy.deepcopy(op["value"])
        else:
            raise PatchFailed(f"unexpected op {op['op']!r}")
    return out


def _load(root: Path, rel: str) -> Any:
    return yaml.safe_load((root / rel).read_text())


def _render(spec: Path, root: Path) -> Path:
    write_tree(root, render_stack(load_stack(spec)))
    return root


def _kustomize(root: Path, folder: str) -> dict[str, dict]:
    out = subprocess.run(["kubectl", "kustomize", folder], cwd=root, capture_output=True, text=True, check=True)
    return {d["kind"]: d for d in yaml.safe_load_all(out.stdout) if d}


# --- the patch is the environment's change, nothing more ---------------------------------------------

def test_patch_applied_to_the_base_gives_the_old_full_copy(rendered, stack):
    for env in stack.spec.environments:
        for service in stack.spec.services:
            rel = f"k8s/overlays/{env.name}/{service.name}-prometheusrule-patch.yaml"
            base = _load(rendered, f"{names.K8S_BASE_DIR}/{service.name}-prometheusrule.yaml")
            oracle = kubernetes.prometheus_rule(stack, service, env)  # what the overlay used to copy whole
            if not (rendered / rel).exists():
                assert oracle == base, f"{env.name}: thresholds changed but no patch was written"
                continue
            assert apply(base, _load(rendered, rel)) == oracle


def test_kustomize_builds_the_overlay_to_the_environments_rules(rendered, stack):
    dev = next(e for e in stack.spec.environments if e.name == "dev")
    built = _kustomize(rendered, "k8s/overlays/dev")["PrometheusRule"]
    assert built["spec"]["groups"] == kubernetes.prometheus_rule(stack, stack.spec.services[0], dev)["spec"]["groups"]
    kustomization = _load(rendered, "k8s/overlays/dev/kustomization.yaml")
    entry = next(p for p in kustomization["patches"] if p["path"].endswith("prometheusrule-patch.yaml"))
    assert entry["target"] == {"group": "monitoring.coreos.com", "version": "v1", "kind": "PrometheusRule",
                               "name": SERVICE}


def test_dev_patch_is_small_and_touches_only_the_overridden_thresholds(rendered, stack):
    dev = next(e for e in stack.spec.environments if e.name == "dev")
    overridden = set(dev.services[SERVICE].alert_thresholds)
    text = (rendered / DEV_PATCH).read_text()
    ops = yaml.safe_load(text)
    base = _load(rendered, BASE_RULE)
    assert len(text.splitlines()) <= 50  # it was 488
    assert len(ops) == 2 * len(overridden)  # a test of the alert's name, then its expr
    named = set()
    for test, replace in zip(ops[::2], ops[1::2], strict=True):
        assert test["op"] == "test" and test["path"].endswith("/alert")
        assert replace["op"] == "replace" and replace["path"] == test["path"].removesuffix("/alert") + "/expr"
        assert apply(base, [test]) == base  # names the rule the replace changes
        named.add(test["value"])
    assert named == overridden


def test_a_stale_patch_fails_instead_of_changing_the_wrong_rule(rendered):
    base = _load(rendered, BASE_RULE)
    ops = _load(rendered, DEV_PATCH)
    rules = base["spec"]["groups"][0]["rules"]
    rules[0], rules[1] = rules[1], rules[0]  # the base's rules reordered under the patch
    with pytest.raises(PatchFailed, match="test /spec/groups/0/rules/0/alert"):
        apply(base, ops)


# --- adding an alert ---------------------------------------------------------------------------------

def _places(root: Path, name: str) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.read_text().count(f"alert: {name}\n")
            for p in sorted(root.rglob("*.y*ml")) if f"alert: {name}\n" in p.read_text()}


def test_a_new_alert_shows_once_per_place_it_is_deployed_and_not_in_the_overlay(spec_variant, tmp_path):
    before = _render(spec_variant(), tmp_path / "before")
    # appended after the overridden alerts: the overlay's patch does not change at all
    after = _render(spec_variant(("      - name: ServiceDown\n", NEW_ALERT + "      - name: ServiceDown\n")),
                    tmp_path / "after")
    deployed = {f: n for f, n in _places(after, "DeepQueue").items() if not f.startswith("prometheus/tests/")}
    assert deployed == {names.alert_rules_file(SERVICE): 1, BASE_RULE: 1}
    assert (after / DEV_PATCH).read_bytes() == (before / DEV_PATCH).read_bytes()


def test_a_new_first_alert_only_shifts_the_overlays_rule_indexes(spec_variant, tmp_path):
    before = _render(spec_variant(), tmp_path / "before")
    after = _render(spec_variant(("    alerts:\n", "    alerts:\n" + NEW_ALERT)), tmp_path / "after")
    assert "DeepQueue" not in (after / DEV_PATCH).read_text()
    old, new = _load(before, DEV_PATCH), _load(after, DEV_PATCH)
    assert [(o["op"], o["value"]) for o in old] == [(o["op"], o["value"]) for o in new]
    assert [re.sub(r"/rules/(\d+)/", lambda m: f"/rules/{int(m[1]) + 1}/", o["path"]) for o in old] == [
        o["path"] for o in new]
    assert _kustomize(after, "k8s/overlays/dev")["PrometheusRule"]["spec"]["groups"][0]["rules"][0]["alert"] == "DeepQueue"


def test_a_new_alert_the_environment_overrides_adds_two_ops(spec_variant, tmp_path):
    root = _render(spec_variant(
        ("      - name: ServiceDown\n", NEW_ALERT + "      - name: ServiceDown\n"),
        ("          HighErrorRate: 0.2\n", "          HighErrorRate: 0.2\n          DeepQueue: 10\n"),
    ), tmp_path / "out")
    ops = _load(root, DEV_PATCH)
    assert [o["value"] for o in ops[-2:]] == ["DeepQueue", 'fugatto_queue_depth{job="fugatto-audio-lab"} > 10']
    assert len(ops) == 10


# --- the diff itself ---------------------------------------------------------------------------------

def test_replace_ops_descend_where_shapes_agree_and_replace_whole_where_they_differ():
    base = {"a": [1, {"b": "x", "c/d": "y"}], "e": {"f": 1}}
    assert replace_ops(base, base) == []
    target = {"a": [1, {"b": "x", "c/d": "z"}], "e": {"f": 1, "g": 2}}
    ops = replace_ops(base, target)
    assert ops == [{"op": "replace", "path": "/a/1/c~1d", "value": "z"},
                   {"op": "replace", "path": "/e", "value": {"f": 1, "g": 2}}]
    assert apply(base, ops) == target
    assert replace_ops([1, 2], [1, 2, 3], "/l") == [{"op": "replace", "path": "/l", "value": [1, 2, 3]}]
    assert replace_ops({"n": 1}, {"n": 1.0}) == [{"op": "replace", "path": "/n", "value": 1.0}]
    assert pointer("spec", "a~b", 3) == "/spec/a~0b/3"
