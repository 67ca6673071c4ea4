"""Generated files changed per family (the first folder under the output: prometheus, k8s, ...), from
both sides rendered in memory and compared byte for byte."""

from __future__ import annotations

from stackgen.review.report import RESULT, Change, Entry
from stackgen.review.sides import Side


def family(path: str) -> str:
    return path.split("/", 1)[0]


def compare(base: Side, head: Side, out_name: str) -> list[Entry]:
    old = {a.path: a.content for a in base.artifacts}
    new = {a.path: a.content for a in head.artifacts}
    paths = sorted(old.keys() | new.keys())
    entries = []
    for name in sorted({family(p) for p in paths}):
        mine = [p for p in paths if family(p) == name]
        groups = (("added", [p for p in mine if p not in old]), ("removed", [p for p in mine if p not in new]),
                  ("changed", [p for p in mine if p in old and p in new and old[p] != new[p]]))
        fields = tuple(Change(what, after=str(len(found))) for what, found in groups if found)
        if fields:
            notes = tuple(f"{what}: {', '.join(f'{out_name}/{p}' for p in found)}" for what, found in groups if found)
            entries.append(Entry(RESULT, name, fields=fields, notes=notes))
    return entries
