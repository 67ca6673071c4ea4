"""`stackgen explain capacity`: how many series, samples and how much head memory a stack costs one Prometheus,
and how many replicas/shards it needs. Arithmetic only, from the metric contract; docs/scale.md gives the sources.

Series of one metric family on one target: the product of its labels' value counts (the contract's
`cardinality`, else DEFAULT_LABEL_VALUES, flagged as assumed), times the samples a family exposes:
1 for a counter or gauge, len(buckets) + 1 (the +Inf bucket) + 2 (_sum, _count) for a histogram, 2 (_sum,
_count) + 1 for a summary. A service's series are that sum over its metrics plus SCRAPE_SERIES per target,
times its targets (replicas).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from stackgen.model.servers import hashmod
from stackgen.spec.models import Spec
from stackgen.spec.service import Metric, Service

# A label whose value count the contract does not declare is assumed to take this many values.
DEFAULT_LABEL_VALUES = 5
# up, scrape_duration_seconds, scrape_samples_scraped, scrape_samples_post_metric_relabeling, scrape_series_added.
SCRAPE_SERIES = 5
# Head memory per series, after Brian Brazil, "How much RAM does Prometheus 2.x need for cardinality and
# ingestion?" (Robust Perception, 2019; measured on 2.9): 732 B per series + 32 B per label pair + the metric
# name twice, all doubled for Go's garbage collector; plus the samples of up to 3 h of head (1.5x chunk
# overhead, doubled for GC) at BYTES_PER_SAMPLE (the Prometheus storage docs: 1-2 bytes per sample).
SERIES_BYTES, LABEL_PAIR_BYTES, GC_FACTOR = 732, 32, 2
BYTES_PER_SAMPLE, CHUNK_OVERHEAD, HEAD_SECONDS = 2, 1.5, 3 * 3600
# What one Prometheus is planned to hold: beyond it, shard. 2M head series is ~13 GiB by the cost above at a
# 15 s interval, which fits a 16 GiB node; Prometheus' own scaling reports put comfortable servers at 1-10M.
SERIES_BUDGET = 2_000_000


@dataclass(frozen=True)
class Estimate:
    name: str
    series: int  # on one server (a replica holds them all again)
    samples_per_second: float
    head_bytes: int
    rule_series: int = 0
    alert_series_max: int = 0
    assumed: tuple[str, ...] = ()  # metric/label pairs counted with DEFAULT_LABEL_VALUES


@dataclass(frozen=True)
class Plan:
    services: list[Estimate]
    stack: Estimate
    replicas: int
    shards: int
    recommended_shards: int
    recommended_replicas: int
    shard_series: list[int] = field(default_factory=list)  # series per shard under the recommended shards


def family_samples(metric: Metric) -> int:
    if metric.type == "histogram":
        return len(metric.buckets or []) + 1 + 2
    if metric.type == "summary":
        return 3
    return 1


def metric_series(metric: Metric) -> tuple[int, list[str]]:
    """Series of the family on one target, and the labels whose value count was assumed. `label_sets`, when the
    contract declares it, replaces the product of the labels' value counts (a full cross product is rare)."""
    if metric.label_sets is not None:
        return metric.label_sets * family_samples(metric), []
    series, assumed = 1, []
    for label in metric.labels:
        count = metric.label_values(label)
        if count is None:
            assumed.append(label)
            count = DEFAULT_LABEL_VALUES
        series *= count
    return series * family_samples(metric), assumed


def series_bytes(labels: int, name_length: int, interval_s: float) -> float:
    """Head memory of one series with `labels` label pairs, scraped every `interval_s`."""
    index = GC_FACTOR * (SERIES_BYTES + LABEL_PAIR_BYTES * labels + 2 * name_length)
    samples = GC_FACTOR * CHUNK_OVERHEAD * BYTES_PER_SAMPLE * HEAD_SECONDS / interval_s
    return index + samples


def _label_count(service: Service, label: str) -> int:
    counts = [m.label_values(label) for m in service.metrics if label in m.labels]
    known = [c for c in counts if c is not None]
    return max(known) if known else DEFAULT_LABEL_VALUES


