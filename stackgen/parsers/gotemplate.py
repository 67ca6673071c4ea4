"""The subset of Prometheus alert templating that stackgen accepts in summaries and descriptions.

Prometheus renders annotations with Go's text/template. stackgen accepts only the actions below,
because it must be able to predict the rendered text: generated `promtool test rules` cases
compare annotations exactly, and a prediction we cannot make would be a test we cannot write.

    {{ $labels.NAME }}   {{ $value }}   {{ $value | humanize }}   {{ $value | humanize1024 }}
    {{ $value | humanizePercentage }}   {{ $value | humanizeDuration }}

Trim markers (`{{- ` and ` -}}`) are honoured as Go's lexer does. Alert labels and links that stackgen
keeps literal refuse `{{` outright (check_static): Prometheus expands those too.

The formatting functions mirror prometheus/template/template.go (v2.42).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# Go's text/template treats only these as white space, both around action bodies and for trim markers.
_SPACE = " \t\r\n"
_S = "[ \t\r\n]*"
_LABEL_RE = re.compile(r"\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)")
_VALUE_RE = re.compile(rf"\$value(?:{_S}\|{_S}(humanize|humanize1024|humanizePercentage|humanizeDuration))?")

SUPPORTED = ("{{ $labels.NAME }}, {{ $value }}, and {{ $value | humanize }}, humanize1024, "
             "humanizePercentage or humanizeDuration")
STATIC = ("Prometheus would expand '{{' here as a Go template, and stackgen keeps this text literal; "
          "templated text belongs in summary, description or annotations")


@dataclass(frozen=True)
class _Action:
    body: str


def _items(text: str) -> list[str | _Action]:
    """Literal text and action bodies, with `{{- ` and ` -}}` trimming applied as Go's lexer does.

    Go ends an action at the first `}}` outside a quoted string; the supported actions hold no strings,
    so any body that ran past one would be rejected anyway.
    """
    items: list[str | _Action] = []
    pos, trim_next = 0, False
    while (start := text.find("{{", pos)) >= 0:
        literal = text[pos:start].lstrip(_SPACE) if trim_next else text[pos:start]
        inner = start + 2
        if text[inner:inner + 1] == "-" and text[inner + 1:inner + 2] in tuple(_SPACE):
            literal, inner = literal.rstrip(_SPACE), inner + 2
        end = text.find("}}", inner)
        if end < 0:
            raise ValueError("unclosed action '{{' in template")
        body = text[inner:end]
        trim_next = len(body) >= 2 and body[-2] in _SPACE and body[-1] == "-"
        items += [literal, _Action((body[:-2] if trim_next else body).strip(_SPACE))]
        pos = end + 2
    items.append(text[pos:].lstrip(_SPACE) if trim_next else text[pos:])
    return items


def _actions(text: str) -> list[str]:
    return [item.body for item in _items(text) if isinstance(item, _Action)]


def check_template(text: str) -> None:
    """Raise ValueError naming the first action outside the supported subset."""
    for body in _actions(text):
        if not (_LABEL_RE.fullmatch(body) or _VALUE_RE.fullmatch(body)):
            raise ValueError(f"unsupported template action {{{{ {body} }}}}: use {SUPPORTED}")


def check_static(text: str) -> None:
    """Raise ValueError when text Prometheus expands (alert labels, URLs) holds a template action."""
    if "{{" in text:
        raise ValueError(STATIC)


def labels_used(text: str) -> list[str]:
    return sorted({m.group(1) for a in _actions(text) if (m := _LABEL_RE.fullmatch(a))})


def render(text: str, labels: dict[str, str], value: float) -> str:
    """Render a template of the supported subset the way Prometheus would (check_template first)."""
    out = []
    for item in _items(text):
        if isinstance(item, str):
            out.append(item)
        elif label := _LABEL_RE.fullmatch(item.body):
            out.append(labels.get(label.group(1), ""))  # Prometheus sets missingkey=zero
        elif func := _VALUE_RE.fullmatch(item.body):
            out.append(_FUNCS[func.group(1) or "plain"](value))
        else:
            raise ValueError(f"unsupported template action {{{{ {item.body} }}}}: use {SUPPORTED}")
    return "".join(out)


def _g4(value: float) -> str:
    """Go's fmt.Sprintf("%.4g", v), which matches C's and Python's for finite values."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return "%.4g" % value  # noqa: UP031 - mirrors Go printf on purpose


def _plain(value: float) -> str:
    """Go's %v of a float64: shortest representation, exponent only below 1e-4 or from 1e21."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text and 1e-4 <= abs(value) < 1e21:
        text = format(value, "f").rstrip("0").rstrip(".")
    return text


def _humanize(value: float, base: int = 1000, big: tuple[str, ...] = ("k", "M", "G", "T", "P", "E", "Z", "Y"),
              small: tuple[str, ...] = ("m", "u", "n", "p", "f", "a", "z", "y")) -> str:
    if value == 0 or math.isnan(value) or math.isinf(value):
        return _g4(value)
    prefix = ""
    if abs(value) >= 1:
        for p in big:
            if abs(value) < base:
                break
            prefix, value = p, value / base
        return _g4(value) + prefix
    if base != 1000:  # humanize1024 has no sub-unit prefixes
        return _g4(value)
    for p in small:
        if abs(value) >= 1:
            break
        prefix, value = p, value * 1000
    return _g4(value) + prefix


def _humanize1024(value: float) -> str:
    return _humanize(value, 1024, ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"))


def _humanize_percentage(value: float) -> str:
    return _g4(value * 100) + "%"


def _humanize_duration(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return _g4(value)
    if value == 0:
        return _g4(value) + "s"
    if abs(value) >= 1:
        sign = "-" if value < 0 else ""
        value = abs(value)
        whole = int(value)
        secs, mins, hours, days = whole % 60, (whole // 60) % 60, (whole // 3600) % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {mins}m {secs}s"
        if hours:
            return f"{sign}{hours}h {mins}m {secs}s"
        if mins:
            return f"{sign}{mins}m {secs}s"
        return f"{sign}{_g4(value)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(value) >= 1:
            break
        prefix, value = p, value * 1000
    return f"{_g4(value)}{prefix}s"


_FUNCS = {
    "plain": _plain,
    "humanize": _humanize,
    "humanize1024": _humanize1024,
    "humanizePercentage": _humanize_percentage,
    "humanizeDuration": _humanize_duration,
}
