"""The opt-in fast path (fast_path.py): off by default, serves only what it can serve as FastAPI would,
and hands everything else to FastAPI with the body intact. test_api.py compares its answers
with the plain route's byte for byte."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest
from fugatto_lab.api import GenerateRequest
from fugatto_lab.app import create_app
from fugatto_lab.config import ConfigError, settings_from_env
from fugatto_lab.fast_path import FastGenerate, parse
from fugatto_lab.middleware import ObservabilityMiddleware
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import ValidationError

from .conftest import read_wav


def test_the_plain_route_is_the_default_and_the_setting_turns_the_fast_path_on(settings):
    assert settings_from_env({}).fast_path is False
    assert settings_from_env({"FUGATTO_FAST_PATH": "1"}).fast_path is True
    with pytest.raises(ConfigError, match="FUGATTO_FAST_PATH"):
        settings_from_env({"FUGATTO_FAST_PATH": "fast"})
    plain = create_app(settings, autoload=False)
    fast = create_app(replace(settings, fast_path=True), autoload=False)
    assert [m.cls for m in plain.user_middleware] == [ObservabilityMiddleware]
    # Inside the observability middleware: its request id, body cap, metrics and logs still apply.
    assert [m.cls for m in fast.user_middleware] == [ObservabilityMiddleware, FastGenerate]


async def _call(app: FastGenerate, method: str, content_type: bytes | None, body: bytes) -> tuple[int, bytes]:
    headers = [] if content_type is None else [(b"content-type", content_type)]
    scope = {"type": "http", "method": method, "path": "/generate", "root_path": "", "headers": headers}
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_fastapi_sees_only_what_the_fast_path_does_not_serve(client):
    seen: list[tuple[str, bytes | None, bytes]] = []

    async def fastapi_stand_in(scope: dict, receive, send) -> None:
        message = await receive()
        content_type = next((v for k, v in scope["headers"] if k == b"content-type"), None)
        seen.append((scope["method"], content_type, message["body"]))
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = FastGenerate(fastapi_stand_in, svc=client.app.state.svc)
    valid = json.dumps({"prompt": "a calm 440 Hz sine tone", "duration_seconds": 0.25, "seed": 1}).encode()
    status, wav = asyncio.run(_call(app, "POST", b"application/json", valid))
    assert status == 200 and seen == []
    rate, samples = read_wav(wav)
    assert len(samples) == rate // 4
    passed_on = [
        ("POST", b"application/json", b'{"prompt": "tone", "duration_seconds": 31}'),
        ("POST", b"application/json", b"\xef\xbb\xbf" + valid),  # FastAPI accepts this; the JSON parser does not
        ("POST", b"application/json; charset=utf-8", valid),
        ("POST", b"text/plain", valid),
        ("POST", None, valid),
        ("PUT", b"application/json", valid),
    ]
    for method, content_type, body in passed_on:
        assert asyncio.run(_call(app, method, content_type, body)) == (299, b"")
    assert seen == passed_on


def _plain(body: bytes) -> GenerateRequest | None:
    """FastAPI's decision for a JSON body: json.loads (as Starlette's Request.json), then validation."""
    try:
        return GenerateRequest.model_validate(json.loads(body))
    except (ValueError, ValidationError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None


_values = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20), st.lists(st.integers(), max_size=2),
)
_valid = st.fixed_dictionaries(
    {"prompt": st.text(min_size=1, max_size=30), "duration_seconds": st.one_of(st.floats(0.1, 30.0), st.integers(1, 30))},
    optional={"seed": st.integers(0, 2**32 - 1)},
)
# Mostly valid bodies (else the property holds vacuously), some with one field replaced or added.
_bodies = st.one_of(_valid, st.builds(lambda body, key, value: {**body, key: value}, _valid,
                                      st.sampled_from(["prompt", "duration_seconds", "seed", "volume"]), _values))
# Edits a client can make to a JSON text that pydantic's parser and json.loads may read differently.
_edits = st.sampled_from([
    lambda s: s, lambda s: s.replace("\\t", "\t"), lambda s: s.replace("\\n", "\n"), lambda s: s.replace("\\u00", "\x00"),
    lambda s: s.replace("\\u", "\\ud800\\u"), lambda s: "\ufeff" + s, lambda s: s + ",", lambda s: s.replace("}", ",}"),
    lambda s: s.replace("1", "01"), lambda s: s.replace('"prompt"', '"prompt": "x", "prompt"'), lambda s: s.replace(".0", "."),
])


@hypothesis_settings(max_examples=400, deadline=None)
@given(_bodies, _edits, st.booleans())
@example({"prompt": "a\tb", "duration_seconds": 1.0}, lambda s: s.replace("\\t", "\t"), False)
def test_a_body_the_fast_path_accepts_fastapi_accepts_with_the_same_values(body, edit, ascii_only):
    """What the fast path rests on: its parser never accepts what FastAPI's steps would reject or read otherwise."""
    raw = edit(json.dumps(body, ensure_ascii=ascii_only)).encode("utf-8", "surrogatepass")
    fast = parse(b"application/json", raw)
    if fast is not None:
        assert _plain(raw) == fast, raw

