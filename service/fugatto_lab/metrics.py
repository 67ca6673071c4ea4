"""The service's Prometheus metric contract and its instruments.

``CONTRACT`` is the source of truth for what the service exposes; stackgen's ``stack.yaml``
declares the same families (names, types, labels, buckets) and the contract test compares
both with a live scrape. Everything lives in a private ``CollectorRegistry`` so tests can
build many apps in one process and so nothing undeclared (the default process/platform
collectors) leaks into the exposition.

Label values are bounded by construction: ``endpoint`` is a route template or ``unmatched``,
``method`` is one of a fixed set or ``other``, ``status`` is a numeric HTTP code, ``model`` is
the one loaded model's name, ``gpu`` a device index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import prometheus_client
import psutil
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .exposition import TextRenderer, serve
from .gpu import NvmlReader

# `_created` samples double the series count and no rule or dashboard of ours reads them.
prometheus_client.disable_created_metrics()

UNMATCHED_ENDPOINT = "unmatched"
# Methods the service routes; anything else (PUT, PATCH, OPTIONS, made-up verbs) counts as "other".
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "DELETE"})


@dataclass(frozen=True)
class MetricSpec:
    name: str  # as exposed (counters end in _total)
    type: str  # counter | gauge | histogram
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] | None = None


CONTRACT: tuple[MetricSpec, ...] = (
    MetricSpec(
        "fugatto_requests_total",
        "counter",
        "HTTP requests handled, by route template and status code",
        ("method", "endpoint", "status"),
    ),
    MetricSpec(
        "fugatto_request_duration_seconds",
        "histogram",
        "HTTP request latency in seconds",
        ("method", "endpoint"),
        (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    ),
    MetricSpec(
        "fugatto_audio_generation_seconds",
        "histogram",
        "Model time from the start of its batch until each generation was ready, in seconds",
        ("model",),
        (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    ),
    MetricSpec(
        "fugatto_audio_generations_total",
        "counter",
        "Audio generations attempted, by outcome",
        ("model", "success"),
    ),
    MetricSpec("fugatto_memory_usage_bytes", "gauge", "Resident set size of the service process in bytes"),
    MetricSpec(
        "fugatto_gpu_utilization_percent",
        "gauge",
        "GPU utilisation reported by NVML, per GPU index",
        ("gpu",),
    ),
    MetricSpec(
        "fugatto_gpu_memory_usage_bytes",
        "gauge",
        "GPU memory in use reported by NVML, per GPU index",
        ("gpu",),
    ),
    MetricSpec(
        "fugatto_model_load_seconds",
        "histogram",
        "Time to load and warm up a model, in seconds",
        ("model",),
        (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120),
    ),
    MetricSpec("fugatto_active_models", "gauge", "Models loaded and serving"),
    MetricSpec("fugatto_queue_depth", "gauge", "Generation requests waiting for the batch worker"),
    MetricSpec(
        "fugatto_batch_size",
        "histogram",
        "Requests synthesised together in one model pass",
        (),
        (1, 2, 4, 8, 16, 32, 64),
    ),
)
CONTRACT_BY_NAME = {spec.name: spec for spec in CONTRACT}
GPU_METRICS = frozenset({"fugatto_gpu_utilization_percent", "fugatto_gpu_memory_usage_bytes"})


def normalize_method(method: str) -> str:
    """HTTP methods are client input; anything unusual collapses to one label value."""
    return method if method in KNOWN_METHODS else "other"


class ResourceCollector(Collector):
    """Process memory and NVML GPU gauges, read at scrape time.

    Reading on scrape (instead of a polling thread) means values are never stale and a GPU
    that is absent produces no series rather than a frozen or zero value.
    """

    def __init__(self, nvml: NvmlReader) -> None:
        self._process = psutil.Process()
        self._nvml = nvml

    def describe(self) -> Iterable[Metric]:
        return [
            GaugeMetricFamily(s.name, s.help, labels=list(s.labels))
            for s in CONTRACT
            if s.name == "fugatto_memory_usage_bytes" or s.name in GPU_METRICS
        ]

    def collect(self) -> Iterator[Metric]:
        spec = CONTRACT_BY_NAME["fugatto_memory_usage_bytes"]
        memory = GaugeMetricFamily(spec.name, spec.help)
        memory.add_metric([], float(self._process.memory_info().rss))
        yield memory
        samples = self._nvml.read()
        if not samples:
            return
        util_spec = CONTRACT_BY_NAME["fugatto_gpu_utilization_percent"]
        mem_spec = CONTRACT_BY_NAME["fugatto_gpu_memory_usage_bytes"]
        util = GaugeMetricFamily(util_spec.name, util_spec.help, labels=["gpu"])
        used = GaugeMetricFamily(mem_spec.name, mem_spec.help, labels=["gpu"])
        for gpu in samples:
            util.add_metric([str(gpu.index)], gpu.utilization_percent)
            used.add_metric([str(gpu.index)], float(gpu.memory_used_bytes))
        yield util
        yield used


class ServiceMetrics:
    """All instruments of one service instance, registered in their own registry."""

    def __init__(self, nvml: NvmlReader | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.nvml = nvml or NvmlReader()
        spec = CONTRACT_BY_NAME

        def hist(name: str) -> Histogram:
            s = spec[name]
            return Histogram(s.name, s.help, s.labels, buckets=s.buckets or (), registry=self.registry)

        def counter(name: str) -> Counter:
            s = spec[name]
            return Counter(s.name, s.help, s.labels, registry=self.registry)

        self.requests = counter("fugatto_requests_total")
        self.request_duration = hist("fugatto_request_duration_seconds")
        self.generation_seconds = hist("fugatto_audio_generation_seconds")
        self.generations = counter("fugatto_audio_generations_total")
        self.model_load_seconds = hist("fugatto_model_load_seconds")
        self.active_models = Gauge("fugatto_active_models", spec["fugatto_active_models"].help, registry=self.registry)
        self.queue_depth = Gauge("fugatto_queue_depth", spec["fugatto_queue_depth"].help, registry=self.registry)
        self.batch_size = hist("fugatto_batch_size")
        self.registry.register(ResourceCollector(self.nvml))
        self.renderer = TextRenderer(self.registry)
        self._request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._generation_children: dict[str, tuple[Counter, Counter, Histogram]] = {}

    def observe_request(self, method: str, endpoint: str, status: int, seconds: float) -> None:
        # The labelled children are cached: ``labels()`` validates, converts and locks on every
        # call, and on a GPU-bound service (a ~0.6 ms request of Python) that showed as ~5% of
        # throughput. The key space is bounded: methods are normalised, endpoints are templates.
        method = normalize_method(method)  # before the cache lookup: a raw method would grow the cache
        key = (method, endpoint, status)
        children = self._request_children.get(key)
        if children is None:
            children = self.requests.labels(method, endpoint, str(status)), self.request_duration.labels(method, endpoint)
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe_generations(self, model: str, seconds: float, succeeded: int, failed: int) -> None:
        """One batch pass of ``seconds`` that served ``succeeded`` requests and failed ``failed``."""
        children = self._generation_children.get(model)
        if children is None:
            children = (self.generations.labels(model, "true"), self.generations.labels(model, "false"),
                        self.generation_seconds.labels(model))
            self._generation_children[model] = children
        ok, failures, duration = children
        if succeeded:
            ok.inc(succeeded)
            for _ in range(succeeded):  # one observation per request: the histogram counts requests
                duration.observe(seconds)
        if failed:
            failures.inc(failed)

    def track_queue(self, depth: Callable[[], int]) -> None:
        """Report the live queue length at scrape time instead of mirroring it on every put/get."""
        self.queue_depth.set_function(lambda: float(depth()))

    def exposition(self) -> bytes:
        return self.renderer.render()


def start_metrics_server(metrics: ServiceMetrics, host: str, port: int) -> object:
    """Serve /metrics on its own port from a daemon thread.

    A separate port keeps scrapes off the API's event loop and lets the network policy expose
    the API without exposing telemetry.
    """
    return serve(metrics.registry, host, port)