def service_estimate(spec: Spec, service: Service, slo_records: int = 0) -> Estimate:
    interval = (service.scrape_interval or spec.prometheus.scrape_interval).seconds
    evaluation = spec.prometheus.evaluation_interval.seconds
    # job, instance, service, team, the scrape's static labels and the external labels sit on every series
    base_labels = 4 + len(service.scrape.labels)
    per_target, head, assumed = SCRAPE_SERIES, SCRAPE_SERIES * series_bytes(base_labels, 20, interval), []
    for metric in service.metrics:
        series, guessed = metric_series(metric)
        per_target += series
        labels = base_labels + len(metric.labels) + (1 if metric.type in ("histogram", "summary") else 0)
        head += series * series_bytes(labels, len(metric.name) + 7, interval)
        assumed += [f"{metric.name}/{label}" for label in guessed]
    targets = service.replicas
    rules = sum(math.prod(_label_count(service, label) for label in rule.labels) for rule in service.recording_rules)
    rules += slo_records
    alerts = 2 * len(service.alerts)  # ALERTS and ALERTS_FOR_STATE, only while pending or firing
    series = per_target * targets + rules
    head_total = head * targets + rules * series_bytes(base_labels, 40, evaluation)
    return Estimate(service.name, series, per_target * targets / interval + rules / evaluation, round(head_total),
                    rules, alerts, tuple(assumed))


def _shard_loads(estimates: list[Estimate], shards: int) -> list[int]:
    loads = [0] * shards
    for e in estimates:
        loads[hashmod(e.name, shards)] += e.series  # the shard relabeling hashes the job, i.e. the service name
    return loads


def plan(spec: Spec, slo_records: dict[str, int] | None = None, budget: int = SERIES_BUDGET) -> Plan:
    slo_records = slo_records or {}
    services = [service_estimate(spec, s, slo_records.get(s.name, 0)) for s in spec.services]
    stack = Estimate("stack", sum(e.series for e in services), sum(e.samples_per_second for e in services),
                     sum(e.head_bytes for e in services), sum(e.rule_series for e in services),
                     sum(e.alert_series_max for e in services), tuple(a for e in services for a in e.assumed))
    # Hash shards are uneven: add shards until the fullest is within the budget.
    shards = max(1, math.ceil(stack.series / budget))
    while max(_shard_loads(services, shards)) > budget and shards < 100:
        shards += 1
    prom = spec.prometheus
    return Plan(services, stack, prom.replicas, prom.shards, shards, max(2, prom.replicas),
                _shard_loads(services, shards))


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return ""


def explain(spec: Spec, slo_records: dict[str, int] | None = None, budget: int = SERIES_BUDGET) -> str:
    p = plan(spec, slo_records, budget)
    lines = [f"{'service':<32} {'series':>10} {'samples/s':>10} {'head':>10} {'rules':>7} {'alerts*':>7}"]
    for e in [*p.services, p.stack]:
        lines.append(f"{e.name:<32} {e.series:>10,} {e.samples_per_second:>10,.1f} {_size(e.head_bytes):>10} "
                     f"{e.rule_series:>7,} {e.alert_series_max:>7,}")
    lines.append("* ALERTS series exist only while an alert is pending or firing: the most there can be.")
    servers = p.replicas * p.shards
    lines.append(f"configured: {p.replicas} replica(s) x {p.shards} shard(s) = {servers} Prometheus server(s); "
                 f"all servers together hold {p.stack.series * p.replicas:,} series")
    lines.append(f"budget per Prometheus: {budget:,} head series (docs/scale.md)")
    if p.recommended_shards > 1:
        lines.append(f"recommended: shards: {p.recommended_shards} (series per shard: "
                     f"{', '.join(f'{n:,}' for n in p.shard_series)})")
    else:
        lines.append("recommended: shards: 1 (one Prometheus holds the stack)")
    if p.replicas < 2:
        lines.append("recommended: replicas: 2 (an HA pair: alerts survive one Prometheus' restart) and "
                     "alertmanager.replicas: 3")
    if p.stack.assumed:
        shown = ", ".join(p.stack.assumed[:5]) + (f" and {len(p.stack.assumed) - 5} more" if len(p.stack.assumed) > 5 else "")
        lines.append(f"assumed {DEFAULT_LABEL_VALUES} values for labels without `cardinality`: {shown}")
    return "\n".join(lines) + "\n"
