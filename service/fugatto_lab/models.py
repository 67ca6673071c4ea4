"""Model loading: the built-in synthesizer or a user's TorchScript module, on CUDA or CPU.

Loading runs in a background thread after the server is listening, so ``/live`` answers at
once and ``/ready`` turns 200 only when a model can serve. torch is imported here, lazily,
because importing it takes seconds and nothing else on the start-up path needs it.

A TorchScript module must implement::

    forward(self, prompts: List[str], num_samples: int, seeds: Tensor) -> Tensor   # [B, num_samples]

returning float audio in [-1, 1]; an optional integer attribute ``sample_rate`` declares its
rate (default 16000). The loader calls it once with a probe input and rejects a module whose
answer has the wrong shape, dtype or non-finite values, so a bad model is reported at load
time with a reason instead of failing every request.
"""

from __future__ import annotations

import gc
import logging
import re
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .metrics import ServiceMetrics
from .passes import pass_capacity, plan_passes, voice_key
from .prompts import parse_prompt

if TYPE_CHECKING:
    import numpy as np
    import torch

log = logging.getLogger(__name__)

DEFAULT_SAMPLE_RATE = 16_000
GC_YOUNG_THRESHOLD = 10_000  # allocations between young collections (CPython's default is 700): see start_loading
_PROBE_SAMPLES = 160


class ModelLoadError(RuntimeError):
    """The configured model cannot serve; the message says why and what was tried."""


Finished = tuple[list[int], list[memoryview]]  # (request indices within the batch, their PCM bytes)


class AudioModel(Protocol):
    name: str
    kind: str
    sample_rate: int
    device: str

    def encode(self, prompt: str) -> Any:
        """Per-request preparation of a prompt (the built-in model parses it into synthesizer
        controls). Called on the request path, not by the batch worker: the single worker is
        the bottleneck under load, so it should spend its time on the batched pass."""
        ...

    def generate(self, inputs: list[Any], lengths: list[int], seeds: list[int]) -> Iterator[Finished]:
        """Synthesise a batch of ``encode``d prompts, oldest request first; yields (request
        indices, their PCM16 little-endian mono bytes) as each pass of the batch finishes.

        The first pass must hold request 0: the batch worker runs only the first pass of each
        batch and plans the requests it left again, together with those that arrived meanwhile.
        """
        ...


def generate_all(model: AudioModel, prompts: list[str], lengths: list[int], seeds: list[int]) -> list[bytes]:
    """Every request's PCM in request order (for callers that do not stream: warm-up, benchmarks)."""
    out: list[bytes] = [b""] * len(prompts)
    for indices, pcm in model.generate([model.encode(p) for p in prompts], lengths, seeds):
        for i, data in zip(indices, pcm, strict=True):
            out[i] = bytes(data)
    return out


def _to_pcm(audio: torch.Tensor, lengths: list[int]) -> list[memoryview]:
    import torch

    # Convert the whole batch in one tensor op (on the model's device), copy to host once.
    return _pcm_rows((audio.clamp(-1.0, 1.0) * 32767.0).round().to(torch.int16).cpu().numpy(), lengths)


def _pcm_rows(pcm: np.ndarray, lengths: list[int]) -> list[memoryview]:
    """Each request's samples as bytes: views of its row, not copies. The response copies them
    once, after the WAV header; a copy per row here (``tobytes``) cost the worker 18 us per 64 KB
    with the GIL held, most of it faulting back in pages glibc had just returned to the kernel."""
    return [memoryview(pcm[i, :n]).cast("B") for i, n in enumerate(lengths)]


def resolve_device(requested: str) -> str:
    import torch

    if requested == "cpu":
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if requested == "cuda":
        raise ModelLoadError(
            "device 'cuda' was requested but torch.cuda.is_available() is False "
            f"(torch {torch.__version__}, CUDA build: {torch.version.cuda})"
        )
    return "cpu"


