"""The only code that touches generated/: atomic, recoverable replacement of a tree stackgen owns,
and comparison with what is on disk.

A tree is stackgen's when it is missing, empty, or carries MANIFEST and holds nothing the manifest
does not list. Replacing it is: write a staging folder `.NAME.new-*` (manifest first), rename NAME to
`.NAME.old-*`, rename the staging folder to NAME, remove the old tree (manifest last). Every step runs
under an exclusive lock on the parent folder, and every reader and writer first finishes what a killed
writer left (`_recover`): an old tree without NAME is renamed back, leftovers that are stackgen's are
removed, anything else is never touched.
"""

from __future__ import annotations

import difflib
import fcntl
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from stackgen.output.artifact import Artifact
from stackgen.output.serialize import json_artifact

MANIFEST = ".stackgen-manifest.json"
_SHOWN = 5  # foreign entries named in a refusal; the walk stops after one more


class OutputError(Exception):
    """--out cannot be written safely. Nothing was changed; the message is one line naming the folder."""


def manifest(artifacts: Sequence[Artifact]) -> Artifact:
    return json_artifact(MANIFEST, {
        "files": sorted(a.path for a in artifacts),
        "generator": "stackgen",
        "note": "stackgen replaces this folder only while it holds nothing but these files; do not edit",
    })


def with_manifest(artifacts: Sequence[Artifact]) -> list[Artifact]:
    """What a render puts on disk: the artifacts and the manifest that marks the folder as stackgen's."""
    return [manifest(artifacts), *artifacts]


def write_tree(out: Path, artifacts: list[Artifact], protected: Sequence[Path] = ()) -> None:
    """Replace `out` with exactly these files (and the manifest), or raise OutputError and change nothing.

    `protected` are paths that must never be inside `out` (the spec). A failure or a kill at any point
    leaves the previous tree, or the new one once the swap is done; never neither.
    """
    shown, out = str(out), out.resolve()
    _make_parent(shown, out.parent)
    with _locked(shown, out.parent):
        _recover(shown, out)
        problem = _refusal(shown, out, protected)
        if problem:
            raise OutputError(f"{problem}; nothing was written")
        _swap_in(shown, out, artifacts)


def _make_parent(shown: str, parent: Path) -> None:
    existing = next(p for p in [parent, *parent.parents] if os.path.lexists(p))
    if not existing.is_dir():
        raise OutputError(f"{shown}: cannot create it: {existing} is a file, not a folder; nothing was written")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{shown}: cannot create {exc.filename or parent}: {exc.strerror}; nothing was written") from None


