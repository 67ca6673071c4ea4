"""Backtesting alert expressions: the `for` state machine on hand-made step sets, then the whole backtest
against a real, throwaway Prometheus loaded with a known history by `promtool tsdb create-blocks-from`."""

from __future__ import annotations

import socket

import pytest

from stackgen.review import backtest as bt
from stackgen.review.backtest import BacktestCase, Episodes, backtest, chunks, episodes, firing_runs, hold_steps
from stackgen.runtime.ports import free_port
from tests.backfilled_prometheus import backfilled_prometheus

# --- the state machine ------------------------------------------------------------------------------


def test_a_run_fires_after_hold_steps_and_until_its_last_step():
    assert firing_runs(range(10), 3) == [(3, 9)]
    assert firing_runs(range(3), 3) == []  # pending 2 intervals < for 3 intervals: never fires
    assert firing_runs(range(4), 3) == [(3, 3)]  # t - activeAt == for fires (>=, as Prometheus)


def test_one_missing_step_resets_pending_and_resolves_firing():
    # present 0-2, absent 3, present 4-7: the first pending run is reset, the second needs 3 steps again
    assert firing_runs([0, 1, 2, 4, 5, 6, 7], 3) == [(7, 7)]
    # firing from 3, one gap at 8 resolves it; 9-14 is a new episode that fires at 12
    assert firing_runs([*range(0, 8), *range(9, 15)], 3) == [(3, 7), (12, 14)]


def test_for_zero_fires_at_the_first_step_present():
    assert firing_runs([5, 6, 9], 0) == [(5, 6), (9, 9)]


def test_several_label_sets_are_separate_alerts():
    # two series firing at the same time are two episodes and twice the alert-seconds
    result = episodes([range(0, 10), range(5, 10), [20]], hold=2, step_s=30, window=(0, 100))
    assert result == Episodes(count=2, firing_s=(8 + 3) * 30, longest_s=8 * 30)


def test_the_window_clips_episodes_and_counts_one_already_firing():
    # present from step -5 (the query's early start) on: already firing when the window opens at 0
    assert episodes([range(-5, 10)], hold=3, step_s=10, window=(0, 6)) == Episodes(1, 70, 70)
    assert episodes([range(20, 30)], hold=0, step_s=10, window=(0, 6)) == Episodes(0, 0, 0)


def test_hold_steps_rounds_for_up_to_whole_intervals():
    assert hold_steps(60, 10) == 6
    assert hold_steps(65, 10) == 7  # fires at the first evaluation at least 65s after activeAt
    assert hold_steps(0, 15) == 0
    assert hold_steps(0.3, 0.1) == 3  # milliseconds, not binary fractions


def test_chunks_tile_the_range_without_gaps_or_overlap():
    assert chunks(-3, 10, 5) == [(-3, 1), (2, 6), (7, 10)]
    assert chunks(0, 0, 11000) == [(0, 0)]
    parts = chunks(17, 40_000, 11000)
    assert all(b - a + 1 <= 11000 for a, b in parts)
    assert [a for a, _ in parts[1:]] == [b + 1 for _, b in parts[:-1]]


def test_an_episode_across_a_chunk_boundary_is_one_episode():
    steps = [s for a, b in chunks(0, 29, 7) for s in range(a, b + 1) if 4 <= s <= 20]  # spans chunks 0-3
    assert episodes([steps], hold=2, step_s=1, window=(0, 29)) == Episodes(1, 15, 15)


# --- a real Prometheus with a known history -----------------------------------------------------------

T0 = 1_700_000_000  # a multiple of the 10s step below, inside one 2h TSDB block
STEP = 10
SPAN = 1800


def _value(instance: str, t: int) -> int:
    """instance a: 9 over [100, 300], 0 at 310, 9 over [320, 340] (too short for for=60s), 9 over [600, 900];
    instance b: 6 over [1000, 1200]. 0 everywhere else, up to the end, so lookback carries nothing over."""
    if instance == "a":
        return 9 if 100 <= t <= 300 or 320 <= t <= 340 or 600 <= t <= 900 else 0
    return 6 if 1000 <= t <= 1200 else 0


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    """A Prometheus that scrapes nothing, serving blocks backfilled from an OpenMetrics file."""
    lines = ["# HELP bt_errors Errors, made up.", "# TYPE bt_errors gauge"]
    lines += [f'bt_errors{{instance="{i}"}} {_value(i, t)} {T0 + t}' for i in "ab" for t in range(0, SPAN + 1, STEP)]
    with backfilled_prometheus(tmp_path_factory.mktemp("prometheus"), "\n".join([*lines, "# EOF", ""])) as url:
        yield url


def _run(url: str, *cases: BacktestCase, end: float = T0 + SPAN, range_s: float = SPAN, **kw):
    return backtest(url, list(cases), range_s, end, **kw)


def _case(new: str | None = "bt_errors > 5", old: str | None = None, for_s: float = 60, **kw) -> BacktestCase:
    return BacktestCase("BtErrors", old, new, for_s, STEP, **kw)


