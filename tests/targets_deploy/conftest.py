"""Shared fixtures: the default stack rendered once into a temp tree, and a way to re-render variants."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stackgen.output.write import write_tree
from stackgen.pipeline import render_stack
from stackgen.resolve import Stack, load_stack

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def stack() -> Stack:
    return load_stack(REPO / "stack.yaml")


@pytest.fixture(scope="session")
def rendered(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("render") / "generated"
    write_tree(root, render_stack(stack))
    return root


@pytest.fixture
def tree(rendered: Path, tmp_path: Path) -> Path:
    """A private, mutable copy of the rendered tree."""
    copy = tmp_path / "generated"
    shutil.copytree(rendered, copy)
    return copy


@pytest.fixture
def spec_variant(tmp_path: Path):
    """stack.yaml with textual replacements (old, new), written next to a test's files."""

    def make(*edits: tuple[str, str]) -> Path:
        text = (REPO / "stack.yaml").read_text(encoding="utf-8")
        for old, new in edits:
            assert old in text, old
            text = text.replace(old, new, 1)
        path = tmp_path / "stack.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return make
