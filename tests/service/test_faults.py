"""Fault injection: off by default, authenticated, and visible in metrics as a drill expects."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from fugatto_lab.config import ConfigError, Settings, settings_from_env
from fugatto_lab.faults import FaultConfig, FaultInjector
from prometheus_client.parser import text_string_to_metric_families

from .conftest import ADMIN_TOKEN, generate, running

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def drill(settings: Settings):
    with running(replace(settings, faults_enabled=True, admin_token=ADMIN_TOKEN)) as client:
        yield client


def _samples(client, family: str) -> dict[tuple[str, ...], float]:
    text = client.app.state.svc.metrics.exposition().decode()
    fam = {f.name: f for f in text_string_to_metric_families(text)}[family]
    return {tuple(f"{k}={v}" for k, v in sorted(s.labels.items())): s.value for s in fam.samples
            if s.name in {family, family + "_total", family + "_sum", family + "_count"} or family == s.name}


def test_routes_do_not_exist_without_the_flag(client):
    for method in ("GET", "POST", "DELETE"):
        assert client.request(method, "/admin/faults", headers=AUTH).status_code == 404


def test_refuses_to_start_without_a_token():
    with pytest.raises(ConfigError, match="FUGATTO_ADMIN_TOKEN"):
        settings_from_env({"FUGATTO_FAULTS_ENABLED": "true"})
    assert settings_from_env({"FUGATTO_FAULTS_ENABLED": "true", "FUGATTO_ADMIN_TOKEN": "x"}).faults_enabled


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": ADMIN_TOKEN}])
def test_admin_needs_the_bearer_token(drill, tmp_path, json_logs, headers):
    r = drill.post("/admin/faults", json={"error_rate": 1.0}, headers=headers)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert drill.get("/admin/faults", headers=AUTH).json()["error_rate"] == 0.0
    last = json.loads((tmp_path / "logs" / "security.log").read_text().splitlines()[-1])
    assert last["event"] == "admin_auth_failed"


def test_invalid_fault_values_are_rejected(drill):
    for body in ({"error_rate": 1.5}, {"latency_seconds": -1}, {"generation_failure_rate": "all"}, {"x": 1},
                 {"pattern": "bursty"}):
        assert drill.post("/admin/faults", json=body, headers=AUTH).status_code == 422


def test_error_rate_makes_generate_answer_500(drill, tmp_path, json_logs):
    assert drill.post("/admin/faults", json={"error_rate": 1.0}, headers=AUTH).json() == {
        "error_rate": 1.0, "latency_seconds": 0.0, "generation_failure_rate": 0.0, "pattern": "even"}
    assert [generate(drill).status_code for _ in range(5)] == [500] * 5
    assert drill.get("/health").status_code == 200  # probes unaffected
    requests = _samples(drill, "fugatto_requests")
    assert requests[("endpoint=/generate", "method=POST", "status=500")] == 5
    security = [json.loads(x) for x in (tmp_path / "logs" / "security.log").read_text().splitlines()]
    assert security[-1]["event"] == "faults_set" and security[-1]["error_rate"] == 1.0
    assert drill.delete("/admin/faults", headers=AUTH).json()["error_rate"] == 0.0
    assert generate(drill).status_code == 200
    assert json.loads((tmp_path / "logs" / "security.log").read_text().splitlines()[-1])["event"] == "faults_cleared"


def test_generation_failures_count_as_unsuccessful_generations(drill):
    drill.post("/admin/faults", json={"generation_failure_rate": 1.0}, headers=AUTH)
    assert [generate(drill).status_code for _ in range(3)] == [500] * 3
    gens = _samples(drill, "fugatto_audio_generations")
    assert gens[("model=fugatto-synth-v1", "success=false")] == 3
    # Both outcomes are exported once the model has been used, so a failure ratio has a denominator.
    assert gens[("model=fugatto-synth-v1", "success=true")] == 0
    assert _samples(drill, "fugatto_requests")[("endpoint=/generate", "method=POST", "status=500")] == 3


def test_latency_shows_in_the_request_duration_histogram(drill):
    drill.post("/admin/faults", json={"latency_seconds": 0.3}, headers=AUTH)
    generate(drill)
    generate(drill)
    text = drill.app.state.svc.metrics.exposition().decode()
    fam = {f.name: f for f in text_string_to_metric_families(text)}["fugatto_request_duration_seconds"]
    total = [s.value for s in fam.samples if s.name.endswith("_sum") and s.labels["endpoint"] == "/generate"][0]
    fast = [s.value for s in fam.samples if s.name.endswith("_bucket") and s.labels["endpoint"] == "/generate"
            and s.labels["le"] == "0.25"][0]
    assert total >= 0.6 and fast == 0


@pytest.mark.parametrize(("rate", "k", "n"), [(0.05, 1, 20), (0.04, 1, 25), (0.06, 3, 50), (0.5, 1, 2), (1.0, 1, 1),
                                             (0.2, 1, 5), (0.333, 333, 1000)])
def test_even_pattern_fails_exactly_k_in_every_n_spread_evenly(rate, k, n):
    injector = FaultInjector()
    injector.set(FaultConfig(error_rate=rate))
    outcomes = [injector.should_error() for _ in range(n * 7)]
    for cycle in range(7):  # every aligned run of n requests holds exactly k failures
        assert sum(outcomes[cycle * n:(cycle + 1) * n]) == k
    for i in range(1, len(outcomes) + 1):  # and every prefix is at or below the rate: never bunched at the start
        assert sum(outcomes[:i]) == i * k // n
    failures = [i for i, failed in enumerate(outcomes) if failed]
    gaps = {b - a for a, b in zip(failures, failures[1:], strict=False)}
    assert max(gaps) - min(gaps) <= 1  # evenly spread: gaps differ by at most one request


def test_setting_faults_restarts_the_schedule_and_kinds_count_separately():
    injector = FaultInjector()
    injector.set(FaultConfig(error_rate=0.25, generation_failure_rate=0.5))
    assert [injector.should_error() for _ in range(3)] == [False] * 3
    injector.set(FaultConfig(error_rate=0.25, generation_failure_rate=0.5))
    assert [injector.should_error() for _ in range(4)] == [False, False, False, True]
    assert [injector.should_fail_generation() for _ in range(4)] == [False, True, False, True]
    injector.clear()
    assert not any(injector.should_error() or injector.should_fail_generation() for _ in range(50))


def test_random_pattern_is_an_option():
    injector = FaultInjector()
    injector.set(FaultConfig(error_rate=0.5, pattern="random"))
    outcomes = [injector.should_error() for _ in range(2000)]
    assert 800 < sum(outcomes) < 1200
    assert any(outcomes[i] and outcomes[i + 1] for i in range(len(outcomes) - 1))  # even never fails twice in a row at 0.5


def test_even_error_rate_over_http_is_exact(drill):
    drill.post("/admin/faults", json={"error_rate": 0.25}, headers=AUTH)
    assert [generate(drill).status_code for _ in range(8)] == [200, 200, 200, 500] * 2
    assert _samples(drill, "fugatto_requests")[("endpoint=/generate", "method=POST", "status=500")] == 2
