"""Hypothesis strategies that turn a valid spec into a hostile, malformed or unlucky one.

A case is a seed spec (parsed YAML) plus one to three mutations at paths drawn from that spec's own
tree, so every field the spec has is reachable without this file naming any of them. Values come
from alphabets chosen to break formats: quotes and newlines (YAML, PromQL, Logstash strings), Go
template braces (annotations and their generated tests), RE2-incompatible regex (matchers), non-finite
and huge numbers, and credentials that must never reach generated/.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

Path_ = tuple[str | int, ...]

# Credentials in the shapes a scanner must know. Fake, but each matches its real format.
SECRETS = (
    "xoxb-123456789012-123456789012-AbCdEfGhIjKlMnOpQrStUvWx",
    "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx",
    "ghp_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ",
    "AKIAIOSFODNN7EXAMPLE",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END RSA PRIVATE KEY-----",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "https://admin:hunter2-S3cret@grafana.example.com",
)

_HOSTILE_PIECES = (
    '"', "'", "\\", "\n", "\r\n", "\t", "\x00", "\x1b[31m", "\u202e", "é", "😀", "{{", "}}", "{{-", "-}}",
    "{{ $value }}", "{{ .Labels.x }}", "{{ template \"x\" }}", "${HOME}", "%{[x]}", "#", "//", "..", "../..",
    "(?=x)", "(?!x)", "\\1", "\\d", "[", "]", "*", "`", "$(reboot)", ": ", "- ", "&a", "*a", "!!python/none",
    "0x1F", "1e309", "NaN", "null", "~", "yes", "\u00a0", "=~", "!~", "le", "__name__",
)

hostile_text = st.one_of(
    st.lists(st.sampled_from(_HOSTILE_PIECES), min_size=1, max_size=6).map("".join),
    st.text(max_size=40),
    st.sampled_from(SECRETS),
    st.integers(min_value=1, max_value=200_000).map(lambda n: "x" * n),
)

hostile_number = st.one_of(
    st.sampled_from([float("nan"), float("inf"), float("-inf"), 0, -1, 0.0, 1e308, -1e308, 2**63, 10**30, 1e-320]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
)

hostile_value = st.one_of(
    hostile_text,
    hostile_number,
    st.sampled_from([None, True, False, [], {}, ["a", "b"], {"a": 1}, "0s", "1000000y", "-5m", "5m5m"]),
)


def paths(data: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every node's path in a parsed YAML tree, the root included."""
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += paths(value, (*prefix, index))
    return found


def _get(data: Any, path: Path_) -> Any:
    for part in path:
        data = data[part]
    return data


def _parent(data: Any, path: Path_) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


def _set(data: Any, path: Path_, value: Any) -> Any:
    if not path:
        return value
    _parent(data, path)[path[-1]] = value
    return data


def _delete(data: Any, path: Path_) -> Any:
    if path:
        del _parent(data, path)[path[-1]]
    return data


def _add_key(data: Any, path: Path_, key: str, value: Any) -> Any:
    node = data
    for part in path:
        node = node[part]
    if isinstance(node, dict):
        node[key] = value
    elif isinstance(node, list):
        node.append(copy.deepcopy(node[0]) if node else value)
    return data


@st.composite
def mutated(draw: st.DrawFn, seed: Any) -> tuple[Any, list[str]]:
    """A deep copy of `seed` with one to three mutations; also says what was done, for failure reports."""
    data = copy.deepcopy(seed)
    done: list[str] = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        every = paths(data)
        strings = [p for p in every if isinstance(_get(data, p), str)]
        # Half the mutations edit a string the spec already has: most such specs stay valid, and valid
        # specs are where escaping, injection and leaks hide.
        prose = [p for p in strings if " " in _get(data, p)]  # summaries, help texts: few rules, many formats
        if strings and draw(st.booleans()):
            path, action = draw(st.sampled_from(prose if prose and draw(st.booleans()) else strings)), "append"
        else:
            path = draw(st.sampled_from(every[1:] or every))  # a whole-file scalar is one boring case
            action = draw(st.sampled_from(["replace", "replace", "append", "delete", "add_key"]))
        node = _get(data, path)
        if action == "replace" or (action == "append" and not isinstance(node, str)):
            data = _set(data, path, draw(hostile_value))
        elif action == "append":
            piece = draw(hostile_text)
            data = _set(data, path, draw(st.sampled_from([node + piece, piece + node, piece])))
        elif action == "delete":
            data = _delete(data, path)
        else:
            data = _add_key(data, path, draw(hostile_text), draw(hostile_value))
        done.append(f"{action} at {list(path)}")
    return data, done
