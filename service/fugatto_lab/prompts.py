"""Turn a free-text prompt into the numeric controls of the synthesizer.

No weights can be downloaded for this service, so instead of a learned text encoder the
built-in model uses a small, documented vocabulary (see service/README.md, "Prompt
vocabulary"). Parsing is pure Python and runs on the request path, so it is deliberately
cheap: one regex pass for numbers and a set lookup for words. Unknown words are ignored, and
a prompt with no known words still produces sound (a soft mid-range tone), because a
text-to-audio service answers every valid prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

_HZ = re.compile(r"(\d+(?:\.\d+)?)\s*(k?hz)\b")
_BPM = re.compile(r"(\d+(?:\.\d+)?)\s*bpm\b")
_NOTE = re.compile(r"\b([a-g])(#|b)?([0-8])\b")
_WORD = re.compile(r"[a-z]+")

_NOTE_OFFSETS = {"c": -9, "d": -7, "e": -5, "f": -4, "g": -2, "a": 0, "b": 2}

MIN_FREQ_HZ = 20.0
MAX_FREQ_HZ = 7_500.0
MIN_BPM = 30.0
MAX_BPM = 300.0

# 16-step patterns (one bar of sixteenth notes) for the drum voice.
KICK_PATTERN = (1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0)
SNARE_PATTERN = (0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0)
HAT_PATTERN = (1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0)


@dataclass(frozen=True)
class SynthParams:
    """Controls of one generation; every field is a float so a batch is one tensor row.

    Amplitudes are relative mix levels (the output is peak-normalised to ``gain``).
    The harmonic weights select the oscillator timbre: sine is harmonic 1 only, saw has
    1/k partials, square odd 1/k partials, triangle odd 1/k^2 partials.
    """

    tone_amp: float = 1.0
    freq_hz: float = 220.0
    sine: float = 1.0
    saw: float = 0.0
    square: float = 0.0
    triangle: float = 0.0
    vibrato_rate_hz: float = 0.0
    vibrato_depth: float = 0.0  # fraction of the frequency
    noise_amp: float = 0.0
    noise_low_hz: float = 20.0
    noise_high_hz: float = 8_000.0
    swell_rate_hz: float = 0.0  # slow amplitude modulation of the noise (waves, wind)
    swell_depth: float = 0.0
    drop_amp: float = 0.0  # sparse resonant impulses (rain drops, crackle)
    drop_rate_hz: float = 0.0  # mean impulses per second
    drop_freq_hz: float = 2_500.0  # resonance of each impulse
    drop_decay_s: float = 0.004
    drum_amp: float = 0.0
    bpm: float = 120.0
    kick: float = 0.0
    snare: float = 0.0
    hat: float = 0.0
    attack_s: float = 0.01
    release_s: float = 0.05
    tremolo_rate_hz: float = 0.0
    tremolo_depth: float = 0.0
    gain: float = 0.7

    def as_row(self) -> tuple[float, ...]:
        # Not dataclasses.astuple: it deep-copies field by field, ~10x slower, on the request
        # path (the event loop) for every request.
        return tuple(float(getattr(self, name)) for name in PARAM_NAMES)


PARAM_NAMES: tuple[str, ...] = tuple(f.name for f in fields(SynthParams))
PARAM_INDEX: dict[str, int] = {name: i for i, name in enumerate(PARAM_NAMES)}
NUM_PARAMS = len(PARAM_NAMES)

_TIMBRES = {
    "sine": dict(sine=1.0, saw=0.0, square=0.0, triangle=0.0),
    "pure": dict(sine=1.0, saw=0.0, square=0.0, triangle=0.0),
    "square": dict(sine=0.0, saw=0.0, square=1.0, triangle=0.0),
    "saw": dict(sine=0.0, saw=1.0, square=0.0, triangle=0.0),
    "sawtooth": dict(sine=0.0, saw=1.0, square=0.0, triangle=0.0),
    "triangle": dict(sine=0.0, saw=0.0, square=0.0, triangle=1.0),
}

# Instruments: a timbre, a default register and an articulation.
_INSTRUMENTS: dict[str, dict[str, float]] = {
    "cello": dict(saw=0.8, sine=0.3, freq_hz=65.41, vibrato_rate_hz=5.0, vibrato_depth=0.004, attack_s=0.25),
    "violin": dict(saw=0.9, sine=0.1, freq_hz=440.0, vibrato_rate_hz=6.0, vibrato_depth=0.006, attack_s=0.08),
    "bass": dict(saw=0.5, sine=0.7, freq_hz=55.0, attack_s=0.02),
    "flute": dict(
        sine=1.0,
        triangle=0.3,
        freq_hz=523.25,
        vibrato_rate_hz=5.0,
        vibrato_depth=0.003,
        noise_amp=0.08,
        noise_low_hz=2_000.0,
        noise_high_hz=6_000.0,
        attack_s=0.06,
    ),
    "organ": dict(square=0.6, sine=0.6, freq_hz=261.63, attack_s=0.02),
    "synth": dict(saw=0.7, square=0.3, freq_hz=220.0, attack_s=0.01),
    "pad": dict(saw=0.4, sine=0.6, freq_hz=220.0, attack_s=0.6, tremolo_rate_hz=0.3, tremolo_depth=0.2),
    "bell": dict(sine=1.0, triangle=0.4, freq_hz=880.0, attack_s=0.002, release_s=0.8),
}

_NOISES: dict[str, dict[str, float]] = {
    "noise": dict(noise_amp=1.0, noise_low_hz=20.0, noise_high_hz=7_900.0),
    "white": dict(noise_amp=1.0, noise_low_hz=20.0, noise_high_hz=7_900.0),
    "static": dict(
        noise_amp=1.0,
        noise_low_hz=1_000.0,
        noise_high_hz=7_900.0,
        drop_amp=0.3,
        drop_rate_hz=40.0,
        drop_freq_hz=5_000.0,
        drop_decay_s=0.001,
    ),
    "pink": dict(noise_amp=1.0, noise_low_hz=20.0, noise_high_hz=3_000.0),
    "brown": dict(noise_amp=1.0, noise_low_hz=20.0, noise_high_hz=500.0),
    "rain": dict(
        noise_amp=0.5,
        noise_low_hz=400.0,
        noise_high_hz=6_000.0,
        drop_amp=0.8,
        drop_rate_hz=60.0,
        drop_freq_hz=2_500.0,
        drop_decay_s=0.004,
    ),
    "wind": dict(noise_amp=1.0, noise_low_hz=80.0, noise_high_hz=900.0, swell_rate_hz=0.25, swell_depth=0.7),
    "ocean": dict(noise_amp=1.0, noise_low_hz=60.0, noise_high_hz=2_500.0, swell_rate_hz=0.1, swell_depth=0.9),
    "waves": dict(noise_amp=1.0, noise_low_hz=60.0, noise_high_hz=2_500.0, swell_rate_hz=0.1, swell_depth=0.9),
    "thunder": dict(noise_amp=1.0, noise_low_hz=20.0, noise_high_hz=180.0, swell_rate_hz=0.5, swell_depth=0.8),
    "fire": dict(
        noise_amp=0.4,
        noise_low_hz=100.0,
        noise_high_hz=1_500.0,
        drop_amp=1.0,
        drop_rate_hz=25.0,
        drop_freq_hz=1_800.0,
        drop_decay_s=0.002,
    ),
    "crackle": dict(
        noise_amp=0.2,
        noise_low_hz=100.0,
        noise_high_hz=1_500.0,
        drop_amp=1.0,
        drop_rate_hz=30.0,
        drop_freq_hz=3_000.0,
        drop_decay_s=0.0015,
    ),
}

_DRUMS: dict[str, dict[str, float]] = {
    "drum": dict(kick=1.0, snare=0.8, hat=0.5),
    "drums": dict(kick=1.0, snare=0.8, hat=0.5),
    "beat": dict(kick=1.0, snare=0.8, hat=0.5),
    "loop": dict(kick=1.0, snare=0.8, hat=0.5),
    "percussion": dict(kick=0.6, snare=0.8, hat=0.8),
    "kick": dict(kick=1.0),
    "snare": dict(snare=1.0),
    "hat": dict(hat=1.0),
    "hihat": dict(hat=1.0),
}

_TIN_WORDS = {"tin", "metal", "metallic", "roof"}
_HIGH_WORDS = {"high", "bright", "shrill"}
_LOW_WORDS = {"low", "deep", "dark", "sub"}
_CALM_WORDS = {"calm", "gentle", "soft", "quiet", "soothing", "ambient"}
_LOUD_WORDS = {"loud", "intense", "heavy", "aggressive"}
_SLOW_WORDS = {"slow", "lazy"}
_FAST_WORDS = {"fast", "rapid", "quick", "energetic"}


def _note_to_hz(name: str, accidental: str | None, octave: str) -> float:
    semitones = _NOTE_OFFSETS[name] + {"#": 1, "b": -1}.get(accidental or "", 0) + 12 * (int(octave) - 4)
    return 440.0 * 2.0 ** (semitones / 12.0)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def parse_prompt(prompt: str) -> SynthParams:
    """Map a prompt to synthesizer controls; see the module docstring for the contract."""
    text = prompt.lower()
    words = set(_WORD.findall(text))
    params: dict[str, float] = {}
    has_voice = False

    instrument_register = False
    for word in sorted(words & _INSTRUMENTS.keys()):
        params.update(_INSTRUMENTS[word])
        has_voice = instrument_register = True
    for word in sorted(words & _TIMBRES.keys()):
        params.update(_TIMBRES[word])
        has_voice = True
    if any(w in words for w in ("tone", "drone", "note", "hum", "beep")):
        has_voice = True

    noise = {}
    for word in sorted(words & _NOISES.keys()):
        noise.update(_NOISES[word])
    drums = {}
    for word in sorted(words & _DRUMS.keys()):
        drums.update(_DRUMS[word])

    if noise:
        params.update(noise)
        if not has_voice:
            params["tone_amp"] = 0.0
    if drums:
        params.update(drums)
        params["drum_amp"] = 1.0
        if not has_voice:
            params["tone_amp"] = 0.0
        params.setdefault("attack_s", 0.002)

    freq = params.get("freq_hz", SynthParams.freq_hz)
    hz = _HZ.search(text)
    note = _NOTE.search(text)
    if hz:
        freq = float(hz.group(1)) * (1_000.0 if hz.group(2) == "khz" else 1.0)
    elif note:
        freq = _note_to_hz(*note.groups())
    elif not instrument_register:
        # An instrument already sits in its register ("low cello" is a normal cello).
        if words & _LOW_WORDS:
            freq *= 0.5
        if words & _HIGH_WORDS:
            freq *= 2.0
    params["freq_hz"] = _clamp(freq, MIN_FREQ_HZ, MAX_FREQ_HZ)

    if words & _TIN_WORDS:
        params["drop_freq_hz"] = 4_200.0
        params["drop_decay_s"] = 0.012

    bpm = _BPM.search(text)
    if bpm:
        params["bpm"] = _clamp(float(bpm.group(1)), MIN_BPM, MAX_BPM)
    elif words & _FAST_WORDS:
        params["bpm"] = 160.0
    elif words & _SLOW_WORDS:
        params["bpm"] = 80.0

    if "drone" in words:
        params.update(
            attack_s=max(params.get("attack_s", 0.0), 0.4),
            release_s=0.4,
            tremolo_rate_hz=params.get("tremolo_rate_hz") or 0.2,
            tremolo_depth=0.15,
        )
    if words & {"pulse", "pulsing", "tremolo"}:
        params.update(tremolo_rate_hz=4.0, tremolo_depth=0.8)
    if "vibrato" in words:
        params.update(vibrato_rate_hz=5.5, vibrato_depth=0.01)

    gain = SynthParams.gain
    if words & _CALM_WORDS:
        gain = 0.4
        params["attack_s"] = max(params.get("attack_s", 0.0), 0.05)
    if words & _LOUD_WORDS:
        gain = 0.95
    params["gain"] = gain
    return SynthParams(**params)
