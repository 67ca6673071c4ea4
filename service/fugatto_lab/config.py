"""Service settings: one frozen object built from CLI flags over environment variables.

Everything configurable is here so the README's table, the CLI and the tests agree on one
set of names and defaults. Invalid values fail at start-up with a message naming the
variable, rather than surfacing later as a confusing runtime error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

SERVICE_NAME = "fugatto-audio-lab"

# The OTEL_TRACES_SAMPLER values this service implements (the SDK's built-in samplers).
TRACE_SAMPLERS = (
    "parentbased_traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "traceidratio",
    "always_on",
    "always_off",
)
# 1% of new traces. Each sampled request costs ~0.6 ms of CPU in the Python SDK (3 spans plus
# OTLP encoding): a third of a request's own CPU on CPU, about all of it on a GPU, where a
# request is mostly HTTP handling. Overhead ~ ratio x 0.6 ms / request CPU: 1% stays under the
# 3% budget in both cases, 5% only on CPU (bench/results/service.md). OTel's own default,
# parentbased_always_on, costs 20-50% of throughput here; set it to record every request.
DEFAULT_TRACE_SAMPLE_RATIO = 0.01

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A setting has an invalid value; the message names the setting."""


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r}: expected true or false")


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={raw!r}: expected a value in [{low}, {high}]")
    return value


@dataclass(frozen=True)
class Settings:
    """Runtime configuration of one service process."""

    host: str = "127.0.0.1"
    port: int = 8000
    metrics_port: int = 8001
    model_path: Path | None = None
    device: str = "auto"  # auto | cpu | cuda
    max_batch: int = 16
    max_wait_ms: float = 10.0
    max_queue: int = 1024
    torch_threads: int = 0  # 0 = auto: half the cores, so the event loop keeps one
    request_timeout_s: float = 120.0
    # How long a client may take to send a whole request (line, headers and body), and how large its
    # request line and headers may be: past either the connection is closed (protocol.py).
    read_timeout_s: float = 10.0
    max_header_bytes: int = 64 * 1024
    max_body_bytes: int = 16 * 1024
    log_level: str = "INFO"
    log_dir: Path = Path("logs")
    log_max_bytes: int = 10 * 1024 * 1024
    log_backups: int = 5
    metrics_enabled: bool = True
    tracing_enabled: bool = False
    otlp_endpoint: str = "http://localhost:4318"
    trace_sampler: str = "parentbased_traceidratio"
    trace_sample_ratio: float = DEFAULT_TRACE_SAMPLE_RATIO
    faults_enabled: bool = False
    admin_token: str | None = field(default=None, repr=False)
    # POST /generate answered past FastAPI's layers (fast_path.py); the plain route is the default.
    fast_path: bool = False

    @property
    def effective_torch_threads(self) -> int:
        return self.torch_threads or max(1, (os.cpu_count() or 2) // 2)

    @property
    def new_trace_ratio(self) -> float:
        """The fraction of new traces (no sampled parent to follow) that are recorded."""
        base = self.trace_sampler.removeprefix("parentbased_")
        return {"always_on": 1.0, "always_off": 0.0}.get(base, self.trace_sample_ratio)

    @property
    def trace_follows_parent(self) -> bool:
        """parentbased_* samplers keep an incoming traceparent's decision."""
        return self.trace_sampler.startswith("parentbased_")

    @property
    def traces_endpoint(self) -> str:
        """OTLP/HTTP traces URL; the generic endpoint gets the signal path, as the OTel spec says."""
        explicit = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        if explicit:
            return explicit
        return self.otlp_endpoint.rstrip("/") + "/v1/traces"

    def validate(self) -> Settings:
        if self.device not in {"auto", "cpu", "cuda"}:
            raise ConfigError(f"device={self.device!r}: expected auto, cpu or cuda")
        if not 1 <= self.max_batch <= 256:
            raise ConfigError(f"max_batch={self.max_batch}: expected 1..256")
        if not 0 <= self.max_wait_ms <= 1000:
            raise ConfigError(f"max_wait_ms={self.max_wait_ms}: expected 0..1000")
        if self.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ConfigError(f"LOG_LEVEL={self.log_level!r}: expected DEBUG, INFO, WARNING, ERROR or CRITICAL")
        if self.trace_sampler not in TRACE_SAMPLERS:
            raise ConfigError(f"OTEL_TRACES_SAMPLER={self.trace_sampler!r}: expected one of {', '.join(TRACE_SAMPLERS)}")
        if self.faults_enabled and not self.admin_token:
            raise ConfigError(
                "FUGATTO_FAULTS_ENABLED=true needs FUGATTO_ADMIN_TOKEN: refusing to expose the "
                "fault-injection API without authentication"
            )
        if self.port == self.metrics_port and self.port != 0:
            raise ConfigError(f"port and metrics port are both {self.port}")
        return self


def settings_from_env(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Settings from environment variables, with explicit overrides (CLI flags) on top."""
    env = os.environ if env is None else env
    values: dict[str, object] = {
        "log_level": env.get("LOG_LEVEL", "INFO").upper(),
        "log_dir": Path(env.get("FUGATTO_LOG_DIR", "logs")),
        "metrics_enabled": _bool(env, "METRICS_ENABLED", True),
        "tracing_enabled": _bool(env, "TRACING_ENABLED", False),
        "otlp_endpoint": env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318"),
        "trace_sampler": env.get("OTEL_TRACES_SAMPLER", "").strip().lower() or "parentbased_traceidratio",
        "trace_sample_ratio": _number(env, "OTEL_TRACES_SAMPLER_ARG", DEFAULT_TRACE_SAMPLE_RATIO, 0.0, 1.0),
        "max_batch": int(_number(env, "FUGATTO_MAX_BATCH", 16, 1, 256)),
        "max_wait_ms": _number(env, "FUGATTO_MAX_WAIT_MS", 10.0, 0, 1000),
        "max_queue": int(_number(env, "FUGATTO_MAX_QUEUE", 1024, 1, 1_000_000)),
        "device": env.get("FUGATTO_DEVICE", "auto"),
        "torch_threads": int(_number(env, "FUGATTO_TORCH_THREADS", 0, 0, 256)),
        "request_timeout_s": _number(env, "FUGATTO_REQUEST_TIMEOUT_S", 120.0, 0.1, 3600),
        "read_timeout_s": _number(env, "FUGATTO_READ_TIMEOUT_S", 10.0, 0.1, 3600),
        "max_header_bytes": int(_number(env, "FUGATTO_MAX_HEADER_BYTES", 64 * 1024, 1024, 16 * 1024 * 1024)),
        "faults_enabled": _bool(env, "FUGATTO_FAULTS_ENABLED", False),
        "admin_token": env.get("FUGATTO_ADMIN_TOKEN") or None,
        "fast_path": _bool(env, "FUGATTO_FAST_PATH", False),
    }
    if env.get("FUGATTO_MODEL_PATH"):
        values["model_path"] = Path(env["FUGATTO_MODEL_PATH"])
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values).validate()  # type: ignore[arg-type]
