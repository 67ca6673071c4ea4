"""Custom resources validated against their CustomResourceDefinition's own schema, as the API server would.

kubernetes-validate knows only the core kinds. For KEDA's ScaledObject the CRD that KEDA installs is
vendored (stackgen/checks/schemas/, source and version in SOURCE.md), and its `openAPIV3Schema` is
turned into a JSON Schema that jsonschema applies to each built document, in process. Strict, like
`kubernetes-validate --strict`: an object with declared properties rejects any other key (the API
server would silently prune it, so a typo would be lost). `x-kubernetes-int-or-string` becomes
integer-or-string. CEL rules (`x-kubernetes-validations`) are not JSON Schema: the ones the vendored
CRDs hold are listed in CEL_RULES and checked in Python; a CRD update with a new rule fails the test
that compares the two.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from stackgen.checks import fast_yaml
from stackgen.checks import json_schema as json_schema_check
from stackgen.checks.tools import ToolMissing, find_python_library, missing_finding
from stackgen.diagnostics import Diagnostic

SCHEMAS = Path(__file__).parent / "schemas"
# apiVersion -> kind -> vendored CRD file
CRDS = {"keda.sh/v1alpha1": {"ScaledObject": "keda.sh_scaledobjects.yaml"},
        # prometheus-operator's CRDs are ~1.4 MB: vendored cut down to the fields stackgen emits (SOURCE.md).
        "monitoring.coreos.com/v1": {"Prometheus": "monitoring.coreos.com_prometheuses.subset.yaml",
                                     "Alertmanager": "monitoring.coreos.com_alertmanagers.subset.yaml"}}


def _min_not_above_max(spec: dict[str, Any]) -> bool:
    return "minReplicaCount" not in spec or spec["minReplicaCount"] <= spec.get("maxReplicaCount", 100)


def _external_id_needs_role(sigv4: dict[str, Any]) -> bool:
    return "externalId" not in sigv4 or "roleArn" in sigv4


# (kind, rule as the CRD writes it) -> the same rule in Python, applied to the object the rule sits on (spec).
CEL_RULES = {
    ("ScaledObject", "!has(self.minReplicaCount) || self.minReplicaCount <= (has(self.maxReplicaCount) "
                     "? self.maxReplicaCount : 100)"): _min_not_above_max,
    ("Prometheus", "!has(self.externalId) || has(self.roleArn)"): _external_id_needs_role,
}


def _strict(node: Any) -> Any:
    """An OpenAPI v3 structural schema as a strict JSON Schema."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if ("properties" in node and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


@cache
def crd(file: str) -> dict[str, Any]:
    return fast_yaml.load((SCHEMAS / file).read_text(encoding="utf-8"))


def json_schema(api_version: str, kind: str) -> dict[str, Any]:
    """The strict JSON Schema of one served version of a vendored CRD."""
    definition = crd(CRDS[api_version][kind])
    version = api_version.rsplit("/", 1)[1]
    (served,) = [v for v in definition["spec"]["versions"] if v["name"] == version]
    schema = _strict(served["schema"]["openAPIV3Schema"])
    schema["properties"]["apiVersion"] = {"const": api_version}
    schema["properties"]["kind"] = {"const": kind}
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata", "spec"})
    return {"$schema": "http://json-schema.org/draft-07/schema#", **schema}


def cel_rules(api_version: str, kind: str) -> list[tuple[tuple[str, ...], str]]:
    """(path of the object carrying the rule, rule) for every CEL rule in the CRD's schema."""
    definition = crd(CRDS[api_version][kind])
    version = api_version.rsplit("/", 1)[1]
    (served,) = [v for v in definition["spec"]["versions"] if v["name"] == version]
    found: list[tuple[tuple[str, ...], str]] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            found.extend((path, rule["rule"]) for rule in node.get("x-kubernetes-validations", []))
            for name, child in node.get("properties", {}).items():
                walk(child, (*path, name))
            if isinstance(node.get("items"), dict):
                walk(node["items"], (*path, "[]"))

    walk(served["schema"]["openAPIV3Schema"], ())
    return found


def custom(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d.get("kind") in CRDS.get(str(d.get("apiVersion")), {})]


@cache
def _validator(api_version: str, kind: str) -> Any:
    return json_schema_check.validator(json_schema(api_version, kind))


def _cel_findings(label: str, api_version: str, kind: str, doc: dict[str, Any]) -> list[Diagnostic]:
    findings = []
    for where, rule in cel_rules(api_version, kind):
        check = CEL_RULES.get((kind, rule))
        target = doc
        for step in where:
            target = target.get(step, {}) if isinstance(target, dict) else {}
        if check is None:
            findings.append(Diagnostic(label, rule=f"{kind} CRD", message=f"the vendored CRD's CEL rule "
                                       f"{rule!r} is not known to stackgen.checks.crd"))
        elif isinstance(target, dict) and not check(target):
            findings.append(Diagnostic(label, rule=f"{kind} CRD", message=f"{kind} "
                                       f"{doc['metadata'].get('name')!r} breaks {rule!r}"))
    return findings


def validate(label: str, docs: list[dict[str, Any]]) -> list[Diagnostic]:
    """Every document of a vendored CRD kind against its schema and its CEL rules. The schema is applied in
    process with jsonschema, as check-jsonschema would apply it (the validator its `$schema` names, formats
    checked): a check-jsonschema process per kind and folder was a third of the Kubernetes check's time."""
    docs = custom(docs)
    if not docs:
        return []
    try:
        find_python_library("jsonschema", "jsonschema")  # recorded like a tool (the check cache)
    except ToolMissing as exc:
        return [missing_finding(exc, label)]
    findings: list[Diagnostic] = []
    for doc in docs:
        api_version, kind = doc["apiVersion"], doc["kind"]
        findings += _cel_findings(label, api_version, kind, doc)
        if problems := json_schema_check.problems(_validator(api_version, kind), doc):
            name = doc.get("metadata", {}).get("name") if isinstance(doc.get("metadata"), dict) else None
            findings.append(Diagnostic(label, rule=f"{kind} CRD schema ({CRDS[api_version][kind]})",
                                       message="\n".join(f"{kind} {name!r}: {p}" for p in problems)))
    return findings
