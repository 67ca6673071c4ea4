"""A short string that a regular expression matches in full, for synthesizing test series.

Prometheus anchors label regexes, so `status=~"5.."` needs a value like "500". We walk Python's
parse tree and take the smallest choice at each node; the result is verified with RE2, the engine
Prometheus and Alertmanager use, since Python's parser reads a few RE2 patterns differently.
"""

from __future__ import annotations

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

from stackgen.spec.types import regex_fullmatch

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
