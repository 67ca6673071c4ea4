"""A generated file as data: its path under generated/ and its exact bytes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Artifact:
    path: str  # relative, POSIX separators
    content: str
