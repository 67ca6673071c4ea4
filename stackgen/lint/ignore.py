"""`# stackgen: ignore[rule-id, ...]` comments in the spec silence one occurrence of a finding.

PyYAML drops comments, so they are found in the spec's text: a comment after a value silences findings
located on its own line; a comment alone on its line silences the next line that is neither blank nor a
comment. An id that is no rule of lint is itself a finding (`ignore-unknown-rule`): a typo would otherwise
silence nothing, silently. A comment naming a rule that finds nothing there is a warning (`ignore-unused`):
the problem it excused is gone, and a stale ignore would hide the next one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from types import ModuleType

from stackgen.diagnostics import ERROR, WARNING, Diagnostic

IGNORE = re.compile(r"#\s*stackgen:\s*ignore\[([^\]]*)\]")
_RULE_IDS = re.compile(r"Rule ids?:(.*?)(?:\n\n|\Z)", re.S)
_RULE_ID = re.compile(r"\b[a-z0-9]+(?:-[a-z0-9]+)+\b")


def known_rules(modules: Iterable[ModuleType]) -> set[str]:
    """Every rule id the rule families declare in their docstring's `Rule ids:` paragraph."""
    out = {"ignore-unknown-rule", "ignore-unused"}
    for module in modules:
        if found := _RULE_IDS.search(module.__doc__ or ""):
            out |= set(_RULE_ID.findall(found.group(1)))
    return out


def comments(text: str) -> dict[int, tuple[int, list[str]]]:
    """Line a comment applies to -> (the comment's own line, the rule ids it names)."""
    lines = text.splitlines()
    out: dict[int, tuple[int, list[str]]] = {}
    for n, line in enumerate(lines, start=1):
        if not (match := IGNORE.search(line)):
            continue
        ids = [part.strip() for part in match.group(1).split(",") if part.strip()]
        target = n
        if not line[:match.start()].strip():  # alone on its line: the next line of YAML
            target = next((k for k in range(n + 1, len(lines) + 1)
                           if lines[k - 1].strip() and not lines[k - 1].lstrip().startswith("#")), n)
        out[target] = (n, ids)
    return out


def apply(findings: list[Diagnostic], spec_file: str, text: str, known: set[str],
          unchecked: frozenset[str] = frozenset()) -> list[Diagnostic]:
    """The findings no ignore comment silences, plus one finding per unknown or unused id in a comment.

    `unchecked`: rules that did not run this time (--live ones without --live): their ignores are not unused."""
    found = comments(text)
    used = {(f.line, f.rule) for f in findings if f.file == spec_file and f.line in found and f.rule in found[f.line][1]}
    kept = [f for f in findings
            if not (f.file == spec_file and f.line in found and f.rule in found[f.line][1])]
    for target, (own, ids) in sorted(found.items(), key=lambda item: item[1]):
        col = text.splitlines()[own - 1].index("#") + 1
        for rule in ids:
            if rule in known and rule not in unchecked and (target, rule) not in used:
                kept.append(Diagnostic(spec_file, own, col, "", f"ignore comment names {rule!r}, which finds nothing on "
                                       f"line {target}", "ignore-unused", WARNING,
                                       "delete the stale id: the problem it excused is gone"))
            if rule not in known:
                kept.append(Diagnostic(spec_file, own, col, "", f"ignore comment names {rule!r}, which is no lint rule",
                                       "ignore-unknown-rule", ERROR,
                                       "spell the rule id as the finding prints it in [brackets]"))
    return kept
