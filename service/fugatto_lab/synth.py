"""The built-in text-to-audio model: a batched, differentiable-style synthesizer in torch.

Why a synthesizer: no pretrained weights can be downloaded where this service is built, and a
monitoring example needs a workload that does real tensor work whose cost grows with batch
size and audio length, and whose output can be checked (a "440 Hz tone" has its spectral
peak at 440 Hz). Every voice is computed for the whole batch at once as [batch, samples]
tensors, so one forward pass serves many requests. Batching pays most on a GPU, where a pass
is bound by kernel launches; on a CPU it amortizes the per-pass part, while the per-sample work
(kept small: see the control-rate notes below) stays.

Voices, all mixed per request according to :class:`~fugatto_lab.prompts.SynthParams`:

* wavetable oscillator (sine/saw/square/triangle partials, band-limited below Nyquist,
  optional vibrato),
* band-passed noise (FIR filter applied by overlap-save FFT) with a slow swell,
* sparse resonant impulses (rain drops, crackle), filtered in the same FFT as the noise,
* a 16-step drum machine (kick, snare, hi-hat) at the requested tempo, its hits on a 2 ms
  grid, read in blocks from tables of each hit's waveform,
* attack/release envelope, tremolo, peak normalisation.

Slow controls (the oscillator's phase slope, vibrato, the tremolo and swell gain curves) are
computed every CONTROL_SAMPLES samples and interpolated; only what must be per-sample is. The
per-sample work is also what batching cannot amortise, so levels are folded into wavetables,
drum levels and filter kernels, the envelope touches only its ramps, noise is copied out of
its table in slices, drum tables are read 32 samples at a time, drops are drawn per drop
rather than per sample, temporaries are updated in place, and lookups use int32 indices.

Randomness comes from a counter-based integer hash of (seed, sample or drop index), not from
a stateful generator: the output of a request depends only on its own prompt, seed and
duration - not on which other requests share its batch, and not on the device.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .passes import pass_capacity, plan_passes, voice_key
from .prompts import HAT_PATTERN, KICK_PATTERN, NUM_PARAMS, PARAM_INDEX, SNARE_PATTERN

SAMPLE_RATE = 16_000
MODEL_NAME = "fugatto-synth-v1"
MAX_HARMONICS = 32
NOISE_TAPS = 1025
FFT_BLOCK = 4096  # overlap-save frame: 3072 new samples per frame with a 1025-tap kernel
DROP_TAPS = 512
NOISE_TABLE_BITS = 20  # 2^20 samples = 65 s at 16 kHz: longer than the longest request (30 s)
DRUM_TABLE_SIZE = 2 * SAMPLE_RATE  # 2 s of each drum hit; the slowest (the kick) is at -58 dB by then
WAVETABLE_SIZE = 4096  # points per oscillator cycle (a power of two: the phase wraps with a bit mask)
CONTROL_SAMPLES = 32  # 2 ms: the step of slow controls (phase slope, vibrato, tremolo, swell)


def _steps_since_hit(pattern: tuple[int, ...]) -> list[int]:
    """For each of the 16 steps, how many steps ago the pattern last hit (cyclically)."""
    n = len(pattern)
    out = []
    for step in range(n):
        for back in range(n):
            if pattern[(step - back) % n]:
                out.append(back)
                break
        else:
            out.append(n * 1000)  # never hits: pushed far outside any envelope
    return out


def _drum_blocks(sample_rate: int) -> torch.Tensor:
    """[4, DRUM_TABLE_SIZE / CONTROL_SAMPLES + 1, CONTROL_SAMPLES] waveforms of the time since a
    hit, in blocks: kick, snare envelope (times the noise), snare body, hi-hat envelope (times
    the high-passed noise). They fade out over their last 10%, and an all-zero block follows
    (read for a voice that has not hit yet, or whose hit is older than the table)."""
    tau = torch.arange(DRUM_TABLE_SIZE, dtype=torch.float64) / sample_rate
    kick = torch.sin(2 * math.pi * (50.0 * tau + 100.0 * 0.03 * (1 - torch.exp(-tau / 0.03)))) * torch.exp(-tau / 0.3)
    snare = torch.exp(-tau / 0.07)
    tables = torch.stack([kick, 0.8 * 0.7 * snare, 0.8 * 0.3 * torch.sin(2 * math.pi * 185.0 * tau) * snare,
                          0.4 * torch.exp(-tau / 0.02)])
    fade = torch.clamp((DRUM_TABLE_SIZE - 1 - torch.arange(DRUM_TABLE_SIZE)) / (0.1 * DRUM_TABLE_SIZE), max=1.0)
    tables = nn.functional.pad((tables * fade).float(), (0, CONTROL_SAMPLES))
    return tables.view(4, -1, CONTROL_SAMPLES)


def hash_uniform(seeds: torch.Tensor, index: torch.Tensor, stream: int) -> torch.Tensor:
    """Uniform [0, 1) noise from a 32-bit integer hash (lowbias32) of seed, index and stream.

    int64 arithmetic wraps identically on CPU and CUDA, so the noise is bit-identical on both.
    """
    mask32 = 0xFFFFFFFF  # a local: TorchScript cannot read module-level ints
    x = (seeds * 0x9E3779B1 + index * 0x85EBCA6B + stream * 0xC2B2AE35) & mask32
    x = x ^ (x >> 16)
    x = (x * 0x7FEB352D) & mask32
    x = x ^ (x >> 15)
    x = (x * 0x846CA68B) & mask32
    x = x ^ (x >> 16)
    return x.to(torch.float32) * (1.0 / 4294967296.0)


def _take(x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """``x[rows]`` for sorted, distinct row indices, without a copy when they are all the rows
    (a pass usually holds one kind of sound); index_select otherwise (advanced indexing is
    several times slower)."""
    if rows.numel() == x.shape[0]:
        return x
    return x.index_select(0, rows)


def _mixed_in(mix: torch.Tensor | None, rows: torch.Tensor, x: torch.Tensor, num_rows: int) -> torch.Tensor:
    """``mix`` with ``x`` added to its ``rows``. The first part that every row has becomes the
    sum itself (``x`` is a fresh tensor): no zero-filled buffer to add it to."""
    if mix is None:
        if rows.numel() == num_rows:
            return x
        mix = torch.zeros((num_rows,) + x.shape[1:], dtype=x.dtype, device=x.device)
    _add_rows(mix, rows, x)
    return mix


def _add_rows(out: torch.Tensor, rows: torch.Tensor, x: torch.Tensor) -> None:
    """``out[rows] += x`` in place for sorted, distinct row indices."""
    if rows.numel() == out.shape[0]:
        out.add_(x)
    else:
        out.index_add_(0, rows, x)


class FugattoSynth(nn.Module):
    """Batched synthesizer: ``forward(params[B,P], lengths[B], seeds[B]) -> audio[B, max(lengths)]``.

    Written in the TorchScript subset: the service runs it scripted, so a whole pass executes
    in C++ without the GIL (see ``models.BuiltinSynthModel``). Module-level constants are
    copied into ``__constants__`` attributes because TorchScript cannot read Python globals.
    """

    __constants__ = [
        "num_params", "max_harmonics", "drop_taps", "noise_taps", "fft_block", "noise_mask", "wavetable_size",
        "control_samples",
    ]

    def __init__(self, sample_rate: int = SAMPLE_RATE) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.name = MODEL_NAME
        self.num_params = NUM_PARAMS
        self.max_harmonics = MAX_HARMONICS
        self.drop_taps = DROP_TAPS
        self.noise_taps = NOISE_TAPS
        self.fft_block = FFT_BLOCK
        self.noise_mask = (1 << NOISE_TABLE_BITS) - 1
        self.wavetable_size = WAVETABLE_SIZE
        # An attribute, not the module-level dict: TorchScript reads attributes, not globals.
        self.param_index = dict(PARAM_INDEX)
        k = torch.arange(1, MAX_HARMONICS + 1, dtype=torch.float32)
        odd = (k % 2 == 1).float()
        sign = torch.where(((k - 1) / 2) % 2 == 0, 1.0, -1.0)
        # Partial amplitudes of the four classic waveforms, rows: sine, saw, square, triangle.
        self.register_buffer(
            "partials",
            torch.stack(
                [
                    (k == 1).float(),
                    1.0 / k,
                    odd / k,
                    odd * sign / (k * k),
                ]
            ),
            persistent=False,
        )
        self.register_buffer(
            "since_hit",
            torch.tensor([_steps_since_hit(p) for p in (KICK_PATTERN, SNARE_PATTERN, HAT_PATTERN)], dtype=torch.int64),
            persistent=False,
        )
        self.control_samples = CONTROL_SAMPLES
        self.register_buffer("drum_blocks", _drum_blocks(sample_rate), persistent=False)
        # White noise is read from a fixed table at a seed-dependent offset: one gather per sample
        # instead of a dozen integer hash ops, and still a pure function of (seed, index).
        table_index = torch.arange(1 << NOISE_TABLE_BITS, dtype=torch.int64)
        self.register_buffer("noise_table", hash_uniform(torch.tensor(0x5EED), table_index, 1) * 2 - 1, persistent=False)
        # First differences of the white noise (a cheap high-pass, for the hi-hat): one lookup.
        self.register_buffer("hiss_table", self.noise_table - torch.roll(self.noise_table, 1), persistent=False)
        # One cycle of each harmonic, [MAX_HARMONICS, WAVETABLE_SIZE]: a row's wavetable is its
        # partial amplitudes times this matrix.
        harmonic = torch.arange(1, MAX_HARMONICS + 1, dtype=torch.float64).unsqueeze(1)
        x = torch.arange(WAVETABLE_SIZE, dtype=torch.float64) / WAVETABLE_SIZE
        self.register_buffer("harmonic_cycles", torch.sin(2 * math.pi * harmonic * x).float(), persistent=False)
        n = torch.arange(NOISE_TAPS, dtype=torch.float32) - (NOISE_TAPS - 1) / 2
        self.register_buffer("fir_n", n, persistent=False)
        self.register_buffer("fir_window", torch.hamming_window(NOISE_TAPS, periodic=False), persistent=False)

    def _p(self, params: torch.Tensor, name: str) -> torch.Tensor:
        return params[:, self.param_index[name]].unsqueeze(1)

    def harmonic_amplitudes(self, params: torch.Tensor) -> torch.Tensor:
        """[B, MAX_HARMONICS] partial amplitudes, zero above Nyquist (no aliasing)."""
        shapes = torch.stack([params[:, self.param_index[n]] for n in ["sine", "saw", "square", "triangle"]], dim=1)
        amps = shapes @ self.partials
        f0 = self._p(params, "freq_hz") * (1.0 + self._p(params, "vibrato_depth"))
        k = torch.arange(1, self.max_harmonics + 1, device=params.device, dtype=params.dtype)
        return amps * (k * f0 < 0.475 * self.sample_rate) * (self._p(params, "tone_amp") > 0)

    def _tone(self, params: torch.Tensor, amps: torch.Tensor, num_samples: int, num_harmonics: int) -> torch.Tensor:
        """Wavetable oscillator: one band-limited cycle per row, read at the running phase.

        The cycle is the sum of the row's partials (a [harmonics, WAVETABLE_SIZE] matrix product,
        cheap), so the per-sample cost is a phase and an interpolated lookup whatever the number
        of harmonics - the classic wavetable trade of a little memory for a lot of arithmetic.
        The row's level is folded into its table, and the lookup indexes all rows' tables as one
        flat int32-indexed array: half the memory traffic of int64 ``gather`` indices.
        """
        size = self.wavetable_size
        table = (amps[:, :num_harmonics] * self._p(params, "tone_amp")) @ self.harmonic_cycles[:num_harmonics]
        rows = params.shape[0]
        here = table.reshape(-1)
        after = torch.roll(table, -1, dims=1).reshape(-1)  # the next point of each cycle, wrapping around
        pos = self._phase(params, num_samples)
        left = pos.int()
        frac = pos - left
        first_point = torch.arange(rows, device=params.device, dtype=torch.int32) * size  # of each row's table
        left.bitwise_and_(size - 1).add_(first_point.unsqueeze(1))
        flat = left.reshape(-1)
        return torch.lerp(here.index_select(0, flat).view(rows, -1), after.index_select(0, flat).view(rows, -1), frac)

    def _phase(self, params: torch.Tensor, num_samples: int) -> torch.Tensor:
        """[R, num_samples] oscillator phase in wavetable points (modulo the table size).

        Worked out in float64 at control points CONTROL_SAMPLES apart - f0 * t plus the integral
        of the vibrato's deviation - and linear in between: the f0 part is exactly linear, and the
        vibrato (a few Hz) is smooth to ~1e-4 of its depth over 2 ms. So each sample costs one
        float32 multiply-add from its block's start and slope, instead of float64 arithmetic and
        a cosine per sample (float32 alone loses the phase after a few seconds of f0 * t).
        """
        c = self.control_samples
        blocks = (num_samples + c - 1) // c
        t = torch.arange(blocks + 1, device=params.device, dtype=torch.float64) * (c / self.sample_rate)
        f0 = self._p(params, "freq_hz").double()
        depth = self._p(params, "vibrato_depth").double()
        rate = self._p(params, "vibrato_rate_hz").double().clamp_min(1e-3)
        cycles = f0 * t + f0 * depth * (1 - torch.cos(2 * math.pi * rate * t)) / (2 * math.pi * rate)
        size = float(self.wavetable_size)
        start = (torch.remainder(cycles[:, :blocks], 1.0) * size).float()
        slope = ((cycles[:, 1:] - cycles[:, :blocks]) * (size / c)).float()
        return self._segments(start, slope, num_samples)

    def _segments(self, start: torch.Tensor, slope: torch.Tensor, num_samples: int) -> torch.Tensor:
        """[R, num_samples] from per-block [R, blocks] start values and per-sample slopes: sample
        n is start[n // c] + slope[n // c] * (n % c), one multiply-add per sample. Sample n's
        value depends only on its own block, not on num_samples or the other rows, so a request
        sounds the same in any pass (``nn.functional.interpolate``, used before, scales by
        (in - 1) / (out - 1), so its output moved by an LSB with the pass's length)."""
        c = self.control_samples
        within = torch.arange(c, device=start.device, dtype=torch.float32)
        segments = torch.addcmul(start.unsqueeze(2), slope.unsqueeze(2), within)
        return segments.reshape(start.shape[0], start.shape[1] * c)[:, :num_samples]

    def _modulation(self, rate: torch.Tensor, depth: torch.Tensor, sign: float, num_samples: int) -> torch.Tensor:
        """The gain curve 1 - depth * (0.5 + sign * 0.5 * cos(2 pi rate t)) of a slow LFO, [R, N].

        Worked out at control points and interpolated linearly: for sub-20 Hz modulators the
        error is below 1e-3 of the depth, and the whole curve (not just the cosine) is affine in
        the interpolated points, so a per-sample cosine and four per-sample ops become one
        multiply-add.
        """
        c = self.control_samples
        blocks = (num_samples + c - 1) // c
        t = torch.arange(blocks + 1, device=rate.device, dtype=torch.float32) * (c / self.sample_rate)
        points = 1 - depth * (0.5 + sign * 0.5 * torch.cos(2 * math.pi * rate * t))
        return self._segments(points[:, :blocks], (points[:, 1:] - points[:, :blocks]) / c, num_samples)

    def _envelope(self, audio: torch.Tensor, params: torch.Tensor, lengths: torch.Tensor) -> None:
        """Applies the attack and release ramps in place, and silences each row after its length
        (``lengths`` is [R, 1]).

        The envelope is 1 between the ramps, so only the first max(attack) and the last
        max(release) samples (counted from the shortest row's end) are touched.
        """
        num_samples = audio.shape[1]
        attack = self._p(params, "attack_s").clamp_min(1e-4)
        head = min(num_samples, int(torch.ceil(attack.max() * self.sample_rate)) + 1)
        if head > 0:
            t = torch.arange(head, device=audio.device, dtype=torch.float32) / self.sample_rate
            audio[:, :head] *= torch.clamp(t / attack, max=1.0)
        release = self._p(params, "release_s").clamp_min(1e-4)
        duration = lengths.float() / self.sample_rate
        tail = max(0, min(num_samples, int(torch.floor((duration - release).min() * self.sample_rate)) - 1))
        t = torch.arange(tail, num_samples, device=audio.device, dtype=torch.float32) / self.sample_rate
        audio[:, tail:] *= torch.clamp((duration - t) / release, 0.0, 1.0)

    def _fir_bandpass(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        """Windowed-sinc band-pass kernels [B, NOISE_TAPS] for cutoffs in Hz."""
        n = self.fir_n
        lo = (low / self.sample_rate).clamp(0.0, 0.49)
        hi = (high / self.sample_rate).clamp(0.0, 0.49)
        return (2 * hi * torch.sinc(2 * hi * n) - 2 * lo * torch.sinc(2 * lo * n)) * self.fir_window

    def _drop_kernel(self, freq: torch.Tensor, decay: torch.Tensor) -> torch.Tensor:
        n = torch.arange(self.drop_taps, device=freq.device, dtype=torch.float32)
        return torch.exp(-n / (decay.clamp_min(1e-4) * self.sample_rate)) * torch.sin(2 * math.pi * freq * n / self.sample_rate)

    def _spectrum(self, signals: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
        """[R, frames, FFT_BLOCK // 2 + 1]: the rows convolved with their kernels (at most
        NOISE_TAPS long), in the frequency domain of overlap-save frames; ``_overlap_save``
        turns it back into samples.

        The rows are cut into overlapping FFT_BLOCK-sample frames and all frames of all rows go
        through one short FFT. One long FFT per call would do the same arithmetic, but on CPU
        every call of a new long size pays ~0.4 ms to plan it (twiddle factors), which cost more
        than the filtering itself; short blocks are cheap to plan. The result is a direct
        convolution to float rounding; its last bits depend on how many frames the call
        transforms, which is why ``forward`` synthesises each pass at its own length.
        """
        n = signals.shape[-1]
        history = self.noise_taps - 1  # every kernel shares one frame grid: spectra can be added
        hop = self.fft_block - history
        frames = -(-n // hop)
        padded = nn.functional.pad(signals, (history, frames * hop - n))
        spectrum = torch.fft.rfft(padded.unfold(1, self.fft_block, hop), n=self.fft_block)
        return spectrum.mul_(torch.fft.rfft(kernels, n=self.fft_block).unsqueeze(1))

    def _overlap_save(self, spectrum: torch.Tensor, num_samples: int) -> torch.Tensor:
        """[R, num_samples] samples of a ``_spectrum``: each frame's wrapped-around head is dropped."""
        history = self.noise_taps - 1
        valid = torch.fft.irfft(spectrum, n=self.fft_block)[:, :, history:]
        return valid.reshape(spectrum.shape[0], -1)[:, :num_samples]

    def _noise_voices(
        self, params: torch.Tensor, noise: torch.Tensor, seeds: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        """Band-passed noise and resonant drops, levels included, as one FFT convolution.

        Both are filters applied to a signal - the white noise and the train of drop impulses -
        so their spectra are added before the one inverse FFT (convolution is linear), and each
        level is folded into its kernel. The swell (a slow LFO of a few seconds) shapes the noise
        before the band-pass: the same as after it, delayed by the filter's 32 ms.
        """
        rows, num_samples = noise.shape[0], noise.shape[1]
        band_rows = (self._p(params, "noise_amp") > 0).squeeze(1).nonzero().squeeze(1)
        drop_rows = (self._p(params, "drop_amp") > 0).squeeze(1).nonzero().squeeze(1)
        spectrum: torch.Tensor | None = None
        if band_rows.numel() > 0:
            b = params[band_rows]
            signal = _take(noise, band_rows)
            if bool((self._p(b, "swell_depth") > 0).any()):  # skipped when no row uses it
                signal = signal * self._modulation(self._p(b, "swell_rate_hz"), self._p(b, "swell_depth"), 1.0, num_samples)
            kernels = self._fir_bandpass(self._p(b, "noise_low_hz"), self._p(b, "noise_high_hz"))
            spectrum = _mixed_in(spectrum, band_rows, self._spectrum(signal, kernels * (self._p(b, "noise_amp") * 4.0)), rows)
        if drop_rows.numel() > 0:
            d = params[drop_rows]
            train = self._drop_train(d, _take(seeds, drop_rows), _take(lengths, drop_rows), num_samples)
            kernels = self._drop_kernel(self._p(d, "drop_freq_hz"), self._p(d, "drop_decay_s"))
            spectrum = _mixed_in(spectrum, drop_rows, self._spectrum(train, kernels * self._p(d, "drop_amp")), rows)
        assert spectrum is not None, "called only for rows with band noise or drops"
        return self._overlap_save(spectrum, num_samples)

    def _drop_train(self, params: torch.Tensor, seeds: torch.Tensor, lengths: torch.Tensor, num_samples: int) -> torch.Tensor:
        """[R, num_samples] impulses: a drop starts at a sample with probability drop_rate_hz /
        SAMPLE_RATE, with a strength uniform in [0.3, 1).

        Drawn as the gaps between drops (geometric: the same process as a coin per sample) from
        the hash of (seed, drop number), so the work is per drop, not per sample. Each row draws
        enough drops to cover its own length but for a 6-sigma run of short gaps, however long
        its pass.
        """
        rate = (self._p(params, "drop_rate_hz").double() / self.sample_rate).clamp(1e-9, 0.5)
        expected = rate * lengths.double()
        draws = torch.ceil(expected + 6 * torch.sqrt(expected) + 8)  # [R, 1]
        k = torch.arange(int(draws.max()), device=params.device, dtype=torch.int64).unsqueeze(0)
        u = hash_uniform(seeds, k, 11).double().clamp_max(1 - 1e-9)
        gaps = torch.floor(torch.log1p(-u) / torch.log1p(-rate)).long() + 1
        position = torch.cumsum(gaps, dim=1) - 1  # integers: exact on every device
        keep = (k < draws) & (position < num_samples)
        strength = torch.where(keep, 0.3 + 0.7 * hash_uniform(seeds, k, 12), 0.0)
        # Dropped draws all land in one spare column (with strength 0), cut off after.
        train = torch.zeros((params.shape[0], num_samples + 1), device=params.device)
        train.scatter_(1, torch.where(keep, position, num_samples), strength)
        return train[:, :num_samples]

    def _drums(self, params: torch.Tensor, noise: torch.Tensor, hiss: torch.Tensor, num_samples: int) -> torch.Tensor:
        """The 16-step drum machine, levels included (``drum_amp`` times each voice's level).

        A hit's sound depends only on the time since the hit, so each voice reads precomputed
        waveforms (``drum_blocks``) from its latest hit on. Hits start on the control grid
        (CONTROL_SAMPLES, 2 ms: well below the ~10 ms at which a listener hears a beat early or
        late), so the time since the latest hit is worked out once per 2 ms block - a few
        thousand numbers per request - and each voice copies whole 32-sample blocks of its table,
        where a lookup per sample (and the arithmetic to find the hit) cost three times more.
        The snare and hi-hat multiply their envelopes by white noise and by its first
        differences (a cheap high-pass).
        """
        c = self.control_samples
        rows = params.shape[0]
        blocks = (num_samples + c - 1) // c
        silent = self.drum_blocks.shape[1] - 1  # the all-zero block after each table
        step_blocks = (self.sample_rate * 60.0 / 4.0 / c) / self._p(params, "bpm").double()  # [R, 1]
        num_steps = int(torch.ceil(blocks / step_blocks.min())) + 1
        steps = torch.arange(num_steps, device=params.device, dtype=torch.float64)
        step_start = torch.ceil(steps * step_blocks).long()  # [R, S]: the first block of each step
        block = torch.arange(blocks, device=params.device, dtype=torch.int64).expand(rows, blocks).contiguous()
        step = torch.searchsorted(step_start, block, right=True) - 1  # [R, blocks]: each block's step
        position = torch.remainder(step, 16)
        voices: list[torch.Tensor] = []
        for voice in range(3):
            hit = step - self.since_hit[voice][position]  # the step of the voice's latest hit
            since = block - step_start.gather(1, hit.clamp_min(0))
            since = torch.where(hit >= 0, since, silent).clamp_(max=silent)
            voices.append(since.reshape(-1))
        level = self._p(params, "drum_amp")
        out = self._blocks(0, voices[0], rows, num_samples).mul_(level * self._p(params, "kick"))
        snare = self._blocks(1, voices[1], rows, num_samples).mul_(noise).add_(self._blocks(2, voices[1], rows, num_samples))
        out.addcmul_(snare, level * self._p(params, "snare"))
        hat = self._blocks(3, voices[2], rows, num_samples).mul_(hiss)
        return out.addcmul_(hat, level * self._p(params, "hat"))

    def _blocks(self, table: int, since: torch.Tensor, rows: int, num_samples: int) -> torch.Tensor:
        """[rows, num_samples] read from drum table ``table``, a whole block per entry of ``since``."""
        return self.drum_blocks[table].index_select(0, since).view(rows, -1)[:, :num_samples]

    def _read(self, table: torch.Tensor, offsets: torch.Tensor, num_samples: int) -> torch.Tensor:
        """[len(offsets), num_samples]: row r is table[(offsets[r] + i) mod 2^NOISE_TABLE_BITS].

        A noise stream is a contiguous run of its table (wrapping around at most once for any
        request the service accepts), so it is copied out in slices: a memory copy, where an
        index lookup per sample costs several times more.
        """
        period = self.noise_mask + 1
        starts: list[int] = offsets.tolist()
        rows: list[torch.Tensor] = []
        for start in starts:
            pieces: list[torch.Tensor] = []
            left = num_samples
            while left > 0:
                take = min(left, period - start)
                pieces.append(table.narrow(0, start, take))
                left -= take
                start = 0
            rows.append(pieces[0] if len(pieces) == 1 else torch.cat(pieces))
        return torch.stack(rows)

    def forward(self, params: torch.Tensor, lengths: torch.Tensor, seeds: torch.Tensor) -> torch.Tensor:
        """The whole batch, in the passes the service would run it in (``plan_passes``)."""
        if params.dim() != 2 or params.shape[1] != self.num_params:
            raise ValueError("params must be [batch, " + str(self.num_params) + "], got " + str(params.shape))
        columns = [params[:, self.param_index[n]] for n in ["tone_amp", "noise_amp", "drop_amp", "drum_amp"]]
        voices: list[list[float]] = torch.stack(columns, dim=1).tolist()
        keys = [voice_key(v[0], v[1], v[2], v[3]) for v in voices]
        groups = plan_passes(keys, pass_capacity(params.device.type, int(lengths.max())))
        if len(groups) == 1:
            return self._forward(params, lengths, seeds)
        audio = torch.zeros((params.shape[0], int(lengths.max())), device=params.device)
        for group in groups:
            rows = torch.tensor(group, device=params.device)
            # Each group at its own length, exactly as the service's passes (pcm16) compute it:
            # the FFT filters' last bits depend on how many frames a pass transforms.
            part = self._forward(params[rows], lengths[rows], seeds[rows])
            audio.narrow(1, 0, part.shape[1]).index_copy_(0, rows, part)
        return audio

    @torch.jit.export
    def pcm16(self, rows: list[list[float]], lengths: list[int], seeds: list[int]) -> torch.Tensor:
        """One pass (a group from ``plan_passes``: the rows' ``SynthParams.as_row``, lengths
        and seeds), as PCM16 samples.

        Everything a pass needs happens inside the scripted call, so it costs the calling thread
        one GIL hand-off. That includes making the input tensors: a tensor made in Python has a
        Python object, and the interpreter takes the GIL to release it whenever the last
        view of that tensor dies, 4-5 times a pass, each a wait of up to a switch interval
        while the event loop runs Python (a pass next to a GIL-holding thread: 4.8 -> 1.4 GIL
        waits, 4.37 -> 3.30 ms).
        """
        device = self.partials.device
        params = torch.tensor(rows, dtype=torch.float32, device=device)
        audio = self._forward(params, torch.tensor(lengths, device=device),
                              torch.tensor(seeds, dtype=torch.int64, device=device))
        # In place (no temporaries); the same numbers as clamping to [-1, 1] before scaling.
        return audio.mul_(32767.0).round_().clamp_(-32767.0, 32767.0).to(torch.int16)

    def _forward(self, params: torch.Tensor, lengths: torch.Tensor, seeds: torch.Tensor) -> torch.Tensor:
        """Peak-normalised audio [R, N] of rows that share a pass."""
        audio = self._mix(params, lengths, seeds)
        return audio.mul_(self._gain(params, audio))

    def _gain(self, params: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """[R, 1] factor that brings each row's peak to its ``gain``."""
        # Two reductions, not torch.aminmax: its row-wise kernel is ~13x slower on CPU.
        peak = torch.maximum(audio.amax(dim=1, keepdim=True), -audio.amin(dim=1, keepdim=True))
        return self._p(params, "gain") / peak.clamp_min(1e-6)

    def _mix(self, params: torch.Tensor, lengths: torch.Tensor, seeds: torch.Tensor) -> torch.Tensor:
        """The enveloped mix of every voice, before peak normalisation (see the module notes on
        keeping per-sample work small)."""
        device = params.device
        num_samples = int(lengths.max())
        seeds = seeds.to(device=device, dtype=torch.int64).unsqueeze(1)
        lengths = lengths.to(device).unsqueeze(1)
        num_rows = params.shape[0]
        mix: torch.Tensor | None = None

        # Each voice runs only on the rows that use it, so a mixed batch costs the sum of its
        # voices rather than every voice for every row.
        amps = self.harmonic_amplitudes(params)
        rows = (amps.abs() > 0).any(dim=1).nonzero().squeeze(1)
        if rows.numel() > 0:
            sub_amps = amps[rows]
            num_harmonics = int((sub_amps.abs() > 0).any(dim=0).nonzero().max()) + 1
            mix = _mixed_in(mix, rows, self._tone(params[rows], sub_amps, num_samples, num_harmonics), num_rows)

        noisy = torch.stack([params[:, self.param_index[n]] for n in ["noise_amp", "drop_amp", "drum_amp"]], dim=1) > 0
        rows = noisy.any(dim=1).nonzero().squeeze(1)
        if rows.numel() > 0:
            sub = params[rows]
            sub_seeds = seeds[rows]
            mask = self.noise_mask
            offsets = (hash_uniform(sub_seeds, torch.zeros_like(sub_seeds), 7) * mask).long().view(-1)
            noise = self._read(self.noise_table, offsets, num_samples)
            # Only the rows that use the band or the drops pay their FFT convolution (a drum
            # loop needs the white noise, not its filtered bands).
            filtered_rows = noisy[rows, :2].any(dim=1).nonzero().squeeze(1)
            if filtered_rows.numel() > 0:
                noise_voices = self._noise_voices(sub[filtered_rows], _take(noise, filtered_rows),
                                                  _take(sub_seeds, filtered_rows), _take(lengths[rows], filtered_rows))
                mix = _mixed_in(mix, rows[filtered_rows], noise_voices, num_rows)
            drum_rows = noisy[rows, 2].nonzero().squeeze(1)
            if drum_rows.numel() > 0:
                hiss = self._read(self.hiss_table, _take(offsets, drum_rows), num_samples)
                drums = self._drums(sub[drum_rows], _take(noise, drum_rows), hiss, num_samples)
                mix = _mixed_in(mix, rows[drum_rows], drums, num_rows)

        if mix is None:  # no voice at all: silence
            mix = torch.zeros((num_rows, num_samples), device=device)
        if bool((self._p(params, "tremolo_depth") > 0).any()):
            depth = self._p(params, "tremolo_depth")
            mix *= self._modulation(self._p(params, "tremolo_rate_hz"), depth, -1.0, num_samples)
        self._envelope(mix, params, lengths)  # also silences each row's padding
        return mix
