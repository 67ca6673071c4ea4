r"""Quoting a value for each text format stackgen writes by hand, so a value never changes the syntax around it.

Each function writes what the consuming tool's own parser reads back as exactly the value, or refuses:

- PromQL strings (promtool series, `label="value"`): Go escapes, read by the PromQL lexer.
- Alertmanager matchers on amtool's command line: its own unescaping of `\\`, `\"` and `\n` only.
- Logstash strings: no escapes at all, because `config.support_escapes` is off; `\"` stays two characters,
  so a value takes whichever quote it can hold, and one that no quote can hold is refused at the spec.
- Comments (YAML and Logstash): one line of printable text.
"""

from __future__ import annotations

import json
import re

# --- PromQL -------------------------------------------------------------------------------------

_PROMQL_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_PROMQL_SPECIAL = re.compile(r'[\\"\x00-\x1f\x7f]')  # what the loop below escapes


def promql_string(value: str) -> str:
    """A double-quoted PromQL string; non-ASCII stays raw (the lexer reads UTF-8, and `\\u` cannot
    carry the surrogate pairs a JSON encoder would write for characters beyond the BMP)."""
    if not _PROMQL_SPECIAL.search(value):  # nearly every value: a fleet's test series quote ~200k of them
        return f'"{value}"'
    out = []
    for char in value:
        if char in _PROMQL_ESCAPES:
            out.append(_PROMQL_ESCAPES[char])
        elif ord(char) < 0x20 or char == "\x7f":
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


# --- Alertmanager -------------------------------------------------------------------------------

_AMTOOL_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n"}


def alertmanager_matcher(label: str, value: str) -> str:
    """`label="value"` as amtool parses a matcher argument: unquoted values lose surrounding spaces and
    may not hold `"`, so the value is always quoted, with the only three escapes amtool decodes."""
    return f'{label}="' + "".join(_AMTOOL_ESCAPES.get(c, c) for c in value) + '"'


# --- Logstash -----------------------------------------------------------------------------------

def _reads_back(value: str, quote: str) -> bool:
    """Whether quote + value + quote is one Logstash string holding exactly value.

    Logstash reads `quote (backslash-quote / any character but quote)* quote` and, without
    `config.support_escapes`, keeps everything between the quotes as written: a quote after a
    backslash stays in the value with its backslash, a bare one ends the string, and a final
    backslash pairs with the closing quote.
    """
    i = 0
    while i < len(value):
        if value.startswith("\\" + quote, i):
            i += 2
        elif value[i] == quote:
            return False
        else:
            i += 1
    return not value.endswith("\\")


def logstash_string_problem(value: str) -> str | None:
    """Why a value cannot be written as a Logstash string literal, or None."""
    if value.endswith("\\"):
        return "ends with a backslash, which would escape the closing quote of a Logstash string"
    if "${" in value:
        return "holds '${', which Logstash replaces with an environment variable (it has no escape for it)"
    if not (_reads_back(value, '"') or _reads_back(value, "'")):
        return "holds both ' and \", each of which would end a Logstash string (Logstash reads no escapes)"
    return None


def logstash_string(value: str) -> str:
    """Double quotes where they read back, else single quotes; never an escape Logstash would keep."""
    if problem := logstash_string_problem(value):
        raise ValueError(f"{value!r} cannot be written as a Logstash string: it {problem}")
    return f'"{value}"' if _reads_back(value, '"') else f"'{value}'"


# --- comments -----------------------------------------------------------------------------------

def logstash_comment(text: str) -> str:
    """One comment line; Logstash expands `${VAR}` even in comments when it loads a pipeline."""
    return one_line(text).replace("${", "$ {")


def one_line(text: str) -> str:
    """Printable text as is; anything else (line breaks of any kind, control characters) as a quoted,
    escaped ASCII string, so a comment stays one line in every format that reads it."""
    return text if text.isprintable() else json.dumps(text)
