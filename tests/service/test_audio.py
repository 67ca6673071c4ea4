"""The model produces real, correctly framed audio that matches its prompt."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fugatto_lab.prompts import parse_prompt
from fugatto_lab.synth import SAMPLE_RATE, FugattoSynth

from .conftest import generate, read_wav


@pytest.mark.parametrize("duration", [0.1, 0.73, 2.0])
def test_wav_header_rate_and_duration(client, duration):
    r = generate(client, duration=duration)
    assert r.status_code == 200
    assert r.headers["content-type"] == "audio/wav"
    assert r.content[:4] == b"RIFF" and r.content[8:16] == b"WAVEfmt "
    rate, samples = read_wav(r.content)
    assert rate == SAMPLE_RATE == int(r.headers["x-sample-rate"])
    assert abs(len(samples) / rate - duration) <= 0.01 * duration
    assert len(r.content) == 44 + 2 * len(samples)


@pytest.mark.parametrize("prompt,freq", [("a calm 440 Hz sine tone", 440.0), ("square wave at 1 khz", 1000.0),
                                         ("a gentle a3 sine note", 220.0)])
def test_tonal_prompt_has_its_frequency_as_spectral_peak(client, prompt, freq):
    rate, samples = read_wav(generate(client, prompt=prompt, duration=1.0).content)
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    peak = np.argmax(spectrum) * rate / len(samples)
    assert abs(peak - freq) <= 2.0
    assert np.abs(samples).max() > 0.2 * 32767  # audible, peak-normalised


def test_same_seed_same_audio_and_other_seed_differs(client):
    a = generate(client, prompt="rain on a tin roof", seed=7).content
    b = generate(client, prompt="rain on a tin roof", seed=7).content
    c = generate(client, prompt="rain on a tin roof", seed=8).content
    assert a == b
    assert a != c


def test_random_seed_is_reported_and_reproduces(client):
    r = generate(client, prompt="wind", seed=None)
    seed = int(r.headers["x-seed"])
    assert generate(client, prompt="wind", seed=seed).content == r.content


def test_drum_loop_follows_tempo():
    """Kick onsets of a 120 bpm loop fall on the pattern's sixteenth-note grid."""
    model = FugattoSynth()
    params = torch.tensor([parse_prompt("kick at 120 bpm").as_row()])
    audio = model(params, torch.tensor([SAMPLE_RATE * 2]), torch.tensor([0]))[0].numpy()
    step = SAMPLE_RATE * 60 / 120 / 4
    frame = int(step)
    energy = np.array([np.abs(audio[i:i + frame // 4]).mean() for i in range(0, len(audio), frame)])
    # The kick pattern hits steps 0, 8 and 10 of each bar: energy jumps exactly there.
    onsets = {s for s in range(1, len(energy)) if energy[s] > 1.2 * energy[s - 1]}
    assert onsets == {8, 10}  # 2 s at 120 bpm is one bar of 16 steps


def test_output_does_not_depend_on_batch_company():
    model = FugattoSynth()
    prompts = ["a calm 440 Hz sine tone", "rain on a tin roof", "fast drum loop at 140 bpm", "low cello drone"]
    lengths = [8000, 16000, 12000, 4000]
    params = torch.tensor([parse_prompt(p).as_row() for p in prompts])
    batch = model(params, torch.tensor(lengths), torch.tensor([1, 2, 3, 4]))
    for i, n in enumerate(lengths):
        alone = model(params[i:i + 1], torch.tensor([n]), torch.tensor([i + 1]))[0]
        assert torch.allclose(alone, batch[i, :n], atol=1e-5)
        assert batch[i, n:].abs().max() == 0 if n < max(lengths) else True


def test_noise_and_drop_rows_mix_in_any_combination():
    """Band noise and drops share one FFT; rows with only one of them (a drop-only row cannot
    come from a prompt, but the model takes any controls) sound the same alone and together."""
    from dataclasses import replace

    model = FugattoSynth()
    rain = parse_prompt("rain on a tin roof")
    rows = [parse_prompt("wind"), replace(rain, noise_amp=0.0), rain, parse_prompt("drum loop")]
    params = torch.tensor([r.as_row() for r in rows])
    lengths = [16000, 12000, 16000, 8000]
    batch = model(params, torch.tensor(lengths), torch.tensor([1, 2, 3, 4]))
    for i, n in enumerate(lengths):
        alone = model(params[i:i + 1], torch.tensor([n]), torch.tensor([i + 1]))[0]
        assert alone.abs().max() > 0.1
        assert torch.allclose(alone, batch[i, :n], atol=1e-5)


@pytest.mark.parametrize("prompt,field,value", [
    ("low cello drone", "freq_hz", 65.41), ("fast drum loop at 140 bpm", "bpm", 140.0),
    ("fast drum loop", "bpm", 160.0), ("a calm 440 Hz sine tone", "freq_hz", 440.0),
    ("rain on a tin roof", "tone_amp", 0.0), ("high violin with vibrato", "freq_hz", 440.0),
])
def test_prompt_vocabulary(prompt, field, value):
    assert getattr(parse_prompt(prompt), field) == pytest.approx(value)


def test_unknown_words_still_make_sound(client):
    _, samples = read_wav(generate(client, prompt="zxqv plorp", duration=0.3).content)
    assert np.abs(samples).max() > 1000


def test_oscillator_phase_stays_exact_over_30_seconds():
    """The phase is integrated in float64 at control points and interpolated in float32: after
    30 s a 7 kHz tone must still be sample-accurate against a float64 reference."""
    params = torch.tensor([parse_prompt("7 khz sine tone").as_row()])
    n = 30 * SAMPLE_RATE
    audio = FugattoSynth()(params, torch.tensor([n]), torch.tensor([0]))[0].double().numpy()
    window = slice(n - SAMPLE_RATE, n - SAMPLE_RATE // 2)  # inside the last second, before the release
    reference = np.sin(2 * np.pi * 7000.0 * np.arange(n)[window] / SAMPLE_RATE)
    got = audio[window] / np.abs(audio[window]).max()
    assert np.abs(got - reference).max() < 2e-3


def test_envelope_touches_only_its_ramps_and_equals_the_closed_form():
    """The envelope is applied only over the ramps; it must still equal the whole-signal
    formula min(t/attack, 1) * clip((duration - t)/release, 0, 1), padding included."""
    synth = FugattoSynth()
    parsed = [parse_prompt(p) for p in ("a pad", "a bell", "fast drum loop", "low cello drone")]
    params = torch.tensor([p.as_row() for p in parsed])
    lengths = torch.tensor([16000, 9000, 3000, 16000])
    audio = torch.ones(4, 16000)
    synth._envelope(audio, params, lengths.unsqueeze(1))
    t = np.arange(16000) / SAMPLE_RATE
    for r, p in enumerate(parsed):
        attack, release = max(p.attack_s, 1e-4), max(p.release_s, 1e-4)
        duration = lengths[r].item() / SAMPLE_RATE
        expected = np.minimum(t / attack, 1.0) * np.clip((duration - t) / release, 0.0, 1.0)
        np.testing.assert_allclose(audio[r].numpy(), expected, atol=1e-5)


def test_noise_streams_are_read_across_the_table_end():
    """Noise is copied out of its table in slices; a stream that runs past the end wraps to the
    start exactly as a per-sample (offset + i) mod size lookup does."""
    synth = FugattoSynth()
    size = synth.noise_mask + 1
    offsets = torch.tensor([size - 7, 0, 12345])
    got = synth._read(synth.noise_table, offsets, 20)
    expected = synth.noise_table[(offsets.unsqueeze(1) + torch.arange(20)) % size]
    assert torch.equal(got, expected)
