"""Shared helpers: build a service app on a TestClient with its model loaded."""

from __future__ import annotations

import io
import wave
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from fugatto_lab.app import create_app
from fugatto_lab.config import Settings
from fugatto_lab.logging_setup import configure_logging, flush_logs, remove_handlers

ADMIN_TOKEN = "test-admin-token"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Every new trace sampled, so span tests are deterministic (the default samples 1%).
    return Settings(log_dir=tmp_path / "logs", max_wait_ms=2.0, device="cpu", trace_sample_ratio=1.0)


@contextmanager
def running(settings: Settings, **kwargs: object) -> Iterator[TestClient]:
    """A TestClient whose app has finished loading its model (or failed to)."""
    app = create_app(settings, **kwargs)  # type: ignore[arg-type]
    with TestClient(app) as client:
        if kwargs.get("autoload", True):
            assert app.state.svc.state.done_event.wait(30), "model did not finish loading"
        yield client


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with running(settings) as c:
        yield c


@pytest.fixture
def json_logs(tmp_path: Path) -> Iterator[Callable[[], list[str]]]:
    """Install the service's log handlers into tmp_path; returns a reader of the main log file
    (it writes out buffered access lines first)."""
    log_dir = tmp_path / "logs"
    configure_logging("INFO", log_dir, stream=io.StringIO())

    def read() -> list[str]:
        flush_logs()
        return (log_dir / "fugatto_lab.log").read_text().splitlines()

    yield read
    remove_handlers()


def read_wav(data: bytes) -> tuple[int, np.ndarray]:
    with wave.open(io.BytesIO(data)) as w:
        assert w.getnchannels() == 1
        assert w.getsampwidth() == 2
        assert w.getcomptype() == "NONE"
        frames = w.readframes(w.getnframes())
        return w.getframerate(), np.frombuffer(frames, dtype="<i2")


def generate(client: TestClient, prompt: str = "a calm 440 Hz sine tone", duration: float = 0.5,
             seed: int | None = 1, **headers: str):
    body: dict[str, object] = {"prompt": prompt, "duration_seconds": duration}
    if seed is not None:
        body["seed"] = seed
    return client.post("/generate", json=body, headers=headers)
