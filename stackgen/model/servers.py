"""The Prometheus servers and Alertmanager peers a stack runs: one each by default, more for HA and sharding.

Every target (prometheus.yml per server, compose services, the native runtime) takes its names, ports and
shard assignment from here, so they agree on which server scrapes what.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from stackgen.model import names
from stackgen.spec.models import Spec

# Published ports of the n-th server/peer step by 100 from the spec's port: 9090, 9190, ... and 9093, 9193, ...
# never meet each other nor the other components' round ports (Elasticsearch 9200, Logstash 9600).
PORT_STEP = 100


@dataclass(frozen=True)
class PrometheusServer:
    shard: int
    replica: int
    name: str  # the compose service / host name, and the native runtime's key for its address
    config: str  # the artifact path of its prometheus.yml
    publish_port: int  # the host port on 127.0.0.1 (the first server keeps prometheus.port)


@dataclass(frozen=True)
class AlertmanagerPeer:
    index: int
    name: str
    publish_port: int


def hashmod(value: str, modulus: int) -> int:
    """Prometheus' relabel `hashmod`: the last 8 bytes of the MD5 of the value, big-endian, modulo
    (prometheus/model/relabel/relabel.go). Computing it here tells which shard scrapes a job, so each shard
    loads only the rule files of its own services (an `absent()` alert elsewhere would fire on every other shard)."""
    return int.from_bytes(hashlib.md5(value.encode()).digest()[8:], "big") % modulus


def shard_of(service_name: str, shards: int) -> int:
    return hashmod(names.job_name(service_name), shards)


def prometheus_servers(spec: Spec) -> list[PrometheusServer]:
    prom = spec.prometheus
    if prom.servers == 1:
        return [PrometheusServer(0, 0, prom.host, names.PROMETHEUS_CONFIG, prom.port)]
    out = []
    for shard in range(prom.shards):
        for replica in range(prom.replicas):
            suffix = f"{shard}-{replica}" if prom.shards > 1 else f"{replica}"
            out.append(PrometheusServer(shard, replica, f"{prom.host}-{suffix}", f"prometheus/prometheus-{suffix}.yml",
                                        prom.port + PORT_STEP * len(out)))
    return out


def alertmanager_peers(spec: Spec) -> list[AlertmanagerPeer]:
    am = spec.alertmanager
    if am.replicas == 1:
        return [AlertmanagerPeer(0, am.host, am.port)]
    return [AlertmanagerPeer(i, f"{am.host}-{i}", am.port + PORT_STEP * i) for i in range(am.replicas)]
