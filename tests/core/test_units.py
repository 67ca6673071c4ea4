"""Small pieces whose exact behaviour other parts rely on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stackgen.model.routing import receivers_for
from stackgen.parsers import gotemplate
from stackgen.parsers.regex import example
from stackgen.spec.alertmanager import RootRoute
from stackgen.spec.types import MAX_DURATION_MS, Duration, Matcher


@pytest.mark.parametrize("text, ms, canonical", [
    ("30s", 30_000, "30s"), ("90s", 90_000, "1m30s"), ("1h30m", 5_400_000, "1h30m"),
    ("2w", 14 * 86_400_000, "14d"), ("500ms", 500, "500ms"), ("0s", 0, "0s"),
])
def test_duration_parse_and_format(text: str, ms: int, canonical: str):
    value = Duration.parse(text)
    assert int(value) == ms
    assert str(value) == canonical


@pytest.mark.parametrize("bad", ["5", "5x", "m5", "", "1.5h", "-1m"])
def test_duration_rejects(bad: str):
    with pytest.raises(ValueError, match="invalid duration"):
        Duration.parse(bad)


@given(st.integers(min_value=0, max_value=MAX_DURATION_MS))
def test_duration_round_trips(ms: int):
    assert Duration.parse(str(Duration(ms))) == ms


@pytest.mark.parametrize("func, value, text", [
    ("humanize", 1234567.0, "1.235M"), ("humanize", 0.0123, "12.3m"), ("humanize", 0, "0"),
    ("humanize1024", 9448928051.2, "8.8Gi"), ("humanizePercentage", 0.055, "5.5%"),
    ("humanizeDuration", 3661, "1h 1m 1s"), ("humanizeDuration", 12.0, "12s"),
    ("humanizeDuration", 0.25, "250ms"), ("humanizeDuration", 90061, "1d 1h 1m 1s"),
])
def test_template_functions_match_prometheus(func: str, value: float, text: str):
    assert gotemplate.render(f"{{{{ $value | {func} }}}}", {}, value) == text


def test_template_rejects_unsupported_actions():
    with pytest.raises(ValueError, match="unsupported template action"):
        gotemplate.check_template("{{ range .Alerts }}x{{ end }}")
    assert gotemplate.labels_used("{{ $labels.gpu }} on {{ $labels.instance }}") == ["gpu", "instance"]


@pytest.mark.parametrize("pattern", ["5..", "4..|5..", "(GET|POST)", "[a-z]+_total", r"\d{3}"])
def test_regex_examples_match(pattern: str):
    import re

    value = example(pattern)
    assert value is not None and re.fullmatch(pattern, value)


def test_matcher_semantics_are_anchored():
    m = Matcher.parse('status=~"5.."')
    assert m.matches("503") and not m.matches("1503")
    assert Matcher.parse('team!="x"').matches("") is True


def test_routing_follows_continue_and_nesting():
    root = RootRoute.model_validate({
        "receiver": "default",
        "routes": [
            {"matchers": [Matcher.parse('team="audio"')], "receiver": "audio", "continue": True,
             "routes": [{"matchers": [Matcher.parse('severity="critical"')], "receiver": "audio-pager"}]},
            {"matchers": [Matcher.parse('severity="critical"')], "receiver": "pager"},
        ],
    })
    assert receivers_for(root, {"team": "audio", "severity": "critical"}) == ["audio-pager", "pager"]
    assert receivers_for(root, {"team": "audio", "severity": "warning"}) == ["audio"]
    assert receivers_for(root, {"severity": "info"}) == ["default"]
