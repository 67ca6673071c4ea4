"""Specs for the deployment-settings tests: the bad_specs base with service lines and top-level sections added."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stackgen.diagnostics import SpecError
from stackgen.model import names
from stackgen.output.write import write_tree
from stackgen.pipeline import render_stack
from stackgen.resolve import Stack, load_stack

BASE = Path(__file__).resolve().parents[1] / "bad_specs" / "base.yaml.txt"
PORTS = "    ports: {http: 8080, metrics: 9100}\n"


def spec_text(service: str = "", tail: str = "", edits: tuple[tuple[str, str], ...] = ()) -> str:
    text = BASE.read_text().replace(PORTS, PORTS + service, 1) + tail
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def write_spec(tmp_path: Path, service: str = "", tail: str = "", edits: tuple[tuple[str, str], ...] = ()) -> Path:
    folder = tmp_path / "spec"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "stack.yaml"
    path.write_text(spec_text(service, tail, edits))
    return path


def load(tmp_path: Path, service: str = "", tail: str = "", edits: tuple[tuple[str, str], ...] = ()) -> Stack:
    return load_stack(write_spec(tmp_path, service, tail, edits))


def problems(tmp_path: Path, service: str = "", tail: str = "", edits: tuple[tuple[str, str], ...] = ()) -> str:
    """The one-line located problems of a spec that must not load."""
    with pytest.raises(SpecError) as err:
        load(tmp_path, service, tail, edits)
    return "\n".join(str(p) for p in err.value.problems)


def render(tmp_path: Path, service: str = "", tail: str = "", edits: tuple[tuple[str, str], ...] = ()) -> Path:
    """Render into tmp_path/spec/generated (the spec-to-output layout compose paths assume); returns the root."""
    spec = write_spec(tmp_path, service, tail, edits)
    root = spec.parent / "generated"
    write_tree(root, render_stack(load_stack(spec, root)))
    return root


def doc(root: Path, rel: str) -> dict:
    return yaml.safe_load((root / rel).read_text())


def base_doc(root: Path, file: str) -> dict:
    return doc(root, f"{names.K8S_BASE_DIR}/{file}")


def compose_service(root: Path, name: str = "api") -> dict:
    return doc(root, names.COMPOSE_FILE)["services"][name]
