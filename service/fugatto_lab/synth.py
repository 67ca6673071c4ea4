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
* sparse resonant impulses (rain drops, crackle),
* a 16-step drum machine (kick, snare, hi-hat) at the requested tempo, read from tables of
  each hit's waveform,
* attack/release envelope, tremolo, peak normalisation.

Slow controls (the oscillator's phase slope, vibrato, tremolo, swell) are computed every
CONTROL_SAMPLES samples and interpolated; only what must be per-sample is.

Randomness comes from a counter-based integer hash of (seed, sample index), not from a
stateful generator: the output of a request depends only on its own prompt, seed and
duration - not on which other requests share its batch, and not on the device.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from .prompts import HAT_PATTERN, KICK_PATTERN, NUM_PARAMS, PARAM_INDEX, SNARE_PATTERN

SAMPLE_RATE = 16_000
MODEL_NAME = "fugatto-synth-v1"
MAX_HARMONICS = 32
NOISE_TAPS = 1025
FFT_BLOCK = 4096  # overlap-save frame: 3072 new samples per frame with a 1025-tap kernel
DROP_TAPS = 512
CPU_PASS_ELEMENTS = 1 << 17  # 512 KiB of float32 per temporary: stays in L2 on common CPUs
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


def _drum_tables(sample_rate: int) -> torch.Tensor:
    """[4, DRUM_TABLE_SIZE] waveforms of the time since a hit: kick, snare envelope (times the
    noise), snare body, hi-hat envelope (times the high-passed noise). They fade out over their
    last 10% and end in silence, so a table read past the end is quiet, not a click."""
    tau = torch.arange(DRUM_TABLE_SIZE, dtype=torch.float64) / sample_rate
    kick = torch.sin(2 * math.pi * (50.0 * tau + 100.0 * 0.03 * (1 - torch.exp(-tau / 0.03)))) * torch.exp(-tau / 0.3)
    snare = torch.exp(-tau / 0.07)
    tables = torch.stack([kick, 0.8 * 0.7 * snare, 0.8 * 0.3 * torch.sin(2 * math.pi * 185.0 * tau) * snare,
                          0.4 * torch.exp(-tau / 0.02)])
    fade = torch.clamp((DRUM_TABLE_SIZE - 1 - torch.arange(DRUM_TABLE_SIZE)) / (0.1 * DRUM_TABLE_SIZE), max=1.0)
    return (tables * fade).float()


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


class FugattoSynth(nn.Module):
    """Batched synthesizer: ``forward(params[B,P], lengths[B], seeds[B]) -> audio[B, max(lengths)]``.

    Written in the TorchScript subset: the service runs it scripted, so a whole pass executes
    in C++ without the GIL (see ``models.BuiltinSynthModel``). Module-level constants are
    copied into ``__constants__`` attributes because TorchScript cannot read Python globals.
    """

    __constants__ = [
        "num_params", "max_harmonics", "drop_taps", "fft_block", "noise_mask", "wavetable_size",
        "drum_table_size", "control_samples",
    ]

    def __init__(self, sample_rate: int = SAMPLE_RATE) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.name = MODEL_NAME
        self.cpu_pass_elements = CPU_PASS_ELEMENTS
        self.num_params = NUM_PARAMS
        self.max_harmonics = MAX_HARMONICS
        self.drop_taps = DROP_TAPS
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
            torch.tensor([_steps_since_hit(p) for p in (KICK_PATTERN, SNARE_PATTERN, HAT_PATTERN)], dtype=torch.float32),
            persistent=False,
        )
        self.drum_table_size = DRUM_TABLE_SIZE
        self.control_samples = CONTROL_SAMPLES
        self.register_buffer("drum_tables", _drum_tables(sample_rate), persistent=False)
        # White noise is read from a fixed table at a seed-dependent offset: one gather per sample
        # instead of a dozen integer hash ops, and still a pure function of (seed, index).
        table_index = torch.arange(1 << NOISE_TABLE_BITS, dtype=torch.int64)
        self.register_buffer("noise_table", hash_uniform(torch.tensor(0x5EED), table_index, 1) * 2 - 1, persistent=False)
        self.register_buffer("uniform_table", hash_uniform(torch.tensor(0xD0D0), table_index, 2), persistent=False)
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
        """
        table = amps[:, :num_harmonics] @ self.harmonic_cycles[:num_harmonics]
        table = torch.cat([table, table[:, :1]], dim=1)  # wrap-around point for interpolation
        pos = self._phase(params, num_samples) * self.wavetable_size
        left = pos.long()
        frac = pos - left
        left = left & (self.wavetable_size - 1)
        return torch.lerp(torch.gather(table, 1, left), torch.gather(table, 1, left + 1), frac)

    def _phase(self, params: torch.Tensor, num_samples: int) -> torch.Tensor:
        """[R, num_samples] oscillator phase in cycles (only its fractional part matters).

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
        start = torch.remainder(cycles[:, :blocks], 1.0).float().unsqueeze(2)
        slope = ((cycles[:, 1:] - cycles[:, :blocks]) / c).float().unsqueeze(2)
        within = torch.arange(c, device=params.device, dtype=torch.float32)
        return torch.addcmul(start, slope, within).reshape(params.shape[0], blocks * c)[:, :num_samples]

    def _lfo(self, rate: torch.Tensor, num_samples: int) -> torch.Tensor:
        """cos(2 pi rate t) for [R, 1] rates: computed at control points and interpolated linearly
        (sub-20 Hz modulators: the error is below 1e-3 of the depth; a per-sample cosine costs
        ~10 times a multiply)."""
        c = self.control_samples
        blocks = (num_samples + c - 2) // c + 1  # control points covering samples 0..num_samples-1
        t = torch.arange(blocks, device=rate.device, dtype=torch.float32) * (c / self.sample_rate)
        points = torch.cos(2 * math.pi * rate * t).unsqueeze(1)
        size = (blocks - 1) * c + 1
        return nn.functional.interpolate(points, size=size, mode="linear", align_corners=True)[:, 0, :num_samples]

    def _fir_bandpass(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        """Windowed-sinc band-pass kernels [B, NOISE_TAPS] for cutoffs in Hz."""
        n = self.fir_n
        lo = (low / self.sample_rate).clamp(0.0, 0.49)
        hi = (high / self.sample_rate).clamp(0.0, 0.49)
        return (2 * hi * torch.sinc(2 * hi * n) - 2 * lo * torch.sinc(2 * lo * n)) * self.fir_window

    def _drop_kernel(self, freq: torch.Tensor, decay: torch.Tensor) -> torch.Tensor:
        n = torch.arange(self.drop_taps, device=freq.device, dtype=torch.float32)
        return torch.exp(-n / (decay.clamp_min(1e-4) * self.sample_rate)) * torch.sin(2 * math.pi * freq * n / self.sample_rate)

    def _filtered(self, signals: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
        """Causal linear convolution of each row with its kernel, by overlap-save.

        The rows are cut into overlapping FFT_BLOCK-sample frames and all frames of all rows go
        through one short FFT. One long FFT per call would do the same arithmetic, but on CPU
        every call of a new long size pays ~0.4 ms to plan it (twiddle factors), which cost more
        than the filtering itself; short blocks are cheap to plan. The result is a direct
        convolution: it does not depend on the batch's padding or on the other rows.
        """
        rows, n = signals.shape[0], signals.shape[-1]
        history = kernels.shape[-1] - 1
        hop = self.fft_block - history
        frames = -(-n // hop)
        padded = nn.functional.pad(signals, (history, frames * hop - n))
        spec = torch.fft.rfft(padded.unfold(1, self.fft_block, hop), n=self.fft_block)
        spec = spec * torch.fft.rfft(kernels, n=self.fft_block).unsqueeze(1)
        valid = torch.fft.irfft(spec, n=self.fft_block)[:, :, history:]  # the wrapped-around head is dropped
        return valid.reshape(rows, frames * hop)[:, :n]

    def _drums(self, params: torch.Tensor, noise: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """The 16-step drum machine.

        A hit's sound depends only on the time since the hit, so each voice reads precomputed
        waveforms (``drum_tables``) at tau = sample index - start of the voice's latest hit. The
        hit starts are worked out per sixteenth-note step (a few dozen per request), which leaves
        one gather and one table read per voice and sample.
        """
        step_samples = self.sample_rate * 60.0 / self._p(params, "bpm") / 4.0  # [R, 1]
        num_steps = int(torch.ceil(idx.shape[1] / step_samples.min())) + 1
        steps = torch.arange(num_steps, device=params.device, dtype=torch.float32)
        step_of_sample = torch.floor(idx.float() / step_samples).long()  # [R, N]
        kick = self._table(0, self._since_hit(0, steps, step_samples, step_of_sample, idx))
        snare_tau = self._since_hit(1, steps, step_samples, step_of_sample, idx)
        snare = noise * self._table(1, snare_tau) + self._table(2, snare_tau)
        hiss = noise - torch.roll(noise, 1, dims=1)  # first difference: a cheap high-pass
        hat = hiss * self._table(3, self._since_hit(2, steps, step_samples, step_of_sample, idx))
        return self._p(params, "kick") * kick + self._p(params, "snare") * snare + self._p(params, "hat") * hat

    def _since_hit(
        self, voice: int, steps: torch.Tensor, step_samples: torch.Tensor, step_of_sample: torch.Tensor, idx: torch.Tensor
    ) -> torch.Tensor:
        """Samples since the voice's latest hit, for every sample; the silent table entry before
        the pattern's first hit."""
        hit_step = steps - self.since_hit[voice][torch.remainder(steps, 16).long()]  # [S]
        start = torch.round(hit_step * step_samples).long()  # [R, S], in samples
        start = torch.where(hit_step >= 0, start, -self.drum_table_size)
        return (idx - torch.gather(start, 1, step_of_sample)).clamp_(max=self.drum_table_size - 1)

    def _table(self, row: int, tau: torch.Tensor) -> torch.Tensor:
        return self.drum_tables[row].index_select(0, tau.reshape(-1)).view_as(tau)

    def forward(self, params: torch.Tensor, lengths: torch.Tensor, seeds: torch.Tensor) -> torch.Tensor:
        if params.dim() != 2 or params.shape[1] != self.num_params:
            raise ValueError("params must be [batch, " + str(self.num_params) + "], got " + str(params.shape))
        groups = self.plan(params, lengths)
        if len(groups) == 1:
            return self._forward(params, lengths, seeds)
        num_samples = int(lengths.max())
        audio = torch.empty((params.shape[0], num_samples), device=params.device)
        for rows in groups:
            audio.index_copy_(0, rows, self._forward(params[rows], lengths[rows], seeds[rows], num_samples))
        return audio

    @torch.jit.export
    def plan(self, params: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
        """The batch's rows, grouped into the passes that synthesise them (row indices per pass).

        On a GPU, one pass. On a CPU the voices are chains of elementwise ops that stream their
        [rows, samples] temporaries through memory; once those outgrow the cache the cost per row
        rises, so big batches go through in cache-sized groups (still amortising the per-op
        overhead over several rows). Rows that use the same voices share a group, so each pass
        runs few voices.
        """
        batch = params.shape[0]
        rows = batch
        if params.device.type == "cpu":
            rows = max(1, self.cpu_pass_elements // max(1, int(lengths.max())))
        if rows >= batch:
            return [torch.arange(batch, device=params.device)]
        key = (
            (params[:, self.param_index["tone_amp"]] > 0).long()
            + 2 * ((params[:, self.param_index["noise_amp"]] > 0) | (params[:, self.param_index["drop_amp"]] > 0)).long()
            + 4 * (params[:, self.param_index["drum_amp"]] > 0).long()
        )
        return list(torch.argsort(key, stable=True).split(rows))

    @torch.jit.export
    def pcm16(self, params: torch.Tensor, lengths: torch.Tensor, seeds: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """One pass over ``rows`` of the batch (a group from :meth:`plan`), as PCM16 samples.

        The conversion happens here, inside the scripted call, so a pass costs the calling
        thread one GIL hand-off, not one per tensor op.
        """
        audio = self._forward(params[rows], lengths[rows], seeds[rows])
        return (audio.clamp(-1.0, 1.0) * 32767.0).round().to(torch.int16)

    def _forward(
        self, params: torch.Tensor, lengths: torch.Tensor, seeds: torch.Tensor, num_samples: Optional[int] = None  # noqa: UP045 (TorchScript)
    ) -> torch.Tensor:
        device = params.device
        num_samples = int(lengths.max()) if num_samples is None else num_samples
        idx = torch.arange(num_samples, device=device, dtype=torch.int64).unsqueeze(0)
        t = idx.float() / self.sample_rate
        seeds = seeds.to(device=device, dtype=torch.int64).unsqueeze(1)
        lengths = lengths.to(device).unsqueeze(1)
        mix = torch.zeros((params.shape[0], num_samples), device=device)

        # Each voice runs only on the rows that use it, so a mixed batch costs the sum of its
        # voices rather than every voice for every row.
        amps = self.harmonic_amplitudes(params)
        rows = (amps.abs() > 0).any(dim=1).nonzero().squeeze(1)
        if rows.numel() > 0:
            sub_amps = amps[rows]
            num_harmonics = int((sub_amps.abs() > 0).any(dim=0).nonzero().max()) + 1
            sub = params[rows]
            tone = self._p(sub, "tone_amp") * self._tone(sub, sub_amps, num_samples, num_harmonics)
            mix = mix.index_add(0, rows, tone)

        noisy = torch.stack([params[:, self.param_index[n]] for n in ["noise_amp", "drop_amp", "drum_amp"]], dim=1) > 0
        rows = noisy.any(dim=1).nonzero().squeeze(1)
        if rows.numel() > 0:
            sub = params[rows]
            sub_seeds = seeds[rows]
            mask = self.noise_mask
            offsets = (hash_uniform(sub_seeds, torch.zeros_like(sub_seeds), 7) * mask).long()
            where = (offsets + idx) & mask
            noise = self.noise_table.index_select(0, where.reshape(-1)).view_as(where)
            voice = torch.zeros_like(noise)
            # The band-pass and the drops each cost an FFT convolution per row: only the rows
            # that use them pay it (a drum loop needs the white noise, not its filtered bands).
            band_rows = (self._p(sub, "noise_amp") > 0).squeeze(1).nonzero().squeeze(1)
            if band_rows.numel() > 0:
                b = sub[band_rows]
                kernels = self._fir_bandpass(self._p(b, "noise_low_hz"), self._p(b, "noise_high_hz"))
                band = self._p(b, "noise_amp") * 4.0 * self._filtered(noise[band_rows], kernels)
                if bool((self._p(b, "swell_depth") > 0).any()):  # slow LFO: skipped when no row uses it
                    swell = 0.5 + 0.5 * self._lfo(self._p(b, "swell_rate_hz"), num_samples)
                    band = band * (1 - self._p(b, "swell_depth") * swell)
                voice = voice.index_add(0, band_rows, band)
            drop_rows = (self._p(sub, "drop_amp") > 0).squeeze(1).nonzero().squeeze(1)
            if drop_rows.numel() > 0:
                d = sub[drop_rows]
                u = self.uniform_table.index_select(0, where[drop_rows].reshape(-1)).view(drop_rows.shape[0], -1)
                rate = self._p(d, "drop_rate_hz") / self.sample_rate
                drops = (u < rate) * (0.3 + 0.7 * u / rate.clamp_min(1e-12))
                kernels = self._drop_kernel(self._p(d, "drop_freq_hz"), self._p(d, "drop_decay_s"))
                voice = voice.index_add(0, drop_rows, self._p(d, "drop_amp") * self._filtered(drops, kernels))
            if bool(noisy[:, 2].any()):
                voice = voice + self._p(sub, "drum_amp") * self._drums(sub, noise, idx)
            mix = mix.index_add(0, rows, voice)

        duration = lengths.float() / self.sample_rate
        env = torch.clamp(t / self._p(params, "attack_s").clamp_min(1e-4), max=1.0) * torch.clamp(
            (duration - t) / self._p(params, "release_s").clamp_min(1e-4), 0.0, 1.0
        )
        if bool((self._p(params, "tremolo_depth") > 0).any()):
            tremolo = 0.5 - 0.5 * self._lfo(self._p(params, "tremolo_rate_hz"), num_samples)
            env = env * (1 - self._p(params, "tremolo_depth") * tremolo)
        audio = mix * env  # env is 0 from each row's own length on: its padding stays silent
        peak = audio.abs().amax(dim=1, keepdim=True).clamp_min(1e-6)
        return audio * (self._p(params, "gain") / peak)
