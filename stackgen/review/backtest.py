"""Backtesting alert rules: how often would an expression, with its `for`, have fired over past data?

Each expression is evaluated with Prometheus's range query API (`/api/v1/query_range`) at a step equal
to the rule group's evaluation interval, and the rule manager's state machine is replayed on the result
(rules/alerting.go): every output label set is one alert; it turns pending at the first step it is
present, firing once it has been pending for at least `for`, and a single step without it resets a
pending alert and resolves a firing one. So an alert fires at step t exactly when its series is present
at every step of [t - for, t]; the range query starts `for` early so that an alert already firing when
the range begins is seen firing from its first step. Episodes are counted per label set: `count` is the
number of transitions to firing, `firing_s` the alert-seconds spent firing (each firing evaluation counts
one interval, as Prometheus's FiredAt..ResolvedAt does), `longest_s` the longest single episode.

Where a range query differs from what the rule manager did (so counts are an estimate of the rule, not a
record of past notifications):
- Step phase. A rule group evaluates at its own phase, hash(group name, file) mod interval; the backtest
  steps at multiples of the interval. An episode's start and end may shift by up to one interval, and a
  condition that holds for less than one interval can be seen by one and missed by the other.
- Ingestion. At time t the rule manager sees only samples already appended; a later range query also
  sees a scrape that was in flight at t (stamped before t), late or backfilled samples, and recording
  rule outputs that were themselves written late.
- Continuity. The rule manager does not evaluate while Prometheus is down or when an iteration is
  missed, and after a restart it restores `for` state from ALERTS_FOR_STATE; the range query evaluates
  every step and treats the range as one uninterrupted run. Staleness applies as usual: a selector
  looks back --query.lookback-delta (5m) for its last sample unless a staleness marker ended the series,
  so a crash (no markers) can keep a series "present" for up to 5m in both.
- `keep_firing_for` (accepted by Prometheus 2.42+) is not modelled; stackgen does not emit it.
- Alert identity is the output labels plus the rule's labels; stackgen's rule labels are constants, so
  the output labels (less __name__) identify an alert here exactly as they do in Prometheus.
- Recording rules a new expression relies on have no history before they were deployed: that shows
  up as a finding (no series in the range), not as zero episodes.

Problems are findings (strings), never exceptions: an unreachable or non-Prometheus URL, an HTTP error
with Prometheus's own message, an expression Prometheus rejects, selectors that match no series in the
range (found with stackgen's PromQL parser and the label-values API, which answers at block granularity,
about 2h), and a range in which Prometheus holds no data at all. A query asks for at most MAX_POINTS
points (Prometheus refuses more than 11,000 per series); longer ranges are split into chunks whose steps
continue one grid, so an episode crossing a chunk boundary is one episode.
"""

from __future__ import annotations

import json
import math
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from stackgen.parsers.promql_analysis import PromQLError, SelectorInfo, analyze

MAX_POINTS = 11000  # points per query_range request, Prometheus's own limit per series
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class BacktestCase:
    """One alert: its expression before and after the change (None: added / removed)."""

    name: str
    old_expr: str | None
    new_expr: str | None
    for_s: float
    interval_s: float
    old_for_s: float | None = None  # the old rule's `for` where the change altered it; None: same as for_s


@dataclass(frozen=True)
class Episodes:
    count: int  # transitions to firing, summed over label sets
    firing_s: float  # alert-seconds firing, summed over label sets
    longest_s: float  # the longest single firing episode


@dataclass(frozen=True)
class BacktestResult:
    name: str
    before: Episodes | None  # None: no old expression, or it could not be evaluated (see findings)
    after: Episodes | None
    findings: tuple[str, ...]


# --- the `for` state machine, on step indices ---------------------------------------------------

