"""The live exposition matches the metric contract; labels stay bounded."""

from __future__ import annotations

import random
import string
from pathlib import Path

import yaml
from fugatto_lab.gpu import GpuSample, NvmlReader
from fugatto_lab.metrics import CONTRACT, GPU_METRICS, ServiceMetrics
from prometheus_client.parser import text_string_to_metric_families

from .conftest import generate

REPO_ROOT = Path(__file__).resolve().parents[2]
KNOWN_ENDPOINTS = {"/generate", "/health", "/health/detailed", "/ready", "/live", "unmatched"}


def _family_name(name: str, kind: str) -> str:
    """prometheus_client's parser reports counter families without the _total suffix."""
    return name[: -len("_total")] if kind == "counter" and name.endswith("_total") else name


def _stack_metrics() -> list[dict]:
    """The service's metric list in stack.yaml. Its absence fails: with nothing declared, every
    comparison below would hold vacuously."""
    spec = yaml.safe_load((REPO_ROOT / "stack.yaml").read_text())
    services = [s for s in spec.get("services", []) if s.get("name") == "fugatto-audio-lab"]
    assert services, "stack.yaml declares no fugatto-audio-lab service"
    metrics = services[0].get("metrics")
    assert metrics, "stack.yaml declares no metrics for fugatto-audio-lab"
    return metrics


def _expected_contract() -> dict[str, tuple[str, frozenset[str]]]:
    return {m["name"]: (m["type"], frozenset(m.get("labels") or ())) for m in _stack_metrics()}


def test_histogram_buckets_match_stack_yaml():
    declared = {m["name"]: [float(b) for b in m["buckets"]] for m in _stack_metrics() if m.get("buckets")}
    histograms = [spec for spec in CONTRACT if spec.type == "histogram"]
    assert histograms, "the package contract declares no histogram"
    for spec in histograms:
        assert spec.name in declared, f"{spec.name} has no buckets in stack.yaml"
        assert declared[spec.name] == [float(b) for b in spec.buckets or ()], spec.name


def _scrape(metrics: ServiceMetrics) -> dict[str, object]:
    return {f.name: f for f in text_string_to_metric_families(metrics.exposition().decode())}


def _populate(client) -> None:
    assert generate(client).status_code == 200
    client.post("/generate", json={"prompt": ""})
    client.get("/health")


def test_package_contract_matches_stack_yaml():
    expected = _expected_contract()
    assert expected == {s.name: (s.type, frozenset(s.labels)) for s in CONTRACT}


def test_every_contract_family_is_exposed_with_its_labels(client):
    _populate(client)
    families = _scrape(client.app.state.svc.metrics)
    gpu_present = client.app.state.svc.nvml.available
    for name, (kind, labels) in _expected_contract().items():
        family = families.get(_family_name(name, kind))
        if name in GPU_METRICS and not gpu_present:
            assert family is None, f"{name} must not be faked without NVML"
            continue
        assert family is not None, f"{name} missing from /metrics"
        assert family.type == kind
        assert family.samples, f"{name} has no samples"
        for sample in family.samples:
            assert set(sample.labels) - {"le"} == labels, (name, sample.labels)


def test_no_created_series_and_nothing_outside_the_contract(client):
    _populate(client)
    names = set(_scrape(client.app.state.svc.metrics))
    allowed = {_family_name(s.name, s.type) for s in CONTRACT}
    assert "fugatto_requests" in names and names <= allowed
    assert "_created" not in client.app.state.svc.metrics.exposition().decode()


def test_histogram_buckets_match_contract(client):
    _populate(client)
    families = _scrape(client.app.state.svc.metrics)
    histograms = [spec for spec in CONTRACT if spec.type == "histogram"]
    assert histograms
    for spec in histograms:
        assert spec.name in families, f"{spec.name} missing from /metrics"
        les = {float(s.labels["le"]) for s in families[spec.name].samples if s.name.endswith("_bucket")}
        assert les == {*map(float, spec.buckets or ()), float("inf")}, spec.name


def test_request_labels_use_route_templates_and_numeric_status(client):
    _populate(client)
    samples = _scrape(client.app.state.svc.metrics)["fugatto_requests"].samples
    seen = {(s.labels["method"], s.labels["endpoint"], s.labels["status"]) for s in samples}
    assert ("POST", "/generate", "200") in seen and ("POST", "/generate", "422") in seen


def test_random_unknown_paths_keep_the_endpoint_label_bounded(client):
    rng = random.Random(0)
    methods = ["GET", "POST", "DELETE", "PROPFIND", "BREW"]
    for _ in range(300):
        path = "/" + "/".join(
            "".join(rng.choices(string.ascii_lowercase + string.digits, k=rng.randint(1, 12))) for _ in range(rng.randint(1, 4))
        )
        client.request(rng.choice(methods), path)
    samples = _scrape(client.app.state.svc.metrics)["fugatto_requests"].samples
    endpoints = {s.labels["endpoint"] for s in samples}
    methods_seen = {s.labels["method"] for s in samples}
    assert endpoints <= KNOWN_ENDPOINTS and "unmatched" in endpoints
    assert methods_seen <= {"GET", "POST", "DELETE", "other"}
    assert sum(s.value for s in samples if s.labels["endpoint"] == "unmatched") == 300
    assert len(samples) < 20


