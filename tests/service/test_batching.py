"""Dynamic batching: concurrent requests share passes, answers leave pass by pass, and the
scripted model the service runs computes exactly what the eager module does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from fugatto_lab.batching import BatchWorker, GenerationJob, WorkerUnavailableError
from fugatto_lab.models import BuiltinSynthModel, ModelState, generate_all
from fugatto_lab.passes import pass_capacity, plan_passes
from fugatto_lab.prompts import parse_prompt
from fugatto_lab.synth import SAMPLE_RATE, FugattoSynth

PROMPTS = ["a calm 440 Hz sine tone", "rain on a tin roof", "fast drum loop at 140 bpm", "low cello drone"]


@pytest.fixture(scope="module")
def model() -> BuiltinSynthModel:
    return BuiltinSynthModel("cpu")


@pytest.fixture
def worker(model: BuiltinSynthModel) -> Iterator[BatchWorker]:
    state = ModelState(status="ready", model=model)
    state.ready_event.set()
    w = BatchWorker(state, None, max_batch=8, max_wait_ms=300.0, max_queue=64)
    yield w
    w.stop()


def submit_all(
    worker: BatchWorker, count: int, seconds: float, kinds: list[str] = PROMPTS
) -> list[tuple[bytes, int]]:
    model = worker.state.model
    assert model is not None
    prompts = [kinds[i % len(kinds)] for i in range(count)]

    async def run() -> list[tuple[bytes, int]]:
        futures = [worker.submit(p, model.encode(p), int(seconds * SAMPLE_RATE), i) for i, p in enumerate(prompts)]
        return list(await asyncio.gather(*futures))

    return asyncio.run(run())


def test_concurrent_requests_share_one_batch(worker):
    worker.stats.last_batch_size = 8  # as under load: wait (up to max_wait) for all eight
    worker.start()
    results = submit_all(worker, 8, 0.25, ["a calm 440 Hz sine tone", "low cello drone"])  # like requests
    assert [size for _pcm, size in results] == [8] * 8
    assert worker.stats.batches == 1 and worker.stats.generations == 8
    assert [len(pcm) for pcm, _size in results] == [2 * 4000] * 8


def test_each_pass_serves_the_oldest_request_and_its_like(worker, monkeypatch):
    """4 s requests on CPU go through in cache-sized passes of like requests (at most 4 rows).
    Each pass is answered when it ends, and the requests it left are planned again (with any
    newcomers): the oldest waiting request always rides in the next pass."""
    passes: list[list[int]] = []
    deliver = BatchWorker._deliver
    monkeypatch.setattr(worker, "_deliver",
                        lambda results: (passes.append([job.seed for job, _ in results]), deliver(results)))
    worker.stats.last_batch_size = 8
    worker.start()
    results = submit_all(worker, 8, 4.0)
    assert pass_capacity("cpu", 4 * SAMPLE_RATE) == 4
    keys = [BuiltinSynthModel.encode(PROMPTS[i % 4])[1] for i in range(8)]
    expected, waiting = [], list(range(8))
    while waiting:  # the first pass of each plan, then a new plan for the rest
        first = [waiting[i] for i in plan_passes([keys[w] for w in waiting], 4)[0]]
        expected.append(first)
        waiting = [w for w in waiting if w not in first]
    assert passes == expected and len(passes) > 1
    assert passes[0][0] == 0 and [len(p) for p in passes] == [4, 2, 2]  # the tones, the rain, the drums
    assert [size for _pcm, size in results] == [len(p) for i in range(8) for p in passes if i in p]


def test_plan_passes_keeps_like_with_like_oldest_first():
    tone, noise, drums = 1, 2, 4
    assert plan_passes([drums, tone, drums, noise], 8) == [[0, 2], [1], [3]]  # like rows, though all fit
    assert plan_passes([drums, tone, drums, noise], -1) == [[0, 1, 2, 3]]  # a GPU: no limit
    assert plan_passes([noise, tone, noise, drums, noise, tone], 2) == [[0, 2], [4], [3], [1, 5]]
    assert plan_passes([tone] * 5, 2) == [[0, 1], [2, 3], [4]]


def test_collect_stops_waiting_once_the_last_pass_is_back(worker):
    """The collection policy: no wait when alone, none once the last pass's clients are back,
    none when jobs are left over from the last plan, else up to max_wait."""
    loop = asyncio.new_event_loop()

    def jobs(count: int) -> list[GenerationJob]:
        return [GenerationJob("tone", "tone", 160, i, loop, loop.create_future()) for i in range(count)]

    def enqueue(count: int) -> None:
        for job in jobs(count):
            worker.queue.put(job)

    try:
        enqueue(1)  # idle service, lone request: no wait at all
        started = time.perf_counter()
        assert len(worker._collect([])) == 1
        assert time.perf_counter() - started < 0.1

        worker.stats.last_batch_size = 3  # the last pass's 3 clients are back: go
        enqueue(3)
        started = time.perf_counter()
        assert len(worker._collect([])) == 3
        assert time.perf_counter() - started < 0.1

        worker.stats.last_batch_size = 5  # two are missing: wait, up to max_wait
        enqueue(3)
        started = time.perf_counter()
        assert len(worker._collect([])) == 3
        assert time.perf_counter() - started >= 0.29

        # Jobs left over from the last plan: the next pass starts at once, with whoever is queued
        # behind them (the leftovers first: they are older).
        leftovers = jobs(2)
        enqueue(1)
        started = time.perf_counter()
        batch = worker._collect(leftovers)
        assert batch[:2] == leftovers and len(batch) == 3
        assert time.perf_counter() - started < 0.1
    finally:
        loop.close()


def test_stopping_answers_every_waiting_request(worker):
    """Requests queued or left over from the last plan count as waiting, and a stopping worker
    answers all of them instead of leaving them to time out."""

    async def run() -> None:
        loop = asyncio.get_running_loop()
        left = [GenerationJob("tone", "tone", 160, i, loop, loop.create_future()) for i in range(2)]
        queued = GenerationJob("tone", "tone", 160, 2, loop, loop.create_future())
        worker._left_over = list(left)
        worker.queue.put(queued)
        assert worker.queue_depth() == 3
        worker._stop.set()
        worker._main()  # stops at once: only its clean-up runs
        for job in [*left, queued]:
            with pytest.raises(WorkerUnavailableError):
                await asyncio.wait_for(job.future, 1)
        assert worker.queue_depth() == 0

    asyncio.run(run())


def test_generate_yields_every_request_once_in_passes(model):
    lengths = [32000, 8000, 32000, 16000, 32000, 4000, 32000, 24000, 32000]
    prompts = [PROMPTS[i % 4] for i in range(len(lengths))]
    groups = list(model.generate([model.encode(p) for p in prompts], lengths, list(range(len(lengths)))))
    assert len(groups) > 1
    indices = sorted(i for group, _pcm in groups for i in group)
    assert indices == list(range(len(lengths)))
    for group, pcm in groups:
        assert [len(p) for p in pcm] == [2 * lengths[i] for i in group]
    # The same bytes as the module's forward() over the whole batch (which synthesises the same
    # passes): streaming a batch pass by pass changes nothing a request hears.
    params = torch.tensor([parse_prompt(p).as_row() for p in prompts])
    whole = FugattoSynth()(params, torch.tensor(lengths), torch.arange(len(lengths)))
    pcm16 = (whole.clamp(-1, 1) * 32767).round().to(torch.int16).numpy()
    by_request = generate_all(model, prompts, lengths, list(range(len(lengths))))
    for i, n in enumerate(lengths):
        assert by_request[i] == pcm16[i, :n].tobytes()


def test_scripted_model_is_bit_identical_to_eager(model):
    lengths = torch.tensor([32000, 12000, 32000, 32000, 20000, 32000])
    params = torch.tensor([parse_prompt(PROMPTS[i % 4] + " with vibrato").as_row() for i in range(6)])
    seeds = torch.arange(6) * 7919
    with torch.inference_mode(), torch.jit.optimized_execution(False):
        scripted = model.module(params, lengths, seeds)
    assert torch.equal(scripted, FugattoSynth()(params, lengths, seeds))


def test_overlap_save_filters_are_direct_convolutions_summed():
    """Noise and drops are filtered as one sum of spectra: it must equal the two direct
    convolutions (kernels of different lengths share one frame grid)."""
    synth = FugattoSynth()
    rng = np.random.default_rng(3)
    signals = rng.standard_normal((2, 2, 10_000)).astype(np.float32)
    kernels = [rng.standard_normal((2, taps)).astype(np.float32) / 32 for taps in (1025, 512)]
    spectrum = sum(synth._spectrum(torch.from_numpy(signals[i]), torch.from_numpy(kernels[i])) for i in range(2))
    out = synth._overlap_save(spectrum, 10_000).numpy()
    for row in range(2):
        direct = sum(np.convolve(signals[i, row].astype(np.float64), kernels[i][row].astype(np.float64))[:10_000]
                     for i in range(2))
        np.testing.assert_allclose(out[row], direct, atol=3e-4)


def test_drop_train_is_a_coin_per_sample_and_ignores_its_pass():
    """Drops are drawn as geometric gaps: about drop_rate_hz per second, strengths in [0.3, 1),
    and a row's drops do not depend on the pass's length or on the other rows."""
    synth = FugattoSynth()
    params = torch.tensor([parse_prompt("rain").as_row()] * 2)
    n = 30 * SAMPLE_RATE
    train = synth._drop_train(params, torch.tensor([[5], [6]]), torch.tensor([[n], [n // 3]]), n)
    rate = parse_prompt("rain").drop_rate_hz
    count = int((train[0] > 0).sum())
    assert abs(count - rate * 30) < 4 * (rate * 30) ** 0.5
    hits = train[train > 0]
    assert hits.min() >= 0.3 and hits.max() < 1.0
    alone = synth._drop_train(params[1:], torch.tensor([[6]]), torch.tensor([[n // 3]]), n // 3)
    assert torch.equal(alone[0], train[1, : n // 3])
