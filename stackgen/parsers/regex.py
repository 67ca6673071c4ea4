"""RE2 label regexes as Prometheus and Alertmanager read them: whether both accept a pattern, whether it
matches a value (anchored, as Prometheus matches), and a short value it matches in full, for synthesizing
test series.

Prometheus anchors label regexes, so `status=~"5.."` needs a value like "500": `example` walks Python's
parse tree and takes the smallest choice at each node; the result is verified with RE2, the engine
Prometheus and Alertmanager use, since Python's parser reads a few RE2 patterns differently.
"""

from __future__ import annotations

import functools

# Python's own regex parser (re._parser since 3.11, the minimum this project supports).
import re._parser as _parser
import warnings
from re import error as _PythonRegexError
from re._constants import (
    ANY,
    AT,
    BRANCH,
    CATEGORY,
    IN,
    LITERAL,
    MAX_REPEAT,
    MIN_REPEAT,
    NEGATE,
    NOT_LITERAL,
    RANGE,
    SUBPATTERN,
)
from typing import Any

import re2

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # RE2 would print every rejected pattern on stderr


def _go_regexp_problem(pattern: str) -> str | None:
    """What RE2 accepts but Go's regexp (Prometheus 2.42, Alertmanager 0.25) rejects, if anything."""
    i, in_class = 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            if pattern[i + 1:i + 2] == "C":
                return "\\C (any byte) is not supported by Go's regexp"
            i += 2
        elif in_class:
            if pattern.startswith("[:", i) and (close := pattern.find(":]", i + 2)) >= 0:
                i = close + 2
                continue
            in_class = char != "]"
            i += 1
        elif char == "[":
            i += 1
            i += pattern[i:i + 1] == "^"
            i += pattern[i:i + 1] == "]"  # a `]` first in a class is literal
            in_class = True
        elif pattern.startswith("(?<", i) and pattern[i + 3:i + 4] not in ("=", "!"):
            return "Go's regexp writes a named group as (?P<name>...)"
        else:
            i += 1
    return None


@functools.lru_cache(maxsize=4096)
def _regex(pattern: str) -> Any:
    return re2.compile(pattern, _RE2_OPTIONS)


def regex_fullmatch(pattern: str, text: str) -> bool:
    """Whether `pattern` (already checked by regex_problem) matches all of `text`, as Prometheus anchors it."""
    return _regex(pattern).fullmatch(text) is not None


def regex_problem(pattern: str) -> str | None:
    """Why Prometheus or Alertmanager would refuse `pattern` as a label regex, or None when both accept it."""
    try:
        _regex(pattern)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid"
        return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    return _go_regexp_problem(pattern)


_CATEGORY_SAMPLES = {"CATEGORY_DIGIT": "0", "CATEGORY_WORD": "a", "CATEGORY_SPACE": " ",
                     "CATEGORY_NOT_DIGIT": "a", "CATEGORY_NOT_WORD": "-", "CATEGORY_NOT_SPACE": "a"}


def example(pattern: str) -> str | None:
    """A string fully matching `pattern`, or None when this simple walk cannot build one."""
    try:
        with warnings.catch_warnings():  # Python's notes on RE2 syntax it reads otherwise ("nested set")
            warnings.simplefilter("ignore")
            text = _walk(_parser.parse(pattern))
    except (ValueError, KeyError, IndexError, _PythonRegexError):
        return None
    return text if regex_fullmatch(pattern, text) else None


def _walk(items) -> str:
    out = []
    for op, arg in items:
        if op is LITERAL:
            out.append(chr(arg))
        elif op is NOT_LITERAL:
            out.append("a" if chr(arg) != "a" else "b")
        elif op is ANY:
            out.append("0")
        elif op is IN:
            out.append(_pick_in(arg))
        elif op in (MAX_REPEAT, MIN_REPEAT):
            low, _high, sub = arg
            out.append(_walk(sub) * low)
        elif op is SUBPATTERN:
            out.append(_walk(arg[-1]))
        elif op is BRANCH:
            out.append(_walk(arg[1][0]))
        elif op is AT:
            continue
        else:
            raise ValueError(f"unsupported regex construct {op}")
    return "".join(out)


def _pick_in(members) -> str:
    if members and members[0][0] is NEGATE:
        excluded = {chr(a) for op, a in members[1:] if op is LITERAL}
        return next(c for c in "a0-x" if c not in excluded)
    op, arg = members[0]
    if op is LITERAL:
        return chr(arg)
    if op is RANGE:
        return chr(arg[0])
    if op is CATEGORY:
        return _CATEGORY_SAMPLES[str(arg)]
    raise ValueError(f"unsupported set member {op}")
