"""The one place that turns data into file text. Targets return dicts and lists; only this formats them.

Keys are sorted (their order carries no meaning in any format we emit), multi-line strings use YAML
literal blocks so templates stay readable in review, lines are never folded, and no YAML anchors
or aliases appear (a reviewer must see every value where it applies).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from stackgen.output import yaml_emitter
from stackgen.output.artifact import Artifact


def yaml_text(data: Any, header: str | None = None) -> str:
    prefix = "".join(f"# {line}\n" for line in header.splitlines()) if header else ""
    return prefix + yaml_emitter.dump(data)


_ORJSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE


def json_text(data: Any) -> str:
    """Two-space indented, sorted, UTF-8 JSON. orjson writes the bytes `json.dumps(..., indent=2)` would,
    ~20 times faster (the stdlib's C encoder is not used once `indent` is set, and a 200-service stack's
    dashboards are 21 MB: bench/results/notes.md). One difference, held by tests/core/test_serialize.py: a
    float of magnitude 1e-9 to 1e-4 reads 0.00001 or 1e-9 where the stdlib writes 1e-05 or 1e-09 (as in
    grafanalib's heatmap `filterValues`); both read back as the same number."""
    try:
        return orjson.dumps(data, option=_ORJSON_OPTIONS).decode()
    except orjson.JSONEncodeError:  # what orjson refuses (an integer beyond 64 bits) the stdlib writes
        return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def yaml_artifact(path: str, data: Any, header: str | None) -> Artifact:
    return Artifact(path, yaml_text(data, header))


def json_artifact(path: str, data: Any) -> Artifact:
    return Artifact(path, json_text(data))
