"""HTTP behaviour: bounds, bad input, body cap, health endpoints."""

from __future__ import annotations

import json
import time

import pytest

from .conftest import generate

BAD_BODIES = [
    {"prompt": "", "duration_seconds": 1.0},
    {"prompt": "   ", "duration_seconds": 1.0},
    {"prompt": "x" * 501, "duration_seconds": 1.0},
    {"prompt": "tone", "duration_seconds": 0.05},
    {"prompt": "tone", "duration_seconds": 30.01},
    {"prompt": "tone", "duration_seconds": -1},
    {"prompt": "tone", "duration_seconds": "2"},
    {"prompt": "tone", "duration_seconds": True},
    {"prompt": 42, "duration_seconds": 1.0},
    {"prompt": "tone"},
    {"duration_seconds": 1.0},
    {"prompt": "tone", "duration_seconds": 1.0, "seed": -1},
    {"prompt": "tone", "duration_seconds": 1.0, "seed": "1"},
    {"prompt": "tone", "duration_seconds": 1.0, "volume": 11},
    {"prompt": "bell\x00", "duration_seconds": 1.0},
    {"prompt": "\x1b[2J tone", "duration_seconds": 1.0},
    {"prompt": "tone\r", "duration_seconds": 1.0},
    [1, 2, 3],
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=range(len(BAD_BODIES)))
def test_bad_input_is_422_json_and_logged_to_security_log(client, json_logs, tmp_path, body):
    r = client.post("/generate", json=body)
    assert r.status_code == 422
    payload = r.json()
    assert payload["error"] == "validation_error" and payload["detail"]
    security = [json.loads(line) for line in (tmp_path / "logs" / "security.log").read_text().splitlines()]
    assert security[-1]["logger"] == "security" and security[-1]["event"] == "invalid_input"
    assert security[-1]["request_id"] == r.headers["x-request-id"]
    assert generate(client).status_code == 200  # still serving