def test_known_history_gives_exact_counts_before_and_after(prometheus):
    [result] = _run(prometheus, _case(old="bt_errors > 5", new="bt_errors > 8"))
    # > 5: a fires 160-300 (15 steps) and 660-900 (25); its 320-340 run is shorter than for; b fires 1060-1200
    assert result.before == Episodes(count=3, firing_s=550, longest_s=250)
    assert result.after == Episodes(count=2, firing_s=400, longest_s=250)  # b's 6 is not > 8
    assert result.findings == ()


def test_label_sets_present_together_are_separate_alerts(prometheus):
    [result] = _run(prometheus, _case(new="bt_errors < 100"))  # both series, always: fire from T0 + 60 to the end
    assert result.after == Episodes(count=2, firing_s=2 * 1750, longest_s=1750)


def test_a_changed_for_on_the_same_expression(prometheus):
    [result] = _run(prometheus, _case(old="bt_errors > 5", new="bt_errors > 5", for_s=60, old_for_s=0))
    assert result.before == Episodes(count=4, firing_s=(21 + 3 + 31 + 21) * STEP, longest_s=31 * STEP)
    assert result.after == Episodes(3, 550, 250)


def test_an_alert_firing_when_the_range_opens_counts_from_the_first_step(prometheus):
    # The range opens at 200, inside a's 100-300 run: Prometheus would be firing there since 160.
    [result] = _run(prometheus, _case(), range_s=SPAN - 200)
    assert result.after == Episodes(3, 110 + 250 + 150, 250)


def test_chunked_queries_give_the_same_counts(prometheus, monkeypatch):
    monkeypatch.setattr(bt, "MAX_POINTS", 7)  # 37 requests, every episode crossing several boundaries
    [result] = _run(prometheus, _case(old="bt_errors > 5", new="bt_errors > 8"))
    assert (result.before, result.after) == (Episodes(3, 550, 250), Episodes(2, 400, 250))


def test_added_and_removed_alerts_have_one_side(prometheus):
    added, removed = _run(prometheus, _case(), _case(new=None, old="bt_errors > 8"))
    assert added.before is None and added.after == Episodes(3, 550, 250)
    assert removed.before == Episodes(2, 400, 250) and removed.after is None


def test_unknown_metric_and_unmatched_selector_are_findings(prometheus):
    [result] = _run(prometheus, _case(old='bt_errors{instance="zzz"} > 5', new="nope_total > 1 or bt_errors > 100"))
    assert result.before == result.after == Episodes(0, 0, 0)
    assert result.findings == (
        'old expression: no series match bt_errors{instance="zzz"} in the range, though bt_errors has series '
        "(check the label matchers)",
        "new expression: nope_total has no series in the range (an unknown metric, or not scraped then)",
    )


def test_a_name_pattern_is_checked_as_written_and_odd_values_quoted(prometheus):
    [result] = _run(prometheus, _case(new='{__name__=~"bt_.*"} > 8 or {__name__=~"zz_.*"} > 8',
                                      old='bt_errors{instance="a\\"b"} > 5'))
    assert result.after == Episodes(2, 400, 250)  # the regex on __name__ is evaluated, and checked as a pattern
    assert result.findings == ('old expression: no series match bt_errors{instance="a\\"b"} in the range, though '
                               "bt_errors has series (check the label matchers)",
                               'new expression: {__name__=~"zz_.*"} has no series in the range (an unknown metric, or '
                               "not scraped then)")


def test_an_expression_prometheus_rejects_is_a_finding(prometheus):
    [result] = _run(prometheus, _case(new="sum(bt_errors) by", old="bt_errors > 5"))
    assert result.before == Episodes(3, 550, 250) and result.after is None
    [finding] = result.findings
    assert finding.startswith("Prometheus rejected the new expression: HTTP 400: bad_data: ")
    assert "parse error" in finding


def test_a_range_without_data_is_a_finding(prometheus):
    [result] = _run(prometheus, _case(), end=T0 - 86400)
    assert result.before is None and result.after is None
    assert result.findings == (f"Prometheus at {prometheus} holds no data between 2023-11-13T21:43:20Z and "
                               f"2023-11-13T22:13:20Z",)


def test_a_url_that_is_not_the_prometheus_api_is_a_finding(prometheus):
    [result] = _run(f"{prometheus}/nothing", _case())
    assert result.findings == ("HTTP 404 Not Found (404 page not found): not a Prometheus API answer; "
                               "is the URL Prometheus's base URL?",)


def test_nothing_listening_is_a_finding():
    port = free_port()
    results = _run(f"http://127.0.0.1:{port}", _case(), _case(new="up"))
    assert [r.findings for r in results] == [(f"cannot reach Prometheus at http://127.0.0.1:{port}: connection refused",)] * 2
    assert all(r.before is None and r.after is None for r in results)


def test_a_server_that_never_answers_is_a_timeout_finding():
    with socket.socket() as sock:  # listens, so the connection opens, but never accepts or answers
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        [result] = _run(url, _case(), timeout_s=0.3)
    assert result.findings == (f"Prometheus at {url} did not answer within 0.3s",)


def test_a_url_without_scheme_is_a_finding():
    [result] = _run("localhost:9090", _case())
    assert result.findings == ("--prometheus 'localhost:9090' is not an http(s) URL",)


def test_backtest_of_no_cases_is_empty():
    assert backtest("http://127.0.0.1:1", [], 3600) == []

