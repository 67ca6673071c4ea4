"""The shape of an Alertmanager notification template file, and the template names receivers call.

Alertmanager parses template files with Go's text/template when it loads its config, so
`amtool check-config` (run by `stackgen check`) is the parser that decides. This module checks
what it does not: a file holds only `{{ define "NAME" }}...{{ end }}` blocks (text outside them would
be parsed and never sent), its actions are closed and balanced, and every `{{ template "NAME" }}` a
receiver or template calls is defined (Alertmanager would fail only when it sends a notification).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The templates Alertmanager 0.25 ships (template/default.tmpl and email.tmpl); tests compare this list
# with the installed default.tmpl where the Debian package provides one.
DEFAULT_TEMPLATES = frozenset({
    "__alertmanager", "__alertmanagerURL", "__subject", "__description", "__text_alert_list",
    "slack.default.title", "slack.default.username", "slack.default.fallback", "slack.default.callbackid",
    "slack.default.pretext", "slack.default.titlelink", "slack.default.iconemoji", "slack.default.iconurl",
    "slack.default.text", "slack.default.footer", "pagerduty.default.description", "pagerduty.default.client",
    "pagerduty.default.clientURL", "pagerduty.default.instances", "opsgenie.default.message",
    "opsgenie.default.description", "opsgenie.default.source", "wechat.default.message", "wechat.default.to_user",
    "wechat.default.to_party", "wechat.default.to_tag", "wechat.default.agent_id", "victorops.default.state_message",
    "victorops.default.entity_display_name", "victorops.default.monitoring_tool", "pushover.default.title",
    "pushover.default.message", "pushover.default.url", "sns.default.subject", "sns.default.message",
    "telegram.default.message", "discord.default.title", "discord.default.message", "webex.default.message",
    "email.default.subject", "email.default.html",
})

_SPACE = " \t\r\n"
_OPENERS = ("if", "range", "with", "define", "block")
_DEFINE = re.compile(r'^define\s+"([^"\\]+)"$')
_TEMPLATE_CALL = re.compile(r'^(?:template|block)\s+"([^"\\]+)"')
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Action:
    body: str  # without delimiters and trim markers
    depth: int  # how many blocks enclose it (0: top level)


def _end_of_action(text: str, start: int) -> int:
    """Index of the `}}` closing the action opened at `start`, skipping quoted strings as Go's lexer does."""
    i = start
    while i < len(text):
        if text.startswith("}}", i):
            return i
        char = text[i]
        if char in "\"'`":
            close = i + 1
            while close < len(text) and text[close] != char:
                if text[close] == "\n" and char != "`":
                    raise ValueError("a quoted string in a template action runs past the end of its line")
                close += 2 if text[close] == "\\" and char != "`" else 1
            if close >= len(text):
                raise ValueError("a quoted string in a template action is not closed")
            i = close
        i += 1
    raise ValueError("unclosed action '{{' in template")


def actions(text: str) -> tuple[list[Action], list[str]]:
    """The actions of a template (with their nesting depth) and the literal text at top level."""
    out, top_text, depth, pos = [], [], 0, 0
    while (start := text.find("{{", pos)) >= 0:
        if depth == 0:
            top_text.append(text[pos:start])
        end = _end_of_action(text, start + 2)
        body = text[start + 2:end]
        body = body[2:] if body[:1] == "-" and body[1:2] in tuple(_SPACE) else body
        body = body[:-2] if len(body) >= 2 and body[-1] == "-" and body[-2] in _SPACE else body
        body = body.strip(_SPACE)
        keyword = body.split(None, 1)[0] if body else ""
        if keyword == "end":
            depth -= 1
            if depth < 0:
                raise ValueError("{{ end }} without an open block")
            out.append(Action(body, depth))
        else:
            out.append(Action(body, depth))
            if keyword in _OPENERS:
                depth += 1
        pos = end + 2
    if depth:
        raise ValueError(f"{depth} block(s) not closed by {{{{ end }}}}")
    if depth == 0:
        top_text.append(text[pos:])
    return out, top_text


def defined(text: str) -> list[str]:
    """Names a template file defines, in order; raise ValueError when it is more than define blocks."""
    found, top_text = actions(text)
    names = []
    for action in found:
        if action.depth != 0 or action.body == "end":
            continue
        if action.body.startswith("/*") and action.body.endswith("*/"):
            continue
        match = _DEFINE.fullmatch(action.body)
        if not match:
            raise ValueError(f"{{{{ {action.body[:40]} }}}} is outside a define block: a template file holds "
                             "only {{ define \"NAME\" }}...{{ end }} blocks (and comments)")
        if not NAME.fullmatch(match.group(1)):
            raise ValueError(f"template name {match.group(1)!r}: letters, digits, '_', '.' and '-'")
        names.append(match.group(1))
    if stray := "".join(top_text).strip(_SPACE):
        raise ValueError(f"text outside a define block ({stray[:40]!r}) is never sent: move it into a "
                         "{{ define \"NAME\" }} block or remove it")
    if duplicates := sorted({n for n in names if names.count(n) > 1}):
        raise ValueError(f"template {duplicates[0]!r} is defined twice")
    return names


def called(text: str) -> list[str]:
    """Names of the templates a text calls with {{ template "NAME" }}; raise ValueError when it does not parse."""
    found, _ = actions(text)
    return [m.group(1) for a in found if (m := _TEMPLATE_CALL.match(a.body))]