@pytest.mark.parametrize("raw", [b"{not json", b"", b'{"prompt": "tone", "duration_seconds": NaN}'])
def test_malformed_json_is_422(client, raw):
    r = client.post("/generate", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"] == "validation_error"


def test_boundaries_are_accepted(client):
    assert generate(client, prompt="x" * 500, duration=0.1).status_code == 200
    assert generate(client, prompt="a", duration=30.0, seed=2**32 - 1).status_code == 200
    assert generate(client, prompt="a calm\ttone,\nthen rain", duration=0.1).status_code == 200


def test_body_size_is_capped(client, json_logs, tmp_path):
    r = client.post("/generate", content=b'{"prompt": "' + b"a" * 20_000 + b'", "duration_seconds": 1}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"] == "payload_too_large"
    last = json.loads((tmp_path / "logs" / "security.log").read_text().splitlines()[-1])
    assert last["event"] == "body_too_large"


def test_chunked_body_is_capped_too(client):
    def chunks():
        yield b'{"prompt": "'
        for _ in range(40):
            yield b"a" * 1000
        yield b'", "duration_seconds": 1}'

    r = client.post("/generate", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_health(client):
    body = client.get("/health").json()
    assert body["status"] == "healthy"
    assert body["timestamp"].endswith("Z") and body["uptime_seconds"] >= 0


def test_health_detailed_reports_real_components_only(client):
    r = client.get("/health/detailed")
    body = r.json()
    assert set(body["checks"]) == {"model", "gpu", "system", "batch_worker", "tracing"}
    assert "database" not in json.dumps(body)
    assert body["checks"]["model"]["name"] == "fugatto-synth-v1"
    assert body["checks"]["batch_worker"]["alive"] is True
    assert body["checks"]["tracing"]["enabled"] is False
    # --device cpu is what the fixture asked for, so a missing GPU is not a warning here.
    assert body["checks"]["gpu"]["status"] == "healthy"
    ranks = {"healthy": 0, "warning": 1, "unhealthy": 2}
    assert ranks[body["status"]] == max(ranks[c["status"]] for c in body["checks"].values())


def test_live_and_ready(client):
    assert client.get("/live").json()["status"] == "alive"
    r = client.get("/ready")
    assert r.status_code == 200 and r.json() == {"status": "ready", "model": "fugatto-synth-v1"}


def test_request_id_is_echoed_or_generated(client):
    assert generate(client, **{"X-Request-ID": "req-123"}).headers["x-request-id"] == "req-123"
    generated = client.get("/live", headers={"X-Request-ID": "bad id with spaces"}).headers["x-request-id"]
    assert generated != "bad id with spaces" and len(generated) == 32


def test_unknown_path_is_404_and_docs_are_off(client):
    assert client.get("/nope").status_code == 404
    assert client.get("/docs").status_code == 404
    assert client.get("/generate").status_code == 405


# A UTF-8 BOM, a lone surrogate and a raw tab: bodies pydantic's JSON parser and json.loads read differently.
RAW_BODIES = [b"{not json", b"", b'{"prompt": "tone", "duration_seconds": NaN}',
              b"\xef\xbb\xbf" + b'{"prompt": "bom", "duration_seconds": 0.1, "seed": 3}',
              b'{"prompt": "\\ud800", "duration_seconds": 0.1}', b'{"prompt": "a\tb", "duration_seconds": 0.1}']
CONTENT_TYPES = ["application/json", None, "application/json; charset=utf-8", "application/vnd.api+json", "text/plain"]


def test_the_fast_path_answers_as_the_plain_route_does(client, settings):
    """FUGATTO_FAST_PATH=1 serves POST /generate past FastAPI's layers: every answer, 200 or 4xx, must be
    the plain route's, byte for byte (the request id aside, which is new per request)."""
    from dataclasses import replace

    from fugatto_lab.fast_path import FastGenerate

    from .conftest import running

    good = [{"prompt": "a calm 440 Hz sine tone", "duration_seconds": 0.5, "seed": 7},
            {"prompt": "rain on a tin roof", "duration_seconds": 0.2, "seed": 8}]
    requests = [(json.dumps(body).encode(), content_type) for body in [*good, *BAD_BODIES] for content_type in CONTENT_TYPES]
    requests += [(raw, "application/json") for raw in RAW_BODIES]
    with running(replace(settings, fast_path=True)) as fast:
        assert FastGenerate in [m.cls for m in fast.app.user_middleware]
        assert FastGenerate not in [m.cls for m in client.app.user_middleware]
        statuses = set()
        for content, content_type in requests:
            headers = {} if content_type is None else {"content-type": content_type}
            plain = client.post("/generate", content=content, headers=headers)
            served = fast.post("/generate", content=content, headers=headers)
            assert (served.status_code, served.content) == (plain.status_code, plain.content), (content, content_type)
            assert {k: v for k, v in served.headers.items() if k != "x-request-id"} == {
                k: v for k, v in plain.headers.items() if k != "x-request-id"}
            statuses.add(plain.status_code)
    assert statuses == {200, 422}


def test_errors_are_located_in_the_body(client):
    detail = client.post("/generate", json={"duration_seconds": 1.0}).json()["detail"]
    assert detail == [{"loc": ["body", "prompt"], "msg": "Field required", "type": "missing"}]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_body_that_is_not_json_is_422(client, content_type):
    r = client.post("/generate", content=b'{"prompt": "tone", "duration_seconds": 1.0}',
                    headers={"content-type": content_type})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "content_type"


@pytest.mark.parametrize("content_type", [None, "application/json; charset=utf-8", "application/vnd.api+json"])
def test_json_content_types_are_accepted(client, content_type):
    headers = {} if content_type is None else {"content-type": content_type}
    r = client.post("/generate", content=b'{"prompt": "tone", "duration_seconds": 0.1}', headers=headers)
    assert r.status_code == 200, r.text


def test_a_generation_slower_than_the_request_timeout_is_503(settings):
    from dataclasses import replace

    from .conftest import running

    with running(replace(settings, request_timeout_s=0.001)) as slow:
        worker = slow.app.state.svc.worker
        run_pass = worker._run

        def slow_pass(batch):
            # A pass that surely outlasts the timeout: on a loaded box the event loop may otherwise
            # reach a finished generation before its 1 ms timer, and answer 200.
            time.sleep(0.2)
            return run_pass(batch)

        worker._run = slow_pass
        r = generate(slow, duration=1.0)
        assert r.status_code == 503 and r.json()["error"] == "timeout"
        assert slow.get("/health").json()["status"] == "healthy"


def test_the_request_timeout_comes_from_the_environment():
    from fugatto_lab.config import settings_from_env

    assert settings_from_env({}).request_timeout_s == 120.0
    assert settings_from_env({"FUGATTO_REQUEST_TIMEOUT_S": "7.5"}).request_timeout_s == 7.5
