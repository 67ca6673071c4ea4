"""Values written the way Grafana writes its common unit ids (reqps, ops, s, percentunit, bytes, ...)."""

from __future__ import annotations

import math

_SCALED = {  # unit id -> (suffix, base, prefixes)
    "bytes": ("B", 1024, ["", "Ki", "Mi", "Gi", "Ti", "Pi"]),
    "decbytes": ("B", 1000, ["", "k", "M", "G", "T", "P"]),
    "short": ("", 1000, ["", "K", "Mil", "Bil", "Tri"]),
    "none": ("", 1000, ["", "K", "Mil", "Bil", "Tri"]),
}
_SUFFIX = {"reqps": " req/s", "ops": " ops/s", "rps": " rps", "wps": " wps", "iops": " io/s", "hertz": " Hz",
           "celsius": " °C", "watt": " W"}


def _number(value: float, digits: int = 3) -> str:
    """`digits` significant digits (three fit a stat panel and most tick labels), whole numbers from
    10^(digits-1) up."""
    return f"{value:.0f}" if abs(value) >= 10 ** (digits - 1) else f"{value:.{digits}g}"


def tick_digits(value: float, step: float) -> int:
    """Significant digits that tell ticks `step` apart near `value`: 0.2536 and 0.2538 need four."""
    if value == 0 or step <= 0 or not math.isfinite(value) or not math.isfinite(step):
        return 3
    return min(12, max(3, math.floor(math.log10(abs(value))) - math.floor(math.log10(step)) + 1))


def _seconds(value: float, digits: int = 3) -> str:
    magnitude = abs(value)
    for limit, scale, suffix in ((1e-6, 1e-9, " ns"), (1e-3, 1e-6, " µs"), (1, 1e-3, " ms"), (60, 1, " s"),
                                 (3600, 60, " min"), (86400, 3600, " hour")):
        if magnitude < limit:
            return _number(value / scale, digits) + suffix
    return _number(value / 86400, digits) + " day"


def format_value(value: float | None, unit: str | None, digits: int = 3) -> str:
    """`value` with `unit` applied, to `digits` significant digits; an unknown unit is written after the number,
    as Grafana does with custom ones."""
    if value is None or math.isnan(value):
        return "No data"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    unit = unit or "none"
    if unit == "percentunit":
        return _number(value * 100, digits) + "%"
    if unit == "percent":
        return _number(value, digits) + "%"
    if unit == "s":
        return _seconds(value, digits)
    if unit == "ms":
        return _seconds(value / 1000, digits)
    if unit in _SUFFIX:
        return _number(value, digits) + _SUFFIX[unit]
    suffix, base, prefixes = _SCALED.get(unit, ("", 1000, [""]))
    step = 0
    while abs(value) >= base and step < len(prefixes) - 1:
        value, step = value / base, step + 1
    text = _number(value, digits) + (" " if prefixes[step] or suffix else "") + prefixes[step] + suffix
    return text if unit in _SCALED else f"{text} {unit}"