def firing_runs(steps: Iterable[int], hold: int) -> list[tuple[int, int]]:
    """(first, last) firing step of each episode, for a series present at `steps` (indices on one grid).

    A run of consecutive present steps a..b fires from a + hold to b; hold = ceil(for / interval).
    """
    out: list[tuple[int, int]] = []
    ordered = sorted(set(steps))
    start = 0
    for i in range(1, len(ordered) + 1):
        if i == len(ordered) or ordered[i] != ordered[i - 1] + 1:
            first, last = ordered[start] + hold, ordered[i - 1]
            if first <= last:
                out.append((first, last))
            start = i
    return out


def episodes(series: Iterable[Iterable[int]], hold: int, step_s: float, window: tuple[int, int]) -> Episodes:
    """Episodes of alerts whose label sets are present at the given steps, counted inside `window`
    (first and last step index, inclusive); an episode cut by the window counts its part inside."""
    lo, hi = window
    lengths = []
    for steps in series:
        for first, last in firing_runs(steps, hold):
            first, last = max(first, lo), min(last, hi)
            if first <= last:
                lengths.append(last - first + 1)
    return Episodes(len(lengths), _seconds(sum(lengths) * step_s), _seconds(max(lengths, default=0) * step_s))


def hold_steps(for_s: float, interval_s: float) -> int:
    """Evaluations an alert must stay pending before it fires: the first step t with t - activeAt >= for."""
    for_ms, step_ms = round(for_s * 1000), round(interval_s * 1000)
    return -(-for_ms // step_ms)


def _seconds(value: float) -> float:
    return round(value, 3)


# --- the Prometheus HTTP API ----------------------------------------------------------------------

class _Unreachable(Exception):
    """Nothing at the URL answers like Prometheus: every later request would fail the same way."""


class _Rejected(Exception):
    """Prometheus answered, with an error about this request."""


@dataclass
class _Client:
    base: str
    timeout_s: float

    def get(self, path: str, params: Sequence[tuple[str, str]]) -> tuple[object, list[str]]:
        return self._call(urllib.request.Request(f"{self.base}{path}?{urllib.parse.urlencode(params)}"))

    def post(self, path: str, params: Sequence[tuple[str, str]]) -> tuple[object, list[str]]:
        # POST: long expressions do not fit a URL; every API path used with post accepts a form body.
        body = urllib.parse.urlencode(params).encode()
        return self._call(urllib.request.Request(f"{self.base}{path}", body,
                                                 {"Content-Type": "application/x-www-form-urlencoded"}))

    def _timed_out(self) -> str:
        return f"Prometheus at {self.base} did not answer within {self.timeout_s:g}s"

    def _call(self, request: urllib.request.Request) -> tuple[object, list[str]]:
        """(data, warnings) of a successful answer; raises _Unreachable or _Rejected."""
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise _Rejected(_http_error(exc)) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):  # while connecting
                raise _Unreachable(self._timed_out()) from None
            raise _Unreachable(f"cannot reach Prometheus at {self.base}: {_reason(exc.reason)}") from None
        except TimeoutError:  # while waiting for the answer
            raise _Unreachable(self._timed_out()) from None
        except (OSError, ValueError) as exc:  # a reset connection, a malformed URL
            raise _Unreachable(f"cannot reach Prometheus at {self.base}: {_reason(exc)}") from None
        try:
            answer = json.loads(raw)
            status = answer["status"]
        except (ValueError, TypeError, KeyError):
            raise _Unreachable(f"{self.base} does not answer like the Prometheus API (no JSON status)") from None
        if status != "success":
            raise _Rejected(_api_error(answer))
        return answer.get("data"), [str(w) for w in answer.get("warnings") or ()]


