"""The `ha` profile of the native stack: the drill profile's compressed timings on a highly available
topology - two Prometheus replicas with identical config told apart by a `replica` external label, a
three-peer Alertmanager gossip cluster on 127.0.0.1 that every replica sends to, and VictoriaMetrics
as the remote-write target, deduplicating the pair's samples.

Replica and peer counts come from the spec (`prometheus.replicas`, `alertmanager.replicas`) when they
ask for a cluster, else 2 and 3: an HA pair, and the smallest cluster that survives one lost peer.
The first replica and peer keep the names `prometheus` and `alertmanager` (the drill reads alert
states from them); the others are `prometheus-b`, `alertmanager-2`, ... - the ones chaos kills.
"""

from __future__ import annotations

import copy
from typing import Any

from stackgen.spec.models import Spec

PROFILE = "ha"
VM = "victoria-metrics"
MIN_PROMETHEUS, MIN_ALERTMANAGER = 2, 3
# Peer n of the cluster sends what peer 0 should have sent after n x peer-timeout (default 15s),
# unless the gossiped notification log says it was sent. Its view of the alerts is from when it
# started waiting: if peer 0 sends a resolution meanwhile (the next group_interval tick), peer n
# still sends its stale "firing" - a duplicate. So (peers - 1) x peer-timeout must stay under
# group_interval (production: 2 x 15s < 5m; the drill's group_interval is 1s: 2 x 0.4s), and
# gossip must travel within one peer-timeout (every 50ms instead of 200ms; loopback is instant).
PEER_TIMEOUT = "400ms"
GOSSIP_INTERVAL = "50ms"


def replica_value(index: int) -> str:
    return f"prom-{chr(ord('a') + index)}"


def prometheus_names(spec: Spec) -> list[str]:
    count = max(MIN_PROMETHEUS, spec.prometheus.replicas)
    return ["prometheus"] + [f"prometheus-{chr(ord('a') + i)}" for i in range(1, count)]


def alertmanager_names(spec: Spec) -> list[str]:
    count = max(MIN_ALERTMANAGER, spec.alertmanager.replicas)
    return ["alertmanager"] + [f"alertmanager-{i}" for i in range(2, count + 1)]


def replica_config(config: dict[str, Any], label: str, value: str, alertmanagers: list[str],
                   remote_write_url: str) -> dict[str, Any]:
    """One replica's prometheus.yml from the single-server one.

    The replica label is dropped twice: before alerts go to Alertmanager (which deduplicates identical
    label sets only, so the pair's alerts merge into one) and before samples go to the long-term store
    (which deduplicates one series' samples per -dedup.minScrapeInterval, so the pair must write one
    series). The spec's own remote_write endpoints are not reachable from here: the local store replaces them.
    """
    out = copy.deepcopy(config)
    out["global"]["external_labels"] = {**out["global"].get("external_labels", {}), label: value}
    drop = [{"action": "labeldrop", "regex": label}]
    out["alerting"] = {"alert_relabel_configs": drop,
                       "alertmanagers": [{"static_configs": [{"targets": list(alertmanagers)}]}]}
    out["remote_write"] = [{"url": remote_write_url, "write_relabel_configs": drop,
                            # Ship within a second, so the store is current when the drill compares it.
                            "queue_config": {"batch_send_deadline": "1s"}}]
    for job in out["scrape_configs"]:
        if job["job_name"] == "alertmanager":
            job["static_configs"] = [{"targets": list(alertmanagers)}]
    return out


def alertmanager_cluster_args(own: str, peers: list[str]) -> list[str]:
    """Gossip flags of one peer: its own address and every other peer's."""
    return [f"--cluster.listen-address={own}", f"--cluster.advertise-address={own}",
            *[f"--cluster.peer={peer}" for peer in peers if peer != own],
            f"--cluster.peer-timeout={PEER_TIMEOUT}", f"--cluster.gossip-interval={GOSSIP_INTERVAL}"]


def victoria_argv(binary: str, listen: str, data: str, scrape_interval_s: float) -> list[str]:
    """VictoriaMetrics single node: keeps one sample per scrape interval of each series (the pair's
    two copies become one) and answers queries up to 1s behind ingestion (default 30s)."""
    return [binary, f"-httpListenAddr={listen}", f"-storageDataPath={data}",
            f"-dedup.minScrapeInterval={scrape_interval_s:g}s", "-search.latencyOffset=1s",
            "-retentionPeriod=1d", "-loggerLevel=WARN"]
