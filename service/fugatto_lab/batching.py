"""Dynamic batching: concurrent requests share one model pass.

Request handlers (on the asyncio loop) put a job on a thread-safe queue and await a future.
One worker thread keeps the jobs waiting for a pass (up to ``max_batch``, oldest first). When
none is left over from the last pass it takes the first newcomer and keeps collecting until it
has ``max_batch`` jobs or ``max_wait_ms`` has passed (stopping early once the last pass's
clients are back: see ``_collect``). Then the model plans passes over the waiting jobs and the
worker runs the first: the one holding the oldest job. On a GPU that pass is every job; on a
CPU, where passes are cache-sized and hold like requests only, the jobs it left wait for the
next plan, which also takes in whoever arrived meanwhile ("continuous batching"), so passes
stay full instead of running a batch's leftovers in part-empty passes. Running the model in a
thread keeps the event loop free to accept and answer requests while torch computes (a
scripted model runs without the GIL).

The worker is deliberately the only thread touching the model: models are not assumed to be
thread-safe, and one pass over a big batch is what makes a GPU (and vectorised CPU code) fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span

from .metrics import ServiceMetrics
from .models import AudioModel, ModelState
from .tracing import INFERENCE_SPAN

log = logging.getLogger(__name__)


class QueueFullError(RuntimeError):
    """More requests are waiting than ``max_queue``: shed load instead of growing latency without bound."""


class WorkerUnavailableError(RuntimeError):
    """The batch worker is not running; requests cannot be served."""


class GenerationError(RuntimeError):
    """The model failed for this request (or a drill forced it to)."""


Result = tuple[memoryview, int] | BaseException  # (PCM16 bytes, size of the batch it rode in) or the error


@dataclass
class GenerationJob:
    prompt: str
    inputs: Any  # the prompt as the model's ``encode`` prepared it on the request path
    num_samples: int
    seed: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[tuple[memoryview, int]]
    inject_failure: bool = False
    parent_span: Span | None = None
    enqueued_at: float = field(default_factory=time.perf_counter)


@dataclass
class BatchStats:
    batches: int = 0  # model passes
    generations: int = 0
    failures: int = 0
    last_batch_size: int = 0  # requests in the last pass
    last_batch_seconds: float = 0.0
    last_batch_at: float | None = None


class BatchWorker:
    def __init__(
        self,
        state: ModelState,
        metrics: ServiceMetrics | None,
        *,
        max_batch: int,
        max_wait_ms: float,
        max_queue: int,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self.state = state
        self.metrics = metrics
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self.tracer = tracer
        # None is stop()'s wake-up call: a worker blocked on an empty queue ends at once, not at its next poll.
        self.queue: queue.Queue[GenerationJob | None] = queue.Queue(maxsize=max_queue)
        self.stats = BatchStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.died: str | None = None
        self._left_over: list[GenerationJob] = []  # planned but not in the last pass: next plan's first
        if metrics is not None:
            metrics.track_queue(self.queue_depth)

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="batch-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with contextlib.suppress(queue.Full):  # a full queue keeps the worker busy: it sees _stop after this pass
            self.queue.put_nowait(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def queue_depth(self) -> int:
        """Requests waiting for a pass: queued, or left over from the last plan."""
        return self.queue.qsize() + len(self._left_over)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def health(self) -> dict[str, object]:
        info: dict[str, object] = {
            "alive": self.alive,
            "queue_depth": self.queue_depth(),
            "max_batch": self.max_batch,
            "max_wait_ms": self.max_wait * 1000,
            "batches": self.stats.batches,
            "generations": self.stats.generations,
            "failures": self.stats.failures,
            "last_batch_size": self.stats.last_batch_size,
            "last_batch_seconds": self.stats.last_batch_seconds,
        }
        if not self.alive and not self._stop.is_set():
            return {
                "status": "unhealthy",
                **info,
                "details": f"batch worker is not running: {self.died or 'not started'}",
            }
        return {"status": "healthy", **info, "details": "batch worker running"}

    # -- request side (event loop) -----------------------------------------------------------------
    def submit(
        self,
        prompt: str,
        inputs: Any,
        num_samples: int,
        seed: int,
        *,
        inject_failure: bool = False,
        parent_span: Span | None = None,
    ) -> asyncio.Future[tuple[memoryview, int]]:
        if not self.alive:
            raise WorkerUnavailableError(f"batch worker is not running: {self.died or 'not started'}")
        loop = asyncio.get_running_loop()
        job = GenerationJob(prompt, inputs, num_samples, seed, loop, loop.create_future(), inject_failure, parent_span)
        try:
            self.queue.put_nowait(job)
        except queue.Full:
            raise QueueFullError(f"{self.queue.maxsize} requests already waiting") from None
        return job.future

    # -- worker thread -----------------------------------------------------------------------------
    def _main(self) -> None:
        batch: list[GenerationJob] = []
        try:
            while not self._stop.is_set():
                if not self.state.ready_event.wait(timeout=0.2):
                    continue
                batch = self._collect(self._left_over)
                self._left_over = []
                if batch:
                    self._left_over = self._run(batch)
                batch = []
        except BaseException as exc:  # noqa: BLE001 - record why, then let the thread end
            self.died = f"{type(exc).__name__}: {exc}"
            log.critical("batch worker died", extra={"error": self.died})
            raise
        finally:
            # Nobody will serve these any more: answer them now instead of letting them time out.
            error = WorkerUnavailableError(f"batch worker stopped: {self.died or 'shutdown'}")
            self._deliver([(job, error) for job in batch + self._left_over])
            self._left_over = []
            self._fail_pending(error)

    def _collect(self, waiting: list[GenerationJob]) -> list[GenerationJob]:
        """The jobs for the next plan: those ``waiting`` from the last one, then newcomers.

        With jobs left over from the last pass, only those already queued join: the next pass
        can start at once. With none left, the first newcomer is taken (a lone request on an
        idle service does not wait at all), then whoever joins within ``max_wait`` - but only
        while fewer jobs are in hand than rode in the last pass. Under steady load those clients
        come straight back, so waiting for them builds full passes, and waiting longer would
        hold them back for partners that are not coming (8 clients against ``max_batch=32``
        used to wait the whole ``max_wait`` every time).
        """
        batch = list(waiting)  # fewer than max_batch: they were planned with the last pass
        if batch:
            expected = 0
        else:
            try:
                first = self.queue.get(timeout=0.2)
            except queue.Empty:
                return []
            if first is None:
                return []
            batch = [first]
            expected = self.stats.last_batch_size
        deadline = time.perf_counter() + self.max_wait
        while len(batch) < self.max_batch:
            try:
                job = self.queue.get_nowait()
            except queue.Empty:
                pass
            else:
                if job is None:  # stop() woke us
                    break
                batch.append(job)
                continue
            remaining = deadline - time.perf_counter()
            if len(batch) >= expected or remaining <= 0:
                break
            try:
                job = self.queue.get(timeout=remaining)
            except queue.Empty:
                break
            if job is None:
                break
            batch.append(job)
        return batch

    def _run(self, batch: list[GenerationJob]) -> list[GenerationJob]:
        """Runs the first pass the model plans for ``batch`` (the one holding its oldest job);
        returns the jobs still waiting for a pass, oldest first."""
        model = self.state.model
        assert model is not None
        jobs = [j for j in batch if not j.future.done()]  # timed out or cancelled: nobody waits
        forced = [j for j in jobs if j.inject_failure]
        jobs = [j for j in jobs if not j.inject_failure]
        if forced:
            self.stats.failures += len(forced)
            self._finish(model, [(j, GenerationError("injected generation failure (fault drill)")) for j in forced], 0.0)
        if not jobs:
            return []
        started_ns = time.time_ns()
        started = time.perf_counter()
        stats = self.stats
        stats.batches += 1
        try:
            passes = model.generate([j.inputs for j in jobs], [j.num_samples for j in jobs], [j.seed for j in jobs])
            indices, pcm = next(passes)  # the rest of this plan is dropped: re-planned with the newcomers
        except Exception as exc:
            log.error(
                "batch generation failed",
                extra={"model": model.name, "batch_size": len(jobs), "error": f"{type(exc).__name__}: {exc}"},
            )
            stats.failures += len(jobs)
            self._trace(model.name, model.device, jobs, len(jobs), started_ns, time.time_ns(), started, False)
            self._finish(model, [(j, GenerationError(f"generation failed: {type(exc).__name__}")) for j in jobs],
                         time.perf_counter() - started)
            return []
        group = [jobs[i] for i in indices]
        seconds = time.perf_counter() - started
        stats.generations += len(group)
        stats.last_batch_size, stats.last_batch_seconds, stats.last_batch_at = len(group), seconds, time.time()
        if self.metrics is not None:
            self.metrics.batch_size.observe(len(group))
        self._trace(model.name, model.device, group, len(group), started_ns, time.time_ns(), started, True)
        self._finish(model, [(j, (p, len(group))) for j, p in zip(group, pcm, strict=True)], seconds)
        served = set(indices)
        return [j for i, j in enumerate(jobs) if i not in served]

    def _finish(self, model: AudioModel, results: list[tuple[GenerationJob, Result]], seconds: float) -> None:
        """Count these results, then hand them to their requests (metrics first, so a client that
        reads /metrics after its response sees its own generation counted)."""
        if self.metrics is not None:
            failed = sum(isinstance(result, BaseException) for _job, result in results)
            self.metrics.observe_generations(model.name, seconds, len(results) - failed, failed)
        self._deliver(results)

    def _trace(
        self,
        model_name: str,
        device: str,
        jobs: list[GenerationJob],
        size: int,
        start_ns: int,
        end_ns: int,
        started: float,
        success: bool,
    ) -> None:
        """One ``model.inference`` span per request, child of its ``model.generate_audio`` span.

        Each request's trace then shows the shared pass it rode in, with the batch size.
        """
        if self.tracer is None:
            return
        for job in jobs:
            if job.parent_span is None or not job.parent_span.is_recording():
                continue  # unsampled request: no child span to record
            ctx = trace.set_span_in_context(job.parent_span)
            span = self.tracer.start_span(
                INFERENCE_SPAN,
                context=ctx,
                start_time=start_ns,
                attributes={
                    "model.name": model_name,
                    "model.device": device,
                    "batch.size": size,
                    "prompt.length": len(job.prompt),
                    "audio.generated_samples": job.num_samples,
                    "queue.wait_seconds": max(0.0, started - job.enqueued_at),
                },
            )
            if not success:
                span.set_status(trace.Status(trace.StatusCode.ERROR, "batch generation failed"))
            span.end(end_time=end_ns)

    @staticmethod
    def _deliver(results: list[tuple[GenerationJob, Result]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[GenerationJob, Result]]] = {}
        for job, result in results:
            by_loop.setdefault(job.loop, []).append((job, result))

        def settle(items: list[tuple[GenerationJob, Result]]) -> None:
            for job, result in items:
                if job.future.done():
                    continue
                if isinstance(result, BaseException):
                    job.future.set_exception(result)
                else:
                    job.future.set_result(result)

        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(settle, items)
            except RuntimeError:  # loop closed during shutdown: nobody is waiting any more
                pass

    def _fail_pending(self, error: WorkerUnavailableError) -> None:
        pending: list[tuple[GenerationJob, Result]] = []
        while True:
            try:
                job = self.queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                pending.append((job, error))
        self._deliver(pending)
