"""A block-style YAML emitter for plain data (dict, list, str, int, float, bool, None).

Why not PyYAML's dumper: its per-node representer and resolver dominate the render of a large spec,
whose generated promtool tests run to tens of MB (bench/results/notes.md). This emitter produces the
same style (sorted keys, indentless sequences, literal blocks for multi-line text) without them.
Correctness is pinned by tests: every output loads back with yaml.safe_load to the same data
(a hypothesis round-trip property), and yamllint accepts every generated file.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

import yaml

_RESOLVER = yaml.resolver.Resolver()
_STR_TAG = "tag:yaml.org,2002:str"
# Characters that may appear in a plain scalar anywhere; anything else gets quoted.
_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_./$(){}=<>+~^@\-][A-Za-z0-9_ ./$(){}=<>+~^@\-,:\"|*!&%?\[\]]*$")
_INDICATOR_START = tuple("-?:,[]{}#&*!|>'\"%@`")


@lru_cache(maxsize=65536)
def scalar(value: str) -> str:
    """One-line representation of a string: plain when YAML reads it back as this string, else quoted."""
    if (value and _PLAIN_SAFE.fullmatch(value) and not value.startswith(_INDICATOR_START[1:])
            and not (value.startswith("-") and (len(value) == 1 or value[1] == " "))
            and ": " not in value and " #" not in value and not value.endswith((" ", ":"))
            and "{" not in value[:1] and _RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) == _STR_TAG):
        return value
    if value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    return _double_quoted(value)


def _double_quoted(value: str) -> str:
    """Double-quoted with escapes for everything not printable (YAML's \\x, \\u and \\U forms)."""
    out = []
    for char in value:
        code = ord(char)
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def _number(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    return text.replace("e", ".0e") if "." not in text and "e" in text else text


def _atom(value: Any) -> str | None:
    """The inline form of a non-container value or an empty container; None for block content."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, str):
        return None if _literal_ok(value) else scalar(value)
    if isinstance(value, dict | list) and not value:
        return "{}" if isinstance(value, dict) else "[]"
    if isinstance(value, dict | list):
        return None
    raise TypeError(f"cannot emit {type(value).__name__} as YAML")


def _literal_ok(value: str) -> bool:
    """Multi-line text that a literal block (| or |-) reproduces exactly."""
    if "\n" not in value or value.endswith("\n\n") or value[:1] in (" ", "\n"):
        return False
    lines = value.split("\n")
    return all(line.isprintable() and not line.endswith((" ", "\t")) for line in lines)


def _literal(value: str, indent: int) -> list[str]:
    header = "|" if value.endswith("\n") else "|-"
    pad = " " * indent
    body = value[:-1] if value.endswith("\n") else value
    return [header] + [pad + line if line else "" for line in body.split("\n")]


def _mapping(data: dict[str, Any], indent: int, out: list[str], first_prefix: str | None = None) -> None:
    pad = " " * indent
    for i, key in enumerate(sorted(data)):
        if not isinstance(key, str):
            raise TypeError("mapping keys must be strings")
        prefix = first_prefix if (i == 0 and first_prefix is not None) else pad
        _entry(f"{prefix}{scalar(key)}:", data[key], indent, out)


def _entry(head: str, value: Any, indent: int, out: list[str]) -> None:
    atom = _atom(value)
    if atom is not None:
        out.append(f"{head} {atom}")
    elif isinstance(value, str):
        lines = _literal(value, indent + 2)
        out.append(f"{head} {lines[0]}")
        out.extend(lines[1:])
    elif isinstance(value, dict):
        out.append(head)
        _mapping(value, indent + 2, out)
    else:
        out.append(head)
        _sequence(value, indent, out)


def _sequence(items: list[Any], indent: int, out: list[str]) -> None:
    pad = " " * indent
    for item in items:
        atom = _atom(item)
        if atom is not None:
            out.append(f"{pad}- {atom}")
        elif isinstance(item, str):
            lines = _literal(item, indent + 2)
            out.append(f"{pad}- {lines[0]}")
            out.extend(lines[1:])
        elif isinstance(item, dict):
            _mapping(item, indent + 2, out, first_prefix=f"{pad}- ")
        else:
            out.append(f"{pad}-")
            _sequence(item, indent + 2, out)


def dump(data: Any) -> str:
    """A YAML document (`---` first) for plain data, keys sorted."""
    out = ["---"]
    atom = _atom(data)
    if atom is not None:
        out[0] = f"--- {atom}"
    elif isinstance(data, dict):
        _mapping(data, 0, out)
    elif isinstance(data, list):
        _sequence(data, 0, out)
    else:
        lines = _literal(data, 2)
        out[0] = f"--- {lines[0]}"
        out.extend(lines[1:])
    return "\n".join(out) + "\n"
