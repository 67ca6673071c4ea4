"""WAV (RIFF, PCM16 mono) encoding.

Written with ``struct`` rather than the ``wave`` module because the batch worker already has
the samples as one int16 array: the header is 44 fixed bytes and the payload is a slice.
"""

from __future__ import annotations

import struct

WAV_HEADER_BYTES = 44


def wav_header(num_samples: int, sample_rate: int, channels: int = 1, bits: int = 16) -> bytes:
    block_align = channels * bits // 8
    data_size = num_samples * block_align
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_size,
        b"WAVE",
        b"fmt ",
        16,
        1,
        channels,
        sample_rate,
        sample_rate * block_align,
        block_align,
        bits,
        b"data",
        data_size,
    )


def encode_wav(pcm16: bytes | memoryview, sample_rate: int) -> bytes:
    """A complete WAV file around little-endian PCM16 mono samples."""
    return wav_header(len(pcm16) // 2, sample_rate) + pcm16
