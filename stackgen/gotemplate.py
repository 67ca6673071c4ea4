"""The subset of Prometheus alert templating that stackgen accepts in summaries and descriptions.

Prometheus renders annotations with Go's text/template. stackgen accepts only the actions below,
because it must be able to predict the rendered text: generated `promtool test rules` cases
compare annotations exactly, and a prediction we cannot make would be a test we cannot write.

    {{ $labels.NAME }}   {{ $value }}   {{ $value | humanize }}   {{ $value | humanize1024 }}
    {{ $value | humanizePercentage }}   {{ $value | humanizeDuration }}

The formatting functions mirror prometheus/template/template.go (v2.42).
"""

from __future__ import annotations

import math
import re

_ACTION_RE = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")
_LABEL_RE = re.compile(r"^\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)$")
_VALUE_RE = re.compile(r"^\$value(?:\s*\|\s*(humanize|humanize1024|humanizePercentage|humanizeDuration))?$")

SUPPORTED = ("{{ $labels.NAME }}, {{ $value }}, and {{ $value | humanize }}, humanize1024, "
             "humanizePercentage or humanizeDuration")


def check_template(text: str) -> None:
    """Raise ValueError naming the first action outside the supported subset."""
    if text.count("{{") != text.count("}}"):
        raise ValueError("unbalanced '{{' and '}}' in template")
    for action in _ACTION_RE.findall(text):
        if not (_LABEL_RE.match(action) or _VALUE_RE.match(action)):
            raise ValueError(f"unsupported template action {{{{ {action} }}}}: use {SUPPORTED}")


def labels_used(text: str) -> list[str]:
    return sorted({m.group(1) for a in _ACTION_RE.findall(text) if (m := _LABEL_RE.match(a))})


def render(text: str, labels: dict[str, str], value: float) -> str:
    """Render a template of the supported subset the way Prometheus would."""

    def action(match: re.Match[str]) -> str:
        body = match.group(1)
        if label := _LABEL_RE.match(body):
            return labels.get(label.group(1), "")
        func = _VALUE_RE.match(body)
        assert func, body
        return _FUNCS[func.group(1) or "plain"](value)

    return _ACTION_RE.sub(action, text)


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
