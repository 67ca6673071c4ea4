"""The two sides of a review: the working spec, and the base it is compared with.

The base is a spec at a git ref (`git cat-file blob REF:./<spec>`, run in the spec's folder so the
path is the spec's own, wherever the repository root is) or another file. Both go through
`load_stack`, the same loader and resolver as `render`.

Where the base is loaded from: its text is written under the spec's own file name into a private
temporary folder and loaded from there. Loading, resolving and rendering read no file but the spec
itself (paths the spec names, such as build contexts, secret files and the OpenAPI document, are
only written into the output, relative to the spec), so the folder it is loaded from does not change
the model. What does depend on the place is set from the working spec: the file name the generated
headers cite and the output-to-spec path the compose file uses. Both sides therefore render as if
they were the spec at its real place, and only what the change changes differs. A base file given
with --base-spec is loaded where it is and rendered the same way.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from stackgen.diagnostics import SpecError, one_line
from stackgen.output.artifact import Artifact
from stackgen.pipeline import load_stack, render_stack
from stackgen.resolve import Stack

GIT_TIMEOUT_S = 60


class BaseError(Exception):
    """The base cannot be read (not a git repository, an unknown ref, a path missing at the ref)."""


@dataclass(frozen=True)
class Side:
    label: str  # how the report names it
    stack: Stack
    artifacts: tuple[Artifact, ...]


def side(label: str, stack: Stack) -> Side:
    return Side(label, stack, tuple(render_stack(stack)))


def git_label(spec: Path, ref: str) -> str:
    return f"{ref}:{spec.as_posix()}"


def spec_at_ref(spec: Path, ref: str) -> bytes:
    """The spec file's bytes at `ref`, raising BaseError with git's reason on one line."""
    if not ref or ref.startswith("-") or any(c.isspace() for c in ref):
        raise BaseError(f"--base {one_line(ref)!r} is not a git revision")
    folder = spec.parent if str(spec.parent) else Path(".")
    try:
        done = subprocess.run(["git", "-C", str(folder), "cat-file", "blob", f"{ref}:./{spec.name}"],
                              capture_output=True, stdin=subprocess.DEVNULL, timeout=GIT_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise BaseError("--base needs git, which is not installed (or use --base-spec FILE)") from None
    except subprocess.TimeoutExpired:
        raise BaseError(f"--base {one_line(ref)}: git did not answer within {GIT_TIMEOUT_S} s") from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        text = reason[0].removeprefix("fatal: ") if reason else f"git exited {done.returncode}"
        raise BaseError(f"--base {one_line(ref)}: cannot read {one_line(spec.as_posix())} there: {one_line(text)}")
    return done.stdout


def load_text(text: bytes, label: str, spec_name: str) -> Stack:
    """The base from its bytes, loaded under the working spec's file name; problems are named `label`."""
    with tempfile.TemporaryDirectory(prefix="stackgen-review-") as tmp:
        path = Path(tmp) / spec_name
        path.write_bytes(text)
        try:
            return load_stack(path)
        except SpecError as exc:
            raise SpecError([replace(p, file=label) if p.file == str(path) else p for p in exc.problems]) from None


def load_sides(spec: Path, out: Path, base_ref: str = "HEAD", base_file: Path | None = None) -> tuple[Side, Side]:
    """(base, head), both loaded, resolved and rendered. Raises BaseError when the base cannot be read,
    and SpecError with the problems of both sides when either is invalid."""
    problems = []
    head: Stack | None = None
    try:
        head = load_stack(spec, out)
    except SpecError as exc:
        problems += exc.problems
    if base_file is not None:
        label = str(base_file)
        text = None
    else:
        label = git_label(spec, base_ref)
        text = spec_at_ref(spec, base_ref)
    try:
        base = load_stack(base_file) if text is None else load_text(text, label, spec.name)
    except SpecError as exc:
        problems += exc.problems
    if problems or head is None:
        raise SpecError(problems)
    return side(label, as_if(base, head)), side(str(spec), head)


def as_if(stack: Stack, like: Stack) -> Stack:
    """`stack` rendered as if it were the spec `like` came from: same header name, same place."""
    return replace(stack, spec_name=like.spec_name, out_to_spec=like.out_to_spec)