def test_generation_and_batch_metrics_count_requests(client):
    for _ in range(3):
        generate(client)
    families = _scrape(client.app.state.svc.metrics)
    gens = {tuple(s.labels.values()): s.value for s in families["fugatto_audio_generations"].samples}
    assert gens[("fugatto-synth-v1", "true")] == 3
    batch_count = [s.value for s in families["fugatto_batch_size"].samples if s.name == "fugatto_batch_size_count"]
    assert batch_count == [3]
    assert [s.value for s in families["fugatto_active_models"].samples] == [1.0]
    load = [s for s in families["fugatto_model_load_seconds"].samples if s.name.endswith("_count")]
    assert load[0].labels == {"model": "fugatto-synth-v1"} and load[0].value == 1
    rss = families["fugatto_memory_usage_bytes"].samples[0].value
    assert 10e6 < rss < 8e9


class _FakeNvml(NvmlReader):
    """Stands in for NVML to check the exposition shape; production code never fakes GPUs."""

    def __init__(self) -> None:
        super().__init__()
        self._initialised = self._available = True

    def read(self) -> list[GpuSample]:
        return [GpuSample(0, "H100", 42.0, 1 << 30, 80 << 30), GpuSample(1, "H100", 7.0, 2 << 30, 80 << 30)]


def test_gpu_gauges_come_from_nvml_per_gpu_index():
    families = _scrape(ServiceMetrics(_FakeNvml()))
    util = {s.labels["gpu"]: s.value for s in families["fugatto_gpu_utilization_percent"].samples}
    mem = {s.labels["gpu"]: s.value for s in families["fugatto_gpu_memory_usage_bytes"].samples}
    assert util == {"0": 42.0, "1": 7.0} and mem == {"0": float(1 << 30), "1": float(2 << 30)}


def test_gpu_gauges_absent_without_nvml():
    class NoNvml(NvmlReader):
        def read(self) -> list[GpuSample]:
            return []

    families = _scrape(ServiceMetrics(NoNvml()))
    assert not GPU_METRICS & set(families)


def test_fast_exposition_matches_prometheus_client(client):
    """The service's renderer says exactly what prometheus_client's generate_latest says."""
    import prometheus_client

    _populate(client)
    metrics = client.app.state.svc.metrics
    metrics.requests.labels("GET", 'we"ird\\path\n', "404").inc()  # escaping (never emitted by routes)

    def parsed(text: str) -> dict:
        return {
            f.name: (
                f.type,
                f.documentation,
                sorted(
                    (s.name, tuple(sorted(s.labels.items())), s.value)
                    for s in f.samples
                    if s.name != "fugatto_memory_usage_bytes"
                ),
            )
            for f in text_string_to_metric_families(text)
        }

    ours = parsed(metrics.exposition().decode())
    reference = parsed(prometheus_client.generate_latest(metrics.registry).decode())
    assert ours == reference


def test_metrics_http_server_serves_the_exposition(client):
    import httpx2
    from fugatto_lab.metrics import start_metrics_server

    server = start_metrics_server(client.app.state.svc.metrics, "127.0.0.1", 0)
    try:
        port = server.server_address[1]
        r = httpx2.get(f"http://127.0.0.1:{port}/metrics")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert "fugatto_active_models 1.0" in r.text
        assert httpx2.get(f"http://127.0.0.1:{port}/other").status_code == 404
    finally:
        server.shutdown()


def test_metrics_server_keeps_the_scrape_connection_alive():
    """Prometheus reuses one connection per target; the metrics server answers on it repeatedly."""
    import http.client

    from fugatto_lab.metrics import start_metrics_server

    metrics = ServiceMetrics(NvmlReader())
    server = start_metrics_server(metrics, "127.0.0.1", 0)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
        for _ in range(3):
            connection.request("GET", "/metrics")
            response = connection.getresponse()
            assert response.status == 200 and response.version == 11
            assert b"fugatto_active_models" in response.read()
        connection.request("GET", "/nothing")
        assert connection.getresponse().status == 404
        connection.close()
    finally:
        server.shutdown()


def test_unusual_methods_share_one_cached_series():
    """HTTP methods are client input: 200 invented ones are one "other" series, and the cache of
    labelled children does not grow with them either."""
    metrics = ServiceMetrics(NvmlReader())
    for i in range(200):
        metrics.observe_request(f"BREW{i}", "unmatched", 404, 0.001)
    families = {f.name: f for f in text_string_to_metric_families(metrics.exposition().decode())}
    methods = {s.labels["method"] for s in families["fugatto_requests"].samples if s.name == "fugatto_requests_total"}
    assert methods == {"other"}
    assert len(metrics._request_children) == 1
