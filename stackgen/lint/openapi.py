"""Every probe path (liveness, readiness, health, startup when set) is a GET operation of the service's OpenAPI document.

A probe against a path the app does not serve answers 404 forever: Kubernetes restarts the pod in
a loop and compose marks it unhealthy. Rule ids: openapi-probe-path, openapi-missing (warning),
openapi-unreadable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from stackgen.diagnostics import WARNING, Diagnostic
from stackgen.lint.context import Context

PROBES = ("liveness", "readiness", "health", "startup")


def check(ctx: Context) -> Iterator[Diagnostic]:
    for i, service in enumerate(ctx.spec.services):
        if service.openapi is None:
            yield ctx.finding("openapi-missing", ("services", i, "probes"),
                              f"no OpenAPI document declared for service {service.name}: its probe paths "
                              f"are not checked against the routes the app serves",
                              "export the app's OpenAPI JSON next to the spec and set services[].openapi",
                              WARNING)
            continue
        document = ctx.spec_dir / service.openapi
        try:
            data = json.loads(document.read_text(encoding="utf-8"))
            paths: dict[str, Any] = data["paths"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            yield ctx.finding("openapi-unreadable", ("services", i, "openapi"),
                              f"cannot read the OpenAPI document {document}: {type(exc).__name__}: {exc}",
                              "point openapi at the exported JSON document (with a `paths` object)")
            continue
        for probe in PROBES:
            if getattr(service.probes, probe) is None:  # startup is optional
                continue
            path = getattr(service.probes, probe).path
            if not _served(paths, path):
                gets = sorted(p for p, ops in paths.items() if isinstance(ops, dict) and "get" in ops)
                yield ctx.finding("openapi-probe-path", ("services", i, "probes", probe, "path"),
                                  f"the {probe} probe requests GET {path}, which {service.openapi} does not "
                                  f"serve (GET paths: {', '.join(gets) or 'none'})",
                                  "probe a path the app serves, or add the route to the app and re-export "
                                  "the document")


def _served(paths: dict[str, Any], path: str) -> bool:
    for template, operations in paths.items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and isinstance(operations, dict) and "get" in operations:
            return True
    return False
