"""Panel queries evaluated through Prometheus's query_range API (urllib: no client library for one GET)."""

from __future__ import annotations

import json
import math
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

TIMEOUT_S = 10


class QueryError(Exception):
    """Prometheus refused the query or could not be reached; one line, drawn in the panel."""


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: list[tuple[float, float]]  # (unix seconds, value); NaN where Prometheus said so


def check_url(url: str) -> str:
    """`url` without a trailing slash; QueryError unless it is an http(s) URL with a host."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise QueryError(f"{url!r} is not an http(s) URL with a host")
    return url.rstrip("/")


def _get(url: str, path: str, params: dict[str, str]) -> object:
    try:
        with urllib.request.urlopen(f"{url}{path}?{urllib.parse.urlencode(params)}", timeout=TIMEOUT_S) as response:
            body = json.load(response)
    except urllib.error.HTTPError as exc:
        try:  # Prometheus explains a 400/422 in its JSON body
            body = json.load(exc)
        except (ValueError, OSError):
            raise QueryError(f"HTTP {exc.code} from {url}{path}") from None
    except (OSError, ValueError) as exc:
        raise QueryError(f"{url}: {getattr(exc, 'reason', exc)}") from None
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error") if isinstance(body, dict) else None
        raise QueryError(f"Prometheus: {error or 'not a Prometheus API answer'}")
    return body.get("data")


def probe(url: str) -> None:
    """QueryError unless `url` answers as a Prometheus API (one instant query of `1`)."""
    _get(check_url(url), "/api/v1/query", {"query": "1"})


def query_range(url: str, expr: str, start: float, end: float, step: int) -> list[Series]:
    data = _get(check_url(url), "/api/v1/query_range",
                {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": str(step)})
    if not isinstance(data, dict) or data.get("resultType") != "matrix":
        raise QueryError("Prometheus: query_range did not answer a matrix")
    out = []
    for item in data.get("result", []):
        points = [(float(t), float(v)) for t, v in item.get("values", [])]
        out.append(Series(dict(item.get("metric", {})), points))
    return sorted(out, key=lambda s: sorted(s.labels.items()))  # a stable order, so colours do not shuffle


def step_for(range_s: float, max_points: object) -> int:
    """Grafana's interval: the range over the panel's maxDataPoints, in whole seconds, at least 1."""
    points = max_points if isinstance(max_points, int) and max_points > 0 else 100
    return max(1, math.ceil(range_s / points))


def variables(dashboard: dict) -> dict[str, str]:
    """Each template variable's current value as Grafana puts it into PromQL: All is the variable's allValue
    (or .*), a multi-value selection is an alternation."""
    values: dict[str, str] = {}
    templating = dashboard.get("templating") if isinstance(dashboard.get("templating"), dict) else {}
    for var in templating.get("list", []) if isinstance(templating.get("list"), list) else []:
        if not isinstance(var, dict) or not isinstance(var.get("name"), str):
            continue
        current = var.get("current") if isinstance(var.get("current"), dict) else {}
        value = current.get("value")
        if value == "$__all" or value == ["$__all"] or (value in (None, "", []) and var.get("includeAll")):
            values[var["name"]] = var.get("allValue") or ".*"
        elif isinstance(value, list):
            values[var["name"]] = "(" + "|".join(map(str, value)) + ")"
        elif value is not None:
            values[var["name"]] = str(value)
    return values


_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


def interpolate(expr: str, values: dict[str, str], step: int, range_s: float) -> str:
    """`expr` with Grafana's variables replaced; $__rate_interval is four steps, at least a minute (Grafana's
    rule with its 15 s default scrape interval)."""
    builtins = {"__interval": f"{step}s", "__interval_ms": str(step * 1000), "__range": f"{int(range_s)}s",
                "__range_s": str(int(range_s)), "__rate_interval": f"{max(4 * step, 60)}s"}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        return values.get(name, builtins.get(name, match.group(0)))

    return _VARIABLE.sub(replace, expr)


_LEGEND = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def legend(fmt: object, labels: dict[str, str], expr: str) -> str:
    """The series' name as Grafana shows it: legendFormat with {{label}} filled in, else its label set."""
    if isinstance(fmt, str) and fmt and fmt != "__auto":
        return _LEGEND.sub(lambda m: labels.get(m.group(1), ""), fmt)
    shown = {k: v for k, v in sorted(labels.items()) if k != "__name__"}
    if not shown:
        return labels.get("__name__", expr)
    return labels.get("__name__", "") + "{" + ", ".join(f'{k}="{v}"' for k, v in shown.items()) + "}"
