"""How a batch of requests is split into model passes (plain Python: no torch import).

The built-in synthesizer's ``forward`` runs this scripted (it is in the TorchScript subset);
the service's batch worker runs it as it is, before each pass, without a scripted call and so
without a GIL hand-off just to plan.
"""

from __future__ import annotations

# 1 MiB of float32 per temporary, about one core's L2. Per row at batch 32 on the 2-core build box:
# 0.351 ms at 2^18 against 0.386 at 2^17 and 0.364 at 2^19 (median of 15).
CPU_PASS_ELEMENTS = 1 << 18


def voice_key(tone_amp: float, noise_amp: float, drop_amp: float, drum_amp: float) -> int:
    """Which voices a request uses, as 3 bits (tone, noise or drops, drums): passes group like keys."""
    return int(tone_amp > 0) + 2 * int(noise_amp > 0 or drop_amp > 0) + 4 * int(drum_amp > 0)


def pass_capacity(device: str, longest: int, pass_elements: int = CPU_PASS_ELEMENTS) -> int:
    """Rows per pass: on a CPU as many as keep a pass's [rows, samples] temporaries about
    cache-sized (CPU_PASS_ELEMENTS), on a GPU no limit (-1)."""
    if device != "cpu":
        return -1
    return max(1, pass_elements // max(1, longest))


def plan_passes(keys: list[int], capacity: int) -> list[list[int]]:
    """The rows of a batch (its requests' voice keys, oldest first) grouped into passes.

    On a GPU (``capacity`` -1: no limit) everything is one pass. On a CPU a pass only holds rows
    with the same voices, at most ``capacity`` of them, even when all the rows would fit in one:
    - a pass pays each voice's per-op overhead once, so 24 mixed rows cost 0.453 ms per row in
      four passes of 6 like rows against 0.509 in three passes of 8 mixed ones (build box);
    - the worker answers each pass as it ends, so the clients of the first pass send their next
      request while the others compute. One mixed pass of everything answered every client at
      once, and left the worker idle until they came back: at 4 and 8 clients (mixed prompts,
      2 s of audio) the batched service served 686 and 980 req/s, fewer than ``max_batch=1``
      (1298 and 1296); like passes serve 1495 and 1897.
    The first pass holds row 0, the oldest request, and the like rows after it, up to ``capacity``.

    Plain Python in the TorchScript subset: ``forward`` runs it scripted, the service's batch
    worker as it is (no scripted call, so no GIL hand-off, just to plan).
    """
    batch = len(keys)
    if capacity < 0:
        return [[row for row in range(batch)]]
    by_key: list[list[int]] = []
    for _ in range(8):
        no_rows: list[int] = []
        by_key.append(no_rows)
    for row in range(batch):
        by_key[(keys[row] - keys[0] + 8) % 8].append(row)  # row 0's key first
    passes: list[list[int]] = []
    for rows in by_key:
        for start in range(0, len(rows), capacity):
            passes.append(rows[start : start + capacity])
    return passes
