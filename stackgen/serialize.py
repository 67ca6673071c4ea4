"""The one place that turns data into file text. Targets return dicts and lists; only this formats them.

Keys are sorted (their order carries no meaning in any format we emit), multi-line strings use YAML
literal blocks so templates stay readable in review, and lines are never folded.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from stackgen.artifact import Artifact

_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[misc, valid-type]
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def yaml_text(data: Any, header: str | None = None) -> str:
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True,
                     width=1 << 16, explicit_start=True)
    prefix = "".join(f"# {line}\n" for line in header.splitlines()) if header else ""
    return prefix + body


def json_text(data: Any) -> str:
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def yaml_artifact(path: str, data: Any, header: str | None) -> Artifact:
    return Artifact(path, yaml_text(data, header))


def json_artifact(path: str, data: Any) -> Artifact:
    return Artifact(path, json_text(data))