@contextmanager
def _locked(shown: str, parent: Path) -> Iterator[None]:
    """Serializes writers and recovering readers of one parent folder; the kernel drops it if we are killed."""
    try:
        fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise OutputError(f"{shown}: cannot open {parent}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _swap_in(shown: str, out: Path, artifacts: list[Artifact]) -> None:
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    except OSError as exc:
        raise OutputError(f"{shown}: cannot write into {out.parent}: {exc.strerror}; nothing was written") from None
    retired: Path | None = None
    try:
        # The manifest goes first so that a staging folder left by a kill is recognisably stackgen's.
        for artifact in with_manifest(artifacts):
            target = staging / artifact.path
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(artifact.content)
        for folder in [staging, *[p for p in staging.rglob("*") if p.is_dir()]]:
            folder.chmod(0o755)
        if os.path.lexists(out):
            retired = out.parent / f".{out.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
            os.rename(out, retired)
        os.rename(staging, out)
    except BaseException as exc:
        if retired is not None and not os.path.lexists(out):
            os.rename(retired, out)
        _remove_owned(staging)
        if isinstance(exc, OSError):
            raise OutputError(f"{shown}: cannot write {exc.filename or out}: {exc.strerror}; "
                              f"the previous tree is unchanged") from None
        raise
    if retired is not None:
        _remove_owned(retired)


def _listed(folder: Path) -> set[str] | None:
    """The paths `folder`'s manifest lists, or None when it has no readable stackgen manifest."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) and data.get("generator") == "stackgen" else None
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return set(files)


def _unowned(folder: Path) -> tuple[bool, list[str]]:
    """Whether `folder` has a manifest, and the entries in it stackgen did not write (at most _SHOWN + 1).

    The manifest itself never counts: a folder holding only a manifest cut short by a kill is ours.
    A folder the manifest does not account for is foreign too, even when empty: nothing a user made is lost.
    """
    listed = _listed(folder)
    if listed is None:
        return False, sorted(name for name in os.listdir(folder) if name != MANIFEST)[:_SHOWN + 1]
    folders = {parent.as_posix() for path in listed for parent in Path(path).parents} - {"."}
    foreign: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        rel = Path(dirpath).relative_to(folder)
        for name in sorted(dirnames):
            path = (rel / name).as_posix()
            if os.path.islink(os.path.join(dirpath, name)):
                dirnames.remove(name)
                foreign += [] if path in listed else [path]
            elif path not in folders:
                dirnames.remove(name)
                foreign.append(path + "/")
        foreign += [p for p in ((rel / n).as_posix() for n in filenames) if p not in listed and p != MANIFEST]
        if len(foreign) > _SHOWN:
            break
    return True, sorted(foreign)


def _owned(folder: Path) -> bool:
    return folder.is_dir() and not folder.is_symlink() and not _unowned(folder)[1]


def _refusal(shown: str, out: Path, protected: Sequence[Path]) -> str | None:
    """Why `out` is not a tree stackgen may replace, as one line; None when it is."""
    try:
        return _refusal_unchecked(shown, out, protected)
    except OSError as exc:
        return f"{shown}: cannot read {exc.filename or out}: {exc.strerror}"


def _refusal_unchecked(shown: str, out: Path, protected: Sequence[Path]) -> str | None:
    if not os.path.lexists(out):
        return None
    if not out.is_dir():
        return f"{shown}: is a file, not a folder"
    for path in protected:
        if path.resolve().is_relative_to(out):
            return f"{shown}: holds {path}, so it is not a folder stackgen wrote"
    if os.path.lexists(out / ".git"):
        return f"{shown}: is a git working tree, not a folder stackgen wrote"
    marked, foreign = _unowned(out)
    if not foreign:
        return None
    names = ", ".join(foreign[:_SHOWN]) + (", ..." if len(foreign) > _SHOWN else "")
    if not marked:
        return (f"{shown}: not written by stackgen (no {MANIFEST}) and not empty: {names}; "
                f"if it holds an older stackgen output, delete it and render again")
    # Refused rather than deleted with the rest of the tree, or carried into the new one: the user put
    # them there on purpose, and `check` would report them as not produced by the spec forever after.
    return f"{shown}: holds files stackgen did not write: {names}; move them out of {shown}"


def _recover(shown: str, out: Path) -> None:
    """Finish a swap a killed writer left half done and remove its staging folders. Foreign folders stay."""
    parent, name = out.parent, out.name
    if not parent.is_dir():
        return

    def leftovers(kind: str) -> list[Path]:
        found = [p for p in parent.iterdir() if p.name.startswith(f".{name}.{kind}-") and _owned(p)]
        return sorted(found, key=lambda p: (p / MANIFEST).stat().st_mtime if (p / MANIFEST).exists() else 0)

    try:
        olds = leftovers("old")
        if olds and not os.path.lexists(out) and os.path.lexists(olds[-1] / MANIFEST):
            os.rename(olds.pop(), out)
        for folder in [*olds, *leftovers("new")]:
            _remove_owned(folder)
    except OSError as exc:
        raise OutputError(f"{shown}: cannot recover from an interrupted render in {parent}: {exc.strerror}") from None


def _remove_owned(folder: Path) -> None:
    """Remove a tree of ours with its manifest last, so that a kill half way leaves it still recognisably ours."""
    if not folder.is_dir():
        return
    for entry in sorted(folder.iterdir()):
        if entry.name == MANIFEST:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)
    try:
        folder.rmdir()
    except OSError:
        pass  # left for the next render's recovery


def read_tree(out: Path) -> dict[str, str]:
    if not out.is_dir():
        return {}
    files = {}
    for path in sorted(out.rglob("*")):
        if path.is_file():
            files[path.relative_to(out).as_posix()] = path.read_text(encoding="utf-8", errors="replace")
    return files


@contextmanager
def _settled(out: Path) -> Iterator[Path | None]:
    """`out` resolved, recovered from an interrupted render and locked while the caller reads it (None: no parent)."""
    resolved = out.resolve()
    if not resolved.parent.is_dir():
        yield None
        return
    with _locked(str(out), resolved.parent):
        _recover(str(out), resolved)
        yield resolved


@dataclass(frozen=True)
class Drift:
    changed: list[str]
    missing: list[str]  # would be created
    extra: list[str]  # stackgen wrote them and would remove them
    foreign: list[str]  # stackgen did not write them; render refuses to replace the folder

    def __bool__(self) -> bool:
        return bool(self.changed or self.missing or self.extra or self.foreign)

    def problems(self, out: str) -> list[tuple[str, str]]:
        """(file under `out`, what is wrong with it), changed files first."""
        return ([(f"{out}/{p}", "differs from a fresh render (edited by hand or stale; run `stackgen render`)")
                 for p in self.changed]
                + [(f"{out}/{p}", "missing (run `stackgen render`)") for p in self.missing]
                + [(f"{out}/{p}", "not produced by the spec (run `stackgen render` to remove it)") for p in self.extra]
                + [(f"{out}/{p}", f"not written by stackgen (move it out of {out}; render will not delete it)")
                   for p in self.foreign])


def drift(out: Path, artifacts: list[Artifact]) -> Drift:
    with _settled(out) as resolved:
        on_disk = read_tree(resolved) if resolved else {}
        listed = (_listed(resolved) if resolved and resolved.is_dir() else None) or set()
    wanted = {a.path: a.content for a in with_manifest(artifacts)}
    return Drift(
        changed=sorted(p for p in wanted if p in on_disk and on_disk[p] != wanted[p]),
        missing=sorted(p for p in wanted if p not in on_disk),
        extra=sorted(p for p in on_disk if p not in wanted and p in listed),
        foreign=sorted(p for p in on_disk if p not in wanted and p not in listed),
    )


def unified_diff(out: Path, artifacts: list[Artifact], label: str, protected: Sequence[Path] = ()) -> str:
    """What `render` would change in `out`; OutputError where render would refuse to touch it."""
    with _settled(out) as resolved:
        problem = _refusal(str(out), resolved, protected) if resolved else None
        if problem:
            raise OutputError(f"{problem}; render would refuse to replace it")
        on_disk = read_tree(resolved) if resolved else {}
    wanted = {a.path: a.content for a in with_manifest(artifacts)}
    chunks = []
    for path in sorted(set(on_disk) | set(wanted)):
        old, new = on_disk.get(path), wanted.get(path)
        if old == new:
            continue
        chunks.extend(_file_diff(label, path, old, new))
    return "".join(chunks)


def _file_diff(label: str, path: str, old: str | None, new: str | None) -> list[str]:
    return list(difflib.unified_diff(
        (old or "").splitlines(keepends=True), (new or "").splitlines(keepends=True),
        fromfile=f"a/{label}/{path}" if old is not None else "/dev/null",
        tofile=f"b/{label}/{path}" if new is not None else "/dev/null",
    ))


def drift_diffs(out: Path, artifacts: list[Artifact], label: str, per_file: int = 40, total: int = 400) -> dict[str, list[str]]:
    """The unified diff of each file `render` would change, keyed `label/path` as Drift.problems names it, as
    lines without their ends: at most `per_file` lines of each and `total` in all, then a line saying how
    many were left out. Enough for a CI log to show what moved, never a whole tree. Files stackgen did not
    write get none: render would not touch them."""
    with _settled(out) as resolved:
        on_disk = read_tree(resolved) if resolved else {}
        listed = (_listed(resolved) if resolved and resolved.is_dir() else None) or set()
    wanted = {a.path: a.content for a in with_manifest(artifacts)}
    diffs: dict[str, list[str]] = {}
    for path in sorted(set(wanted) | (set(on_disk) & listed)):
        old, new = on_disk.get(path), wanted.get(path)
        if old == new:
            continue
        lines = [line.rstrip("\r\n") for line in _file_diff(label, path, old, new)]
        shown = max(0, min(len(lines), per_file, total))
        total -= shown
        diffs[f"{label}/{path}"] = lines[:shown] + (
            [f"... {len(lines) - shown} more diff line(s) not shown (`stackgen diff` shows them all)"]
            if len(lines) > shown else [])
    return diffs