class BuiltinSynthModel:
    """``fugatto-synth-v1``: prompts are parsed into synthesizer controls (see prompts.py)."""

    kind = "builtin"

    def __init__(self, device: str) -> None:
        import torch

        from .synth import MODEL_NAME, SAMPLE_RATE, FugattoSynth

        self.name = MODEL_NAME
        self.sample_rate = SAMPLE_RATE
        self.device = device
        # Scripted, because eager torch takes the GIL back after each of the hundreds of small ops of a
        # pass: with the event loop (or the span exporter) busy in Python, each of those waits
        # for a GIL hand-off and a 16 ms pass took 330 ms. A scripted pass runs in C++ without
        # the GIL and gives bit-identical audio (bench/results/service.md).
        # torch.jit.script is deprecated in favour of torch.compile/torch.export, which need a
        # compiler toolchain at run time or an ahead-of-time build; TorchScript needs neither.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*torch.jit")
            self.module = torch.jit.script(FugattoSynth(SAMPLE_RATE).to(device).eval())

    @staticmethod
    def encode(prompt: str) -> tuple[tuple[float, ...], int]:
        """The prompt's synthesizer controls and which voices they use (see ``plan_passes``)."""
        params = parse_prompt(prompt)
        return params.as_row(), voice_key(params.tone_amp, params.noise_amp, params.drop_amp, params.drum_amp)

    def generate(self, inputs: list[Any], lengths: list[int], seeds: list[int]) -> Iterator[Finished]:
        capacity = pass_capacity(self.device, max(lengths))
        for rows in plan_passes([key for _row, key in inputs], capacity):
            pass_lengths = [lengths[r] for r in rows]
            # Plain Python values (the rows stay tuples): pcm16 makes its tensors itself (see there why).
            pcm = self._scripted(
                self.module.pcm16, [inputs[r][0] for r in rows], pass_lengths, [seeds[r] for r in rows]
            ).cpu().numpy()
            yield rows, _pcm_rows(pcm, pass_lengths)

    @staticmethod
    def _scripted(method: Any, *args: Any) -> Any:
        """Call a scripted method the way the service runs the model.

        Without graph optimization: the optimizing executor specializes (and on CUDA compiles
        fused kernels) per input shape, and every batch has a new shape; the compile spikes cost
        more than fusion saves (H100: 1291 vs 1808 req/s). Interpreted, the pass still runs
        without the GIL. The flag is process-wide, but only the batch worker runs models.
        """
        import torch

        with torch.inference_mode(), torch.jit.optimized_execution(False):
            return method(*args)

    def warm_up(self) -> None:
        """Run every voice once so the first request does not pay one-time initialisation."""
        generate_all(self, ["440 hz sine tone", "rain", "drum loop", "cello"], [1600] * 4, [0, 1, 2, 3])


