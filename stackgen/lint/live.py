"""`stackgen lint --live URL`: compare a real /metrics exposition with the service's metric contract.

The contract is what alerts, dashboards and SLOs are built on; the exposition is what Prometheus will
actually store. Rule ids: live-unreachable, live-missing-metric, live-optional-absent (warning),
live-type-mismatch, live-label-mismatch, live-undeclared-metric.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field

from stackgen.diagnostics import ERROR, WARNING, Diagnostic
from stackgen.lint.context import Context
from stackgen.spec.service import Metric, Service

# Collectors every prometheus_client process exposes; not part of any service's contract.
IGNORED_PREFIXES = ("python_", "process_")
# Labels the exposition format itself adds to histogram/summary samples.
FORMAT_LABELS = frozenset({"le", "quantile"})


@dataclass
class Family:
    name: str
    type: str
    labels: set[str] = field(default_factory=set)
    samples: int = 0


def fetch(url: str, timeout: float = 10.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - the user's URL
        return response.read().decode("utf-8")


def parse(text: str) -> dict[str, Family]:
    """Families by name as the exposition declares them (counters without `_total`, as the parser reports)."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, Family] = {}
    for fam in text_string_to_metric_families(text):
        family = out.setdefault(fam.name, Family(fam.name, fam.type))
        for sample in fam.samples:
            if sample.name.endswith("_created"):
                continue
            family.samples += 1
            family.labels |= set(sample.labels) - FORMAT_LABELS
    return out


def check(ctx: Context, url: str, service: Service) -> Iterator[Diagnostic]:
    try:
        families = parse(fetch(url))
    except (urllib.error.URLError, OSError, ValueError, UnicodeDecodeError) as exc:
        yield Diagnostic(url, rule="live-unreachable", severity=ERROR,
                         message=f"cannot read a metrics exposition from {url}: {exc}",
                         fix="pass the URL of the running service's metrics endpoint (e.g. http://127.0.0.1:8001/metrics)")
        return
    i = ctx.service_index(service)
    matched: set[str] = set()
    for j, metric in enumerate(service.metrics):
        family = _family(families, metric)
        where = ("services", i, "metrics", j, "name")
        if family is None:
            if metric.optional:
                yield ctx.finding("live-optional-absent", where,
                                  f"{url} does not expose {metric.name} (declared optional: {metric.help})",
                                  "nothing to do when the condition it depends on is absent (e.g. no GPU)", WARNING)
            else:
                yield ctx.finding("live-missing-metric", where,
                                  f"{url} does not expose {metric.name}, which the contract of {service.name} "
                                  f"promises (alerts and dashboards on it would see nothing)",
                                  "expose it from the service, or remove it from the contract "
                                  "(set optional: true if it is legitimately absent sometimes)")
            continue
        matched.add(family.name)
        if family.type not in (metric.type, "unknown", "untyped"):
            yield ctx.finding("live-type-mismatch", ("services", i, "metrics", j, "type"),
                              f"{url} exposes {metric.name} as a {family.type}, the contract says {metric.type}",
                              "make the contract's type match what the service registers")
        if family.samples and family.labels != set(metric.labels):
            extra, missing = sorted(family.labels - set(metric.labels)), sorted(set(metric.labels) - family.labels)
            detail = "; ".join(filter(None, [f"exposed but not declared: {', '.join(extra)}" if extra else "",
                                             f"declared but not exposed: {', '.join(missing)}" if missing else ""]))
            yield ctx.finding("live-label-mismatch", ("services", i, "metrics", j, "labels"),
                              f"{url} exposes {metric.name} with labels {{{', '.join(sorted(family.labels))}}}, "
                              f"the contract declares {{{', '.join(metric.labels)}}} ({detail})",
                              "make the contract's labels match the service's (queries selecting a missing label "
                              "match nothing)")
    for name, family in sorted(families.items()):
        if name in matched or name.startswith(IGNORED_PREFIXES) or name.endswith("_created"):
            continue
        yield ctx.finding("live-undeclared-metric", ("services", i, "metrics"),
                          f"{url} exposes {family.type} {name}, which the metric contract of {service.name} "
                          f"does not declare",
                          "declare it under metrics (name, type, help, labels) or stop exposing it")


def _family(families: dict[str, Family], metric: Metric) -> Family | None:
    candidates = [metric.name]
    if metric.type == "counter":
        candidates.append(metric.name.removesuffix("_total"))
    return next((families[c] for c in candidates if c in families), None)
