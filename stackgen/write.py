"""The only code that touches generated/: atomic replacement, and comparison with what is on disk."""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from stackgen.artifact import Artifact


def write_tree(out: Path, artifacts: list[Artifact]) -> None:
    """Replace `out` with exactly these files. On any failure the previous tree stays as it was.

    Files are written into a sibling temporary folder which then takes `out`'s place, so files the
    spec no longer produces disappear and readers never see a half-written tree.
    """
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        for artifact in artifacts:
            target = staging / artifact.path
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(artifact.content)
        for folder in [staging, *[p for p in staging.rglob("*") if p.is_dir()]]:
            folder.chmod(0o755)
        retired = out.parent / f".{out.name}.old-{os.getpid()}"
        if out.exists():
            os.rename(out, retired)
        os.rename(staging, out)
        shutil.rmtree(retired, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def read_tree(out: Path) -> dict[str, str]:
    if not out.is_dir():
        return {}
    files = {}
    for path in sorted(out.rglob("*")):
        if path.is_file():
            files[path.relative_to(out).as_posix()] = path.read_text(encoding="utf-8", errors="replace")
    return files


@dataclass(frozen=True)
class Drift:
    changed: list[str]
    missing: list[str]  # would be created
    extra: list[str]  # would be removed

    def __bool__(self) -> bool:
        return bool(self.changed or self.missing or self.extra)

    def lines(self, out: str) -> list[str]:
        return ([f"{out}/{p}: differs from a fresh render (edited by hand or stale; run `stackgen render`)"
                 for p in self.changed]
                + [f"{out}/{p}: missing (run `stackgen render`)" for p in self.missing]
                + [f"{out}/{p}: not produced by the spec (run `stackgen render` to remove it)" for p in self.extra])


def drift(out: Path, artifacts: list[Artifact]) -> Drift:
    on_disk = read_tree(out)
    wanted = {a.path: a.content for a in artifacts}
    return Drift(
        changed=sorted(p for p in wanted if p in on_disk and on_disk[p] != wanted[p]),
        missing=sorted(p for p in wanted if p not in on_disk),
        extra=sorted(p for p in on_disk if p not in wanted),
    )


def unified_diff(out: Path, artifacts: list[Artifact], label: str) -> str:
    on_disk = read_tree(out)
    wanted = {a.path: a.content for a in artifacts}
    chunks = []
    for path in sorted(set(on_disk) | set(wanted)):
        old, new = on_disk.get(path), wanted.get(path)
        if old == new:
            continue
        chunks.extend(difflib.unified_diff(
            (old or "").splitlines(keepends=True), (new or "").splitlines(keepends=True),
            fromfile=f"a/{label}/{path}" if old is not None else "/dev/null",
            tofile=f"b/{label}/{path}" if new is not None else "/dev/null",
        ))
    return "".join(chunks)