class TorchScriptModel:
    """A user's scripted module, loaded from ``--model-path``."""

    kind = "torchscript"

    def __init__(self, path: Path, device: str) -> None:
        import torch

        if not path.is_file():
            raise ModelLoadError(f"model file {path} does not exist")
        try:
            with warnings.catch_warnings():
                # TorchScript is the documented exchange format here; torch's deprecation notice
                # is not actionable for operators reading the service log.
                warnings.simplefilter("ignore", DeprecationWarning)
                self.module: Any = torch.jit.load(str(path), map_location=device)
        except Exception as exc:
            raise ModelLoadError(
                f"{path} is not a loadable TorchScript module: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}"
            ) from exc
        self.module.eval()
        self.device = device
        self.name = model_name_for(path)
        rate = getattr(self.module, "sample_rate", DEFAULT_SAMPLE_RATE)
        if not isinstance(rate, int) or not 1_000 <= rate <= 192_000:
            raise ModelLoadError(f"{path}: sample_rate attribute {rate!r} is not an integer in 1000..192000")
        self.sample_rate = rate
        self._probe(path)

    def _forward(self, prompts: list[str], num_samples: int, seeds: list[int]) -> torch.Tensor:
        import torch

        with torch.inference_mode():
            return self.module(prompts, num_samples, torch.tensor(seeds, dtype=torch.int64, device=self.device))

    def _probe(self, path: Path) -> None:
        import torch

        try:
            out = self._forward(["probe tone"], _PROBE_SAMPLES, [0])
        except Exception as exc:
            raise ModelLoadError(
                f"{path}: forward(prompts: List[str], num_samples: int, seeds: Tensor) failed on a probe "
                f"input: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            ) from exc
        if not isinstance(out, torch.Tensor):
            raise ModelLoadError(f"{path}: forward returned {type(out).__name__}, expected a Tensor")
        if tuple(out.shape) != (1, _PROBE_SAMPLES):
            raise ModelLoadError(
                f"{path}: forward returned shape {tuple(out.shape)} for 1 prompt and "
                f"{_PROBE_SAMPLES} samples, expected (1, {_PROBE_SAMPLES})"
            )
        if not out.is_floating_point() or not bool(torch.isfinite(out).all()):
            raise ModelLoadError(f"{path}: forward must return finite floating-point audio, got {out.dtype}")

    @staticmethod
    def encode(prompt: str) -> str:
        return prompt  # the module takes the prompts as they are

    def generate(self, inputs: list[Any], lengths: list[int], seeds: list[int]) -> Iterator[Finished]:
        prompts: list[str] = inputs
        num_samples = max(lengths)
        audio = self._forward(prompts, num_samples, seeds)
        if tuple(audio.shape) != (len(prompts), num_samples):
            raise RuntimeError(f"model returned shape {tuple(audio.shape)}, expected {(len(prompts), num_samples)}")
        yield list(range(len(prompts))), _to_pcm(audio.float(), lengths)

    def warm_up(self) -> None:
        generate_all(self, ["warm up"], [1600], [0])


def model_name_for(path: Path) -> str:
    """Metric label for a TorchScript file: its stem, restricted to a safe, short alphabet."""
    stem = re.sub(r"[^a-z0-9_.-]+", "-", path.stem.lower()).strip("-.") or "model"
    return stem[:64]


@dataclass
class ModelState:
    """Where loading stands; read by health checks and the batch worker."""

    status: str = "loading"  # loading | ready | failed
    model: AudioModel | None = None
    error: str | None = None
    load_seconds: float | None = None
    source: str = "builtin"

    def __post_init__(self) -> None:
        self.ready_event = threading.Event()
        self.done_event = threading.Event()

    @property
    def ready(self) -> bool:
        return self.status == "ready"


def load_model(model_path: Path | None, device: str, torch_threads: int = 1) -> AudioModel:
    import torch

    # The batch worker is the only thread running torch; leaving cores to the event loop keeps
    # HTTP handling from starving while a batch computes.
    torch.set_num_threads(torch_threads)
    resolved = resolve_device(device)
    model: BuiltinSynthModel | TorchScriptModel
    model = TorchScriptModel(model_path, resolved) if model_path else BuiltinSynthModel(resolved)
    model.warm_up()
    return model


def start_loading(
    state: ModelState,
    model_path: Path | None,
    device: str,
    metrics: ServiceMetrics | None,
    torch_threads: int = 1,
) -> threading.Thread:
    """Load in a daemon thread; the outcome lands in ``state`` (and metrics, logs)."""
    state.source = str(model_path) if model_path else "builtin"

    def run() -> None:
        started = time.perf_counter()
        try:
            model = load_model(model_path, device, torch_threads)
        except Exception as exc:  # every failure must reach /ready and the logs, not a dead thread
            state.error = str(exc) if isinstance(exc, ModelLoadError) else f"{type(exc).__name__}: {exc}"
            state.status = "failed"
            if metrics is not None:
                metrics.active_models.set(0)
            log.error("model load failed", extra={"model_source": state.source, "error": state.error})
            state.done_event.set()
            return
        state.load_seconds = time.perf_counter() - started
        state.model = model
        state.status = "ready"
        if metrics is not None:
            metrics.model_load_seconds.labels(model.name).observe(state.load_seconds)
            metrics.active_models.set(1)
        log.info(
            "model loaded",
            extra={
                "model": model.name,
                "model_kind": model.kind,
                "device": model.device,
                "sample_rate": model.sample_rate,
                "duration": state.load_seconds,
            },
        )
        # Everything alive now (torch, FastAPI, the model) lives as long as the process. Frozen,
        # the cyclic GC stops re-scanning it: under load a full collection paused the process for
        # up to 117 ms (a /metrics scrape p99 of 11-76 ms); frozen, the longest scrape was 16 ms.
        gc.collect()
        gc.freeze()
        # Young collections were not collecting garbage either: the first generation fills up
        # with the objects of requests in flight (32 of them hold more than the default 700),
        # which a collection walks and keeps, with the GIL held, ~190 us each, ~19 us per
        # request; the batch worker waits for the GIL meanwhile. Request objects die by
        # reference count, so the count rarely gets past 2,000 (2-core box, 32 clients:
        # 0.1 us of collection per request; 10,000 leaves room for more clients). Batched
        # throughput +10% (bench/results/service.md).
        gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        state.ready_event.set()
        state.done_event.set()

    thread = threading.Thread(target=run, name="model-loader", daemon=True)
    thread.start()
    return thread