def _reason(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return f"unknown host ({reason.strerror})"
    text = getattr(reason, "strerror", None) or str(reason)
    return text.strip().splitlines()[0] if text.strip() else type(reason).__name__


def _api_error(answer: object) -> str:
    if isinstance(answer, dict) and answer.get("error"):
        kind = answer.get("errorType")
        return f"{kind}: {answer['error']}" if kind else str(answer["error"])
    return "an error without a message"


def _http_error(exc: urllib.error.HTTPError) -> str:
    try:
        body = exc.read()
    except OSError:
        body = b""
    try:
        return f"HTTP {exc.code}: {_api_error(json.loads(body))}"
    except ValueError:
        first = body.decode(errors="replace").strip().splitlines()[:1]
        detail = f" ({first[0][:200]})" if first else ""
        return f"HTTP {exc.code} {exc.reason}{detail}: not a Prometheus API answer; is the URL Prometheus's base URL?"


# --- evaluation -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Grid:
    """Evaluation steps t = index * step_ms (epoch-aligned); `window` the indices inside the range."""

    step_ms: int
    window: tuple[int, int]


def _grid(start_s: float, end_s: float, interval_s: float) -> _Grid:
    step = round(interval_s * 1000)
    return _Grid(step, (math.ceil(start_s * 1000 / step), math.floor(end_s * 1000 / step)))


def _matrix(client: _Client, expr: str, first: int, last: int, step_ms: int,
            warnings: list[str]) -> dict[tuple[tuple[str, str], ...], list[int]]:
    """Step indices at which each output label set (less __name__) is present, from first to last."""
    present: dict[tuple[tuple[str, str], ...], list[int]] = {}
    for chunk, stop in chunks(first, last, MAX_POINTS):
        data, warned = client.post("/api/v1/query_range", [
            ("query", expr), ("start", _ts(chunk * step_ms)), ("end", _ts(stop * step_ms)),
            ("step", f"{step_ms / 1000:g}")])
        warnings += [w for w in warned if w not in warnings]
        for series in (data or {}).get("result", []) if isinstance(data, dict) else []:
            labels = tuple(sorted((k, v) for k, v in series.get("metric", {}).items() if k != "__name__"))
            steps = present.setdefault(labels, [])
            # a float timestamp in seconds: back to the grid's index (exact for ms-aligned steps)
            steps += [round(float(point[0]) * 1000 / step_ms) for point in series.get("values", [])]
    return present


def chunks(first: int, last: int, max_points: int) -> list[tuple[int, int]]:
    """Consecutive, non-overlapping (first, last) step ranges of at most max_points steps each."""
    return [(a, min(last, a + max_points - 1)) for a in range(first, last + 1, max_points)]


def _ts(ms: int) -> str:
    return f"{ms / 1000:.3f}"  # Unix seconds with millisecond precision, Prometheus's own resolution


def _selector_text(selector: SelectorInfo) -> str:
    # json.dumps quotes the way PromQL's Go-style strings read (\" \\ \n \uXXXX).
    matchers = [f"{m.label}{m.op}{json.dumps(m.value, ensure_ascii=False)}" for m in selector.matchers]
    if selector.metric and not matchers:
        return selector.metric
    return f"{selector.metric or ''}{{{', '.join(matchers)}}}"


def _matches(client: _Client, selector: str, span: list[tuple[str, str]]) -> bool:
    names, _ = client.get("/api/v1/label/__name__/values", [("match[]", selector), *span])
    return bool(names)


def _missing_series(client: _Client, expr: str, start_ms: int, end_ms: int) -> list[str]:
    """One finding per selector of the expression that matches no series in the range."""
    try:
        selectors = analyze(expr).selectors
    except PromQLError:
        return []  # Prometheus accepted it; only the metric check is lost
    findings = []
    span = [("start", _ts(start_ms)), ("end", _ts(end_ms))]
    seen: set[str] = set()
    for selector in selectors:
        text = _selector_text(selector)
        if text in seen or text == "{}":
            continue
        seen.add(text)
        try:
            if _matches(client, text, span):
                continue
            # the metric has series, only the label matchers select none of them?
            partly = bool(selector.metric and selector.matchers and _matches(client, selector.metric, span))
        except _Rejected:
            continue  # a selector this check cannot phrase; the expression itself was accepted
        if partly:
            findings.append(f"no series match {text} in the range, though {selector.metric} has series "
                            f"(check the label matchers)")
        else:
            findings.append(f"{selector.metric or text} has no series in the range "
                            f"(an unknown metric, or not scraped then)")
    return findings


def _evaluate(client: _Client, expr: str, for_s: float, interval_s: float, start_s: float, end_s: float,
              findings: list[str], label: str) -> Episodes | None:
    grid = _grid(start_s, end_s, interval_s)
    lo, hi = grid.window
    hold = hold_steps(for_s, interval_s)
    warnings: list[str] = []
    try:
        # start `hold` steps early: an alert pending since before the range can be firing at its start
        present = _matrix(client, expr, lo - hold, hi, grid.step_ms, warnings)
    except _Rejected as exc:
        findings.append(f"Prometheus rejected the {label}: {exc}")
        return None
    findings += [f"Prometheus warned about the {label}: {w}" for w in warnings]
    findings += [f"{label}: {f}" for f in _missing_series(client, expr, (lo - hold) * grid.step_ms, hi * grid.step_ms)]
    return episodes(present.values(), hold, grid.step_ms / 1000, grid.window)


def backtest(url: str, cases: list[BacktestCase], range_s: float, end: float | None = None, *,
             timeout_s: float = TIMEOUT_S) -> list[BacktestResult]:
    """Evaluate each case's old and new expression over [end - range_s, end] (end: now, Unix seconds)."""
    if not cases:
        return []
    end_s = time.time() if end is None else end
    start_s = end_s - range_s
    base = url.rstrip("/")
    if urllib.parse.urlsplit(base).scheme not in ("http", "https"):
        return _all(cases, f"--prometheus {url!r} is not an http(s) URL")
    if range_s <= 0:
        return _all(cases, f"the backtest range must be positive (got {range_s:g}s)")
    client = _Client(base, timeout_s)
    try:
        # One cheap request first: is this Prometheus, and does it hold any data in the range at all?
        labels, _ = client.post("/api/v1/labels", [("start", _ts(round(start_s * 1000))),
                                                   ("end", _ts(round(end_s * 1000)))])
    except (_Unreachable, _Rejected) as exc:
        return _all(cases, str(exc))
    if not labels:
        return _all(cases, f"Prometheus at {base} holds no data between {_iso(start_s)} and {_iso(end_s)}")
    results = []
    for case in cases:
        try:
            results.append(_case(client, case, start_s, end_s))
        except _Unreachable as exc:  # it went away mid-run: the rest would fail the same way
            results.append(BacktestResult(case.name, None, None, (str(exc),)))
            results += _all(cases[len(results):], str(exc))
            break
        except _Rejected as exc:  # a metadata request refused (the expression itself was accepted)
            results.append(BacktestResult(case.name, None, None, (f"Prometheus refused a request: {exc}",)))
    return results


def _case(client: _Client, case: BacktestCase, start_s: float, end_s: float) -> BacktestResult:
    if case.interval_s <= 0:
        return BacktestResult(case.name, None, None, (f"evaluation interval must be positive (got {case.interval_s:g}s)",))
    old_for = case.for_s if case.old_for_s is None else case.old_for_s
    findings: list[str] = []
    before = after = None
    if case.old_expr is not None and case.new_expr == case.old_expr:
        # the same expression: evaluate it once, findings once; only `for` may differ
        before = _evaluate(client, case.new_expr, old_for, case.interval_s, start_s, end_s, findings, "expression")
        after = before if old_for == case.for_s else _evaluate(
            client, case.new_expr, case.for_s, case.interval_s, start_s, end_s, [], "expression")
    else:
        if case.old_expr is not None:
            before = _evaluate(client, case.old_expr, old_for, case.interval_s, start_s, end_s, findings,
                               "old expression")
        if case.new_expr is not None:
            after = _evaluate(client, case.new_expr, case.for_s, case.interval_s, start_s, end_s, findings,
                              "new expression")
    return BacktestResult(case.name, before, after, tuple(dict.fromkeys(findings)))


def _all(cases: Sequence[BacktestCase], finding: str) -> list[BacktestResult]:
    return [BacktestResult(case.name, None, None, (finding,)) for case in cases]


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
