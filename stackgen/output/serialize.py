"""The one place that turns data into file text. Targets return dicts and lists; only this formats them.

Keys are sorted (their order carries no meaning in any format we emit), multi-line strings use YAML
literal blocks so templates stay readable in review, lines are never folded, and no YAML anchors
or aliases appear (a reviewer must see every value where it applies).
"""

from __future__ import annotations

import json
from typing import Any

from stackgen.output import yaml_emitter
from stackgen.output.artifact import Artifact


def yaml_text(data: Any, header: str | None = None) -> str:
    prefix = "".join(f"# {line}\n" for line in header.splitlines()) if header else ""
    return prefix + yaml_emitter.dump(data)


def json_text(data: Any) -> str:
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def yaml_artifact(path: str, data: Any, header: str | None) -> Artifact:
    return Artifact(path, yaml_text(data, header))


def json_artifact(path: str, data: Any) -> Artifact:
    return Artifact(path, json_text(data))
