"""The core Kubernetes kinds against kubernetes-validate's strict JSON Schemas, in process.

kubernetes-validate bundles the Kubernetes OpenAPI schemas of each release as JSON Schema. Its command
line re-reads the 1.3 MB definitions file and rebuilds a validator for every resource, in a Python of its
own per call: most of `check`'s Kubernetes time on the bundled stack, and hours at a thousand services.
Here each schema is read once and each kind's validator built once; the schemas, the version chosen
(the newest bundled release not newer than the one asked for) and the verdicts are the library's.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from stackgen.checks import json_schema
from stackgen.checks.tools import find_python_library


@cache
def _validator(version: str, api_version: str, kind: str) -> Any | None:
    """A strict Draft 2020-12 validator of one kind; None when the release has no schema for it."""
    import jsonschema
    from referencing import Registry, Resource

    utils = find_python_library("kubernetes_validate.utils", "kubernetes-validate")
    # As kubernetes_validate.validate: `rbac.authorization.k8s.io/v1` -> `rbac-v1`, files under v<release>-local-strict.
    folder = f"kubernetes-json-schema/v{version}-local-strict"
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = utils.schema_contents(f"{folder}/{kind.lower()}-{group}.json", version)
    except FileNotFoundError:
        return None
    registry = Resource.from_contents(_definitions(version)) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


@cache
def _definitions(version: str) -> dict[str, Any]:
    utils = find_python_library("kubernetes_validate.utils", "kubernetes-validate")
    return utils.schema_contents(f"kubernetes-json-schema/v{version}-local-strict/_definitions.json", version)


@cache
def schema_release(desired: str) -> str:
    """The bundled release validated against: the newest not newer than `desired`'s major.minor."""
    from packaging.version import Version

    utils = find_python_library("kubernetes_validate.utils", "kubernetes-validate")
    wanted = Version(utils.major_minor(desired))
    releases = [v for v in utils.all_versions() if Version(utils.major_minor(v)) <= wanted]
    if not releases or wanted > Version(utils.major_minor(utils.latest_version())):
        raise ValueError(f"kubernetes-validate has no schemas for Kubernetes {desired}; upgrade it")
    return releases[-1]


def problems(doc: dict[str, Any], desired: str) -> list[str]:
    """What the API server's schema rejects in `doc`, as `path: message`; [] for a kind it has no schema of."""
    validator = _validator(schema_release(desired), str(doc.get("apiVersion", "")), str(doc.get("kind", "")))
    if validator is None:
        return []
    return json_schema.problems(validator, doc)


def problems_of(docs: list[dict[str, Any]], desired: str) -> list[tuple[dict[str, Any], str]]:
    """Every (doc, problem) of `docs`. The library is looked up here on every call, not only when the schema
    cache is first filled, so that each `check` run records it (checks/cache.py); ToolMissing without it."""
    find_python_library("kubernetes_validate.utils", "kubernetes-validate")
    return [(doc, problem) for doc in docs for problem in problems(doc, desired)]
