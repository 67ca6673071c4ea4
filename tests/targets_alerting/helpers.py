"""A copy of stack.yaml with one part changed, loaded (or refused) as `stackgen` would."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from stackgen.diagnostics import SpecError
from stackgen.resolve import Stack, load_stack

ROOT = Path(__file__).resolve().parents[2]
BASE: dict[str, Any] = yaml.safe_load((ROOT / "stack.yaml").read_text(encoding="utf-8"))


def load_variant(tmp_path: Path, mutate: Callable[[dict[str, Any]], None]) -> Stack:
    data = copy.deepcopy(BASE)
    mutate(data)
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_stack(path)


def problems_of(tmp_path: Path, mutate: Callable[[dict[str, Any]], None]) -> list[str]:
    """Every located problem of the variant ([] when it loads)."""
    try:
        load_variant(tmp_path, mutate)
    except SpecError as exc:
        return [str(p) for p in exc.problems]
    return []
