"""The Prometheus server: intervals, external labels, where it runs, how many run (HA pair, shards), remote write."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from stackgen.spec.scrape import Authorization, BasicAuth, RelabelRule
from stackgen.spec.types import ContainerHost, Duration, HttpUrl, LabelName, Port, PositiveDuration, StrictModel

# The label Prometheus' HA pairs differ by; Alertmanager and the long-term store deduplicate on it.
DEFAULT_REPLICA_LABEL = "replica"
# The label the shard relabeling hashes into; Prometheus drops __tmp_ labels after relabeling.
SHARD_HASH_LABEL = "__tmp_hash"


class QueueConfig(StrictModel):
    """remote_write queue_config: only what is set is rendered (Prometheus' defaults otherwise)."""

    capacity: int | None = Field(None, ge=1, description="samples buffered per shard before reading the WAL blocks")
    min_shards: int | None = Field(None, ge=1, description="parallel senders at start")
    max_shards: int | None = Field(None, ge=1, description="parallel senders at most")
    max_samples_per_send: int | None = Field(None, ge=1, description="samples per request")
    batch_send_deadline: PositiveDuration | None = Field(None, description="longest wait before sending a partial batch")
    min_backoff: PositiveDuration | None = Field(None, description="first retry delay")
    max_backoff: PositiveDuration | None = Field(None, description="longest retry delay")

    @model_validator(mode="after")
    def _ordered(self) -> QueueConfig:
        if self.min_shards is not None and self.max_shards is not None and self.min_shards > self.max_shards:
            raise ValueError("min_shards must not exceed max_shards")
        if self.min_backoff is not None and self.max_backoff is not None and self.min_backoff > self.max_backoff:
            raise ValueError("min_backoff must not exceed max_backoff")
        return self


class RemoteWrite(StrictModel):
    """One remote_write endpoint (VictoriaMetrics, Thanos receive, Mimir): every replica and shard sends to it."""

    url: HttpUrl = Field(description="the endpoint's write URL (…/api/v1/write)")
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")] | None = Field(
        None, description="names the queue in Prometheus' own metrics (default: a hash of the config)")
    remote_timeout: PositiveDuration | None = Field(None, description="timeout of one request (Prometheus default 30s)")
    basic_auth: BasicAuth | None = Field(None, description="password by file: {file: /etc/prometheus/secrets/NAME}")
    authorization: Authorization | None = Field(None, description="a bearer token by file; not with basic_auth")
    queue_config: QueueConfig | None = None
    write_relabel_configs: list[RelabelRule] = Field(
        default_factory=list, description="relabeling of every sent series (drop what the long-term store need not keep)")

    @model_validator(mode="after")
    def _one_auth(self) -> RemoteWrite:
        if self.basic_auth is not None and self.authorization is not None:
            raise ValueError("basic_auth and authorization both set the Authorization header: keep one")
        return self


class Prometheus(StrictModel):
    image: str = "prom/prometheus:v2.42.0"
    host: ContainerHost = "prometheus"
    port: Port = 9090
    scrape_interval: PositiveDuration = Duration(15_000)
    scrape_timeout: PositiveDuration = Duration(10_000)
    evaluation_interval: PositiveDuration = Duration(15_000)
    retention: PositiveDuration = Duration(15 * 86_400_000)
    external_labels: dict[LabelName, str] = Field(default_factory=dict)
    replicas: int = Field(1, ge=1, le=10, description="identical Prometheus servers (an HA pair is 2), told apart by "
                                                      "the replica_label external label")
    shards: int = Field(1, ge=1, le=100, description="servers that each scrape a hashmod share of the targets")
    replica_label: LabelName = Field(DEFAULT_REPLICA_LABEL, description="the external label naming the replica; "
                                                                       "Alertmanager and the long-term store dedupe on it")
    remote_write: list[RemoteWrite] = Field(default_factory=list, description="long-term stores every server sends to")

    @model_validator(mode="after")
    def _timeout_fits(self) -> Prometheus:
        if self.scrape_timeout > self.scrape_interval:
            raise ValueError("scrape_timeout must not exceed scrape_interval")
        if self.replica_label in self.external_labels:
            raise ValueError(f"external label {self.replica_label!r} is the replica_label, which stackgen sets per replica")
        if self.replica_label.startswith("__"):
            raise ValueError(f"replica_label {self.replica_label!r}: a __ label is dropped before it is stored")
        if self.servers > 100:
            raise ValueError(f"replicas x shards is {self.servers}: at most 100 Prometheus servers")
        names = [rw.name for rw in self.remote_write if rw.name is not None]
        if dup := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"remote_write name {dup[0]!r} is used twice")
        return self

    @property
    def servers(self) -> int:
        """How many Prometheus processes the stack runs: every shard has `replicas` copies."""
        return self.replicas * self.shards

    def remote_write_files(self) -> list[str]:
        """Every credential file the remote_write endpoints read."""
        refs = [rw.basic_auth.password if rw.basic_auth else rw.authorization.credentials if rw.authorization else None
                for rw in self.remote_write]
        return sorted({ref.file for ref in refs if ref is not None and ref.file})
