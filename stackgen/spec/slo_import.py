"""`stackgen import sloth|openslo`: Sloth `prometheus/v1` specs and OpenSLO `v1` SLO documents as
stackgen `slos:` fragments.

An SLI maps when each query is `sum(rate(METRIC{MATCHERS}[{{.window}}]))` (the form Sloth's examples
and most hand-written specs use): the metric and matchers become a selector of the metric contract,
and a `job` matcher equal to the service's name is dropped (stackgen adds it); another job becomes the
SLI's `job` (e.g. a load balancer's). Any other PromQL in Sloth's `events` error/total queries maps to a
`raw` SLI with the queries as written (parsed first). What has no stackgen form (Sloth's raw error-ratio
query, plugins) is refused with the file and the SLO it is in, never guessed. What maps only
approximately (a Sloth severity that is no stackgen severity, a missing runbook) is said in a note;
the fragment is still written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from stackgen.parsers.promql_analysis import PromQLError, analyze
from stackgen.spec.slo import instantiate
from stackgen.spec.types import Duration

_SEVERITIES = ("critical", "warning", "info")
_QUERY = re.compile(r"^\s*sum\s*\(\s*rate\s*\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{(.*)\}\s*"
                    r"\[\s*\{\{\s*\.window\s*\}\}\s*\]\s*\)\s*\)\s*$", re.S)
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_NAME = re.compile(r"[^a-z0-9-]+")


class ImportError_(ValueError):
    """What cannot be mapped, located as `FILE: slos[i] (name): reason`."""


@dataclass
class Imported:
    service: str
    slos: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    metrics: dict[str, set[str]] = field(default_factory=dict)  # metric -> labels its matchers use


def _selector(query: str, service: str, where: str, imported: Imported) -> dict[str, Any]:
    """The query's selector, with `job` (another job than the service's) under the key "job"."""
    match = _QUERY.match(query)
    if not match:
        raise ImportError_(f"{where}: only `sum(rate(METRIC{{...}}[{{{{.window}}}}]))` queries map to a stackgen "
                           f"selector, not {' '.join(query.split())!r}")
    metric, body = match.groups()
    matchers, labels, pos, job = [], set(), 0, service
    while pos < len(body.strip()):
        found = _MATCHER.match(body, pos)
        if not found:
            raise ImportError_(f"{where}: cannot read the matchers {{{body}}}")
        label, op, value = found.groups()
        pos = found.end()
        if label == "job":
            if op != "=":
                raise ImportError_(f"{where}: selects job {op}{value!r}; an SLI reads one job (job=\"...\")")
            job = value
            continue
        matchers.append(f'{label}{op}"{value}"')
        labels.add(label)
    if metric.endswith("_count"):
        # A histogram's observation count (Sloth's examples count requests so): the contract declares
        # the histogram, and stackgen reads its _count.
        metric = metric.removesuffix("_count")
    imported.metrics.setdefault(metric, set()).update(labels)
    out: dict[str, Any] = {"metric": metric, "matchers": matchers} if matchers else {"metric": metric}
    return {**out, "job": job} if job != service else out


def _raw(query: str, where: str, imported: Imported) -> str:
    """A query kept as written for a `raw` SLI, once it parses with the window filled in."""
    try:
        analysis = analyze(instantiate(query, "5m"))
    except PromQLError as exc:
        raise ImportError_(f"{where}: is not PromQL once {{{{.window}}}} is 5m: {exc}") from None
    for sel in analysis.selectors:
        if sel.metric and ":" not in sel.metric:
            metric = sel.metric.removesuffix("_count").removesuffix("_bucket") if sel.metric.endswith(
                ("_count", "_bucket")) else sel.metric
            imported.metrics.setdefault(metric, set()).update(m.label for m in sel.matchers if m.label != "job")
    return query.strip()


def _events_sli(events: dict[str, Any], service: str, where: str, imported: Imported) -> dict[str, Any]:
    """Sloth's `events` queries: an availability SLI of selectors where both are `sum(rate(...))` of one
    job, else a raw SLI of both queries as written."""
    queries = {key: str(events.get(key, "")) for key in ("error_query", "total_query")}
    if all(_QUERY.match(query) for query in queries.values()):
        bad = _selector(queries["error_query"], service, f"{where} error_query", imported)
        total = _selector(queries["total_query"], service, f"{where} total_query", imported)
        jobs = {bad.pop("job", service), total.pop("job", service)}
        if len(jobs) > 1:
            raise ImportError_(f"{where}: error_query and total_query select different jobs ({', '.join(sorted(jobs))})")
        (job,) = jobs
        return {"kind": "availability", "bad": bad, "total": total, **({"job": job} if job != service else {})}
    imported.notes.append(f"{where}: kept as a raw SLI (its queries are not sum(rate(SELECTOR[{{{{.window}}}}]))); "
                          "stackgen generates no promtool tests for it")
    return {"kind": "raw", "error_query": _raw(queries["error_query"], f"{where} error_query", imported),
            "total_query": _raw(queries["total_query"], f"{where} total_query", imported)}


def _slo_name(name: str) -> str:
    return _NAME.sub("-", name.lower()).strip("-")[:63] or "slo"


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def sloth(document: dict[str, Any], source: str) -> Imported:
    """One Sloth `prometheus/v1` document."""
    if document.get("version") != "prometheus/v1":
        raise ImportError_(f"{source}: not a Sloth prometheus/v1 spec (version {document.get('version')!r})")
    service = str(document.get("service") or "")
    if not service:
        raise ImportError_(f"{source}: the spec names no service")
    imported = Imported(service, [])
    common = {str(k): str(v) for k, v in (document.get("labels") or {}).items()}
    for i, slo in enumerate(document.get("slos") or []):
        name = str(slo.get("name", ""))
        where = f"{source}: slos[{i}] ({name})"
        sli = slo.get("sli") or {}
        if "events" not in sli:
            kind = next(iter(sli), "none")
            raise ImportError_(f"{where}: a {kind!r} SLI cannot be mapped (only `events` error/total queries)")
        events = sli["events"]
        out: dict[str, Any] = {"name": _slo_name(name)}
        if slo.get("description"):
            out["description"] = str(slo["description"])
        out["sli"] = _events_sli(events, service, where, imported)
        out["objective"] = float(slo["objective"])
        # Sloth's numbers: the period SLI is the mean of the 5m ratios (stackgen's default weighs by traffic).
        out["period_sli"] = "average"
        labels = {**common, **{str(k): str(v) for k, v in (slo.get("labels") or {}).items()}}
        if labels:
            out["labels"] = labels
        out["alerting"] = _sloth_alerting(slo.get("alerting") or {}, service, name, where, imported)
        imported.slos.append(out)
    return imported


def _sloth_alerting(alerting: dict[str, Any], service: str, slo_name: str, where: str,
                    imported: Imported) -> dict[str, Any]:
    annotations = {str(k): str(v) for k, v in (alerting.get("annotations") or {}).items()}
    runbook = annotations.pop("runbook_url", None) or annotations.pop("runbook", None)
    if runbook is None:
        runbook = f"https://runbooks.example.com/{service}/{_slo_name(slo_name)}"
        imported.notes.append(f"{where}: no runbook in the Sloth spec; set alerting.runbook_url (now {runbook})")
    out: dict[str, Any] = {"runbook_url": runbook}
    for key in ("summary", "description"):
        if key in annotations:
            out[key] = annotations.pop(key)
    common = {str(k): str(v) for k, v in (alerting.get("labels") or {}).items()}
    name = alerting.get("name")
    if name:
        # Sloth's one name for both tiers, told apart by sloth_severity, as stackgen's `alerting.name` does.
        out["name"] = _camel(str(name))
    for tier, sloth_key in (("page", "page_alert"), ("ticket", "ticket_alert")):
        spec = alerting.get(sloth_key) or {}
        tier_out: dict[str, Any] = {}
        if spec.get("disable"):
            tier_out["enabled"] = False
        labels = {**common, **{str(k): str(v) for k, v in (spec.get("labels") or {}).items()}}
        severity = labels.pop("severity", None)
        if severity in _SEVERITIES:
            tier_out["severity"] = severity
        elif severity is not None:
            imported.notes.append(f"{where}: {sloth_key} severity {severity!r} is no stackgen severity "
                                  f"({', '.join(_SEVERITIES)}); the {tier} tier keeps its default, route on "
                                  "sloth_severity or the alert name")
        if labels:
            tier_out["labels"] = labels
        tier_annotations = {**annotations, **{str(k): str(v) for k, v in (spec.get("annotations") or {}).items()}}
        if tier_annotations:
            tier_out["annotations"] = tier_annotations
        if tier_out:
            out[tier] = tier_out
    return out


def _query(ratio: dict[str, Any], part: str) -> str:
    return str(((ratio.get(part) or {}).get("metricSource") or {}).get("spec", {}).get("query", ""))


def openslo(documents: list[dict[str, Any]], source: str) -> list[Imported]:
    """OpenSLO `v1` documents: SLOs with an inline indicator or an indicatorRef to an SLI of the same files."""
    slis = {d["metadata"]["name"]: d["spec"] for d in documents
            if d.get("apiVersion") == "openslo/v1" and d.get("kind") == "SLI"}
    by_service: dict[str, Imported] = {}
    for k, document in enumerate(documents):
        if document.get("kind") != "SLO":
            continue
        name = str((document.get("metadata") or {}).get("name", ""))
        where = f"{source}: document {k} ({name})"
        if document.get("apiVersion") != "openslo/v1":
            raise ImportError_(f"{where}: apiVersion {document.get('apiVersion')!r} is not openslo/v1")
        spec = document.get("spec") or {}
        service = str(spec.get("service") or "")
        imported = by_service.setdefault(service, Imported(service, []))
        indicator = (spec.get("indicator") or {}).get("spec") or slis.get(str(spec.get("indicatorRef")))
        if indicator is None:
            raise ImportError_(f"{where}: no indicator, and no SLI named {spec.get('indicatorRef')!r} in the files")
        ratio = indicator.get("ratioMetric")
        if not ratio:
            raise ImportError_(f"{where}: only ratioMetric indicators map (thresholdMetric does not)")

        if ratio.get("bad"):
            bad = _selector(_query(ratio, "bad"), service, f"{where} bad", imported)
        elif ratio.get("good"):
            raise ImportError_(f"{where}: a `good` query cannot be turned into stackgen's `bad` selector; "
                               "write the bad events as `bad`")
        else:
            raise ImportError_(f"{where}: ratioMetric has neither bad nor good")
        out: dict[str, Any] = {"name": _slo_name(name)}
        if spec.get("description"):
            out["description"] = str(spec["description"])
        total = _selector(_query(ratio, "total"), service, f"{where} total", imported)
        jobs = {bad.pop("job", service), total.pop("job", service)}
        if len(jobs) > 1:
            raise ImportError_(f"{where}: bad and total select different jobs ({', '.join(sorted(jobs))})")
        (job,) = jobs
        out["sli"] = {"kind": "availability", "bad": bad, "total": total, **({"job": job} if job != service else {})}
        objectives = spec.get("objectives") or []
        if len(objectives) != 1 or "target" not in objectives[0]:
            raise ImportError_(f"{where}: exactly one objective with a `target` maps")
        out["objective"] = round(float(objectives[0]["target"]) * 100, 10)
        windows = spec.get("timeWindow") or []
        if windows:
            duration = str(windows[0].get("duration", ""))
            if windows[0].get("isRolling") is False:
                raise ImportError_(f"{where}: calendar-aligned windows are not supported (rolling only)")
            out["period"] = str(Duration.parse(duration))
        runbook = f"https://runbooks.example.com/{service}/{out['name']}"
        imported.notes.append(f"{where}: OpenSLO has no runbook; set alerting.runbook_url (now {runbook})")
        out["alerting"] = {"runbook_url": runbook}
        imported.slos.append(out)
    return list(by_service.values())


def fragment(imported: list[Imported], sources: list[str]) -> str:
    """The stack.yaml fragment: one `services[]` entry per service, with comments for what to check."""
    import yaml

    lines = [f"# stackgen import: {', '.join(sources)}"]
    for one in imported:
        for metric, labels in sorted(one.metrics.items()):
            lines.append(f"# service {one.service}: the metric contract must declare {metric} (a counter, or the "
                         f"histogram whose _count the query read; labels: {', '.join(sorted(labels)) or 'none'})")
        lines += [f"# note: {note}" for note in one.notes]
    body = yaml.safe_dump({"services": [{"name": one.service, "slos": one.slos} for one in imported]},
                          sort_keys=False, allow_unicode=True)
    return "\n".join(lines) + "\n" + body
