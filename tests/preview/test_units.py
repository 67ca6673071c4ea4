"""Values and tick labels written as Grafana writes them, with enough digits to tell ticks apart."""

from __future__ import annotations

import pytest

from stackgen.preview.units import format_value, tick_digits


@pytest.mark.parametrize(("value", "unit", "text"), [
    (1536, "bytes", "1.5 KiB"), (0.0123, "s", "12.3 ms"), (0.25, "percentunit", "25%"), (250, "reqps", "250 req/s"),
    (2_500_000, "short", "2.5 Mil"), (None, "ops", "No data"), (7, "widgets", "7 widgets"),
])
def test_units(value, unit, text):
    assert format_value(value, unit) == text


def test_close_ticks_get_the_digits_that_tell_them_apart():
    """A gauge moving 0.0002 around 0.254: three digits would label every tick "0.254"."""
    ticks = [0.2534, 0.2536, 0.2538, 0.2540]
    labels = [format_value(t, "short", tick_digits(t, 0.0002)) for t in ticks]
    assert labels == ["0.2534", "0.2536", "0.2538", "0.254"]
    assert len(set(labels)) == len(ticks)
    assert tick_digits(0.0, 0.0002) == 3 and tick_digits(16.0, 4.0) == 3  # the usual case keeps three
