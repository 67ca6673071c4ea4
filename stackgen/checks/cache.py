"""Which validators may be skipped: one that passed on exactly these inputs with exactly these tools.

`stackgen check` validates a fresh render, so a validator's result is a function of the rendered files,
the stack, stackgen's own code and the external tools it ran. The cache keeps, per validator, a digest of
the first three (the last 16 that passed) and the identity (path, size, mtime) of each tool it found,
recorded only after the validator passed with no finding. A validator is skipped when its digest matches and every recorded tool
still resolves to the same file. Findings are never cached: a failing validator always runs again.

The cache lives beside --out, in `.stackgen-cache/` (git-ignored), never inside it: write.py treats an
unknown file in --out as not stackgen's. Losing it costs time only; a corrupt file is read as empty.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from stackgen.checks import tools

CACHE_DIR = ".stackgen-cache"
# Set, every check shares one cache file there, whatever --out is (the test suite checks many copies of one
# tree; a CI job can keep the folder between runs). Entries are keyed by their inputs, never by the folder.
CACHE_ENV = "STACKGEN_CHECK_CACHE"
_VERSION = 2
_KEPT = 16  # input digests remembered per validator, newest last
_PACKAGE = Path(__file__).resolve().parent.parent


def cache_file(out: Path) -> Path:
    """Where `stackgen check --out OUT` keeps its cache: beside OUT, one file per output folder name."""
    if shared := os.environ.get(CACHE_ENV):
        return Path(shared) / "check.json"
    out = out.resolve()
    return out.parent / CACHE_DIR / f"check-{out.name}.json"


# The parts of stackgen a validator may import (checks and the layers below it, tests/core/test_architecture.py):
# an edit there, in a checkout, invalidates every entry; an edit to a target or lint rule shows in the files.
_CODE = ("checks", "parsers", "output", "spec", "model", "resolve", "diagnostics.py", "diagnostics_formats.py")


def _code_digest() -> str:
    """The validators' code and bundled schemas, by name, size and mtime."""
    h = hashlib.sha256(f"{sys.version}\n".encode())
    for path in sorted(p for unit in _CODE for p in [_PACKAGE / unit, *(_PACKAGE / unit).rglob("*")]):
        if path.is_file() and "__pycache__" not in path.parts:
            st = path.stat()
            h.update(f"{path.relative_to(_PACKAGE).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def inputs_digest(files: Iterable[tuple[str, str]], stack_text: str) -> str:
    """The digest of what every validator reads: the rendered files (path, content), the stack and the code."""
    h = hashlib.sha256(f"v{_VERSION}\n{_code_digest()}\n".encode())
    h.update(hashlib.sha256(stack_text.encode()).digest())
    for path, content in sorted(files):
        h.update(f"{len(path)}:{path}{len(content)}:".encode())
        h.update(content.encode())
    return h.hexdigest()


class Cache:
    """The entries of one cache file; `fresh` asks, `passed` records, `save` writes atomically."""

    def __init__(self, path: Path):
        self.path = path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = data["validators"] if data.get("version") == _VERSION else {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            entries = {}
        self.entries: dict[str, dict] = entries if isinstance(entries, dict) else {}
        self.changed = False

    def _runs(self, validator: str) -> dict[str, dict[str, str]]:
        runs = self.entries.get(validator)
        return runs if isinstance(runs, dict) else {}

    def fresh(self, validator: str, digest: str) -> bool:
        used = self._runs(validator).get(digest)
        return isinstance(used, dict) and all(tools.identity_of(key) == ident for key, ident in used.items())

    def passed(self, validator: str, digest: str, used: dict[str, str]) -> None:
        runs = {d: u for d, u in self._runs(validator).items() if d != digest}
        runs[digest] = dict(sorted(used.items()))
        self.entries[validator] = dict(list(runs.items())[-_KEPT:])
        self.changed = True

    def forget(self, validator: str, digest: str) -> None:
        runs = self._runs(validator)
        if digest in runs:
            self.entries[validator] = {d: u for d, u in runs.items() if d != digest}
            self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        text = json.dumps({"version": _VERSION, "validators": dict(sorted(self.entries.items()))}, indent=1)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".check-", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text + "\n")
            os.replace(tmp, self.path)
        except OSError:  # a read-only checkout: the next check runs every validator, as --no-cache does
            pass
