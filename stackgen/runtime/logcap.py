"""Copies a component's output into a size-capped log file, so a chatty service cannot fill the disk.

The native stack pipes each component's stdout and stderr here. At --max-bytes the file rotates
(FILE -> FILE.1 -> ... -> FILE.<backups>, the oldest dropped). It ignores SIGTERM and SIGINT and
exits at end of input: stopping a component closes the pipe after its last line is written.
Run: python -m stackgen.runtime.logcap --max-bytes 5000000 --backups 2 FILE < output
"""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path

CHUNK = 1 << 16


def rotate(path: Path, backups: int) -> None:
    for i in range(backups - 1, 0, -1):
        older = path.with_name(f"{path.name}.{i}")
        if older.exists():
            older.replace(path.with_name(f"{path.name}.{i + 1}"))
    if backups > 0:
        path.replace(path.with_name(f"{path.name}.1"))
    else:
        path.unlink(missing_ok=True)


def copy(source: int, path: Path, max_bytes: int, backups: int) -> None:
    """Copy from the file descriptor until end of input; no file ever grows past max_bytes
    (a single chunk larger than that is split)."""
    out = open(path, "ab")  # noqa: SIM115 - reopened at each rotation
    size = out.tell()
    try:
        while chunk := os.read(source, CHUNK):
            while chunk:
                if size >= max_bytes:
                    out.close()
                    rotate(path, backups)
                    out = open(path, "ab")  # noqa: SIM115
                    size = 0
                part, chunk = chunk[:max_bytes - size], chunk[max_bytes - size:]
                out.write(part)
                size += len(part)
            out.flush()  # `up` shows the tail of this file when a component fails to start
    finally:
        out.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-bytes", type=int, required=True)
    parser.add_argument("--backups", type=int, default=2)
    parser.add_argument("file", type=Path)
    args = parser.parse_args()
    # The component gets the signal; this process keeps its last lines and ends when its output ends.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    args.file.parent.mkdir(parents=True, exist_ok=True)
    copy(0, args.file, max(1, args.max_bytes), max(0, args.backups))


if __name__ == "__main__":
    main()
