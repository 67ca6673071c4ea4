"""/ready follows the model and the batch worker; TorchScript models load or fail clearly.

No `from __future__ import annotations` here: TorchScript needs real annotations.
"""


import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from .conftest import generate, read_wav, running


def test_ready_is_503_until_the_model_loads(settings):
    with running(settings, autoload=False) as client:
        r = client.get("/ready")
        assert r.status_code == 503 and r.json()["reason"] == "model is loading"
        assert client.get("/live").status_code == 200
        assert generate(client).status_code == 503
        svc = client.app.state.svc
        svc.load_model()
        assert svc.state.ready_event.wait(30)
        assert client.get("/ready").status_code == 200
        assert generate(client).status_code == 200


def test_a_loaded_service_freezes_its_heap_and_collects_young_objects_rarely(settings):
    """After loading, the long-lived heap is frozen and young collections wait for 10,000
    allocations: request objects in flight are not walked with the GIL held every 700."""
    import gc

    from fugatto_lab.models import GC_YOUNG_THRESHOLD

    before = gc.get_threshold()
    gc.set_threshold(700, *before[1:])
    try:
        with running(settings) as client:
            assert client.get("/ready").status_code == 200
            assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
            assert gc.get_freeze_count() > 0
    finally:
        gc.set_threshold(*before)


class ConstantTone(torch.nn.Module):
    sample_rate: int

    def __init__(self) -> None:
        super().__init__()
        self.sample_rate = 8000

    def forward(self, prompts: list[str], num_samples: int, seeds: torch.Tensor) -> torch.Tensor:
        t = torch.arange(num_samples, dtype=torch.float32) / self.sample_rate
        return 0.5 * torch.sin(2 * torch.pi * 1000.0 * t).unsqueeze(0).repeat(len(prompts), 1)


class WrongShape(torch.nn.Module):
    def forward(self, prompts: list[str], num_samples: int, seeds: torch.Tensor) -> torch.Tensor:
        return torch.zeros(3)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_torchscript_model_serves_with_its_own_rate_and_name(settings, tmp_path: Path):
    path = tmp_path / "My Tone.pt"
    torch.jit.script(ConstantTone()).save(str(path))
    with running(replace(settings, model_path=path)) as client:
        assert client.get("/ready").json() == {"status": "ready", "model": "my-tone"}
        r = generate(client, duration=0.5)
        rate, samples = read_wav(r.content)
        assert rate == 8000 and len(samples) == 4000 and r.headers["x-model"] == "my-tone"
        exposition = client.app.state.svc.metrics.exposition().decode()
        assert 'fugatto_audio_generations_total{model="my-tone",success="true"} 1.0' in exposition


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_bad_model_files_fail_clearly(settings, tmp_path: Path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a zip archive")
    wrong = tmp_path / "wrong.pt"
    torch.jit.script(WrongShape()).save(str(wrong))
    cases = {tmp_path / "missing.pt": "does not exist", garbage: "not a loadable TorchScript module",
             wrong: "expected (1, 160)"}
    for path, reason in cases.items():
        with running(replace(settings, model_path=path)) as client:
            r = client.get("/ready")
            assert r.status_code == 503 and reason in r.json()["reason"], r.json()
            detail = client.get("/health/detailed")
            assert detail.status_code == 503
            assert detail.json()["checks"]["model"]["status"] == "unhealthy"
            assert generate(client).status_code == 503
            assert "fugatto_active_models 0.0" in client.app.state.svc.metrics.exposition().decode()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_dead_batch_worker_makes_ready_and_health_503(client):
    worker = client.app.state.svc.worker

    def explode(batch):
        raise SystemExit("simulated crash")

    worker._run = explode
    started = time.monotonic()
    r = generate(client)  # the job kills the worker; its request gets a 503 at once, not a timeout
    assert r.status_code == 503 and time.monotonic() - started < 5
    deadline = time.monotonic() + 5
    while worker.alive and time.monotonic() < deadline:
        time.sleep(0.01)
    ready = client.get("/ready")
    assert ready.status_code == 503 and "SystemExit" in ready.json()["reason"]
    assert client.get("/health").status_code == 503
    assert client.get("/health/detailed").json()["checks"]["batch_worker"]["status"] == "unhealthy"
    assert generate(client).status_code == 503
