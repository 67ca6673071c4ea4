"""Alertmanager 0.25 `time_intervals`: named periods that routes mute or are active in.

Each field is checked as Alertmanager's timeinterval package parses it, so a value the spec accepts
loads in `amtool check-config` (which `stackgen check` runs) and one it refuses is refused at its line.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import cache
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from stackgen.spec.types import StrictModel

WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
_CLOCK = re.compile(r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")
IntervalName = Annotated[str, Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")]


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _bounds(value: str) -> tuple[str, str]:
    begin, colon, end = value.partition(":")
    return (begin, end) if colon else (begin, begin)


def _named_range(kind: str, names: tuple[str, ...], numbered: bool):
    def check(value: str) -> str:
        def index(part: str) -> int:
            if part in names:
                return names.index(part)
            if numbered and part.isdigit() and 1 <= int(part) <= len(names):
                return int(part) - 1
            raise ValueError(f"{part!r} is not a {kind} ({', '.join(names[:3])}, ...{', or 1-12' if numbered else ''}; "
                             "lower case)")

        begin, end = _bounds(value)
        if index(begin) > index(end):
            raise ValueError(f"{kind} range {value!r} starts after it ends")
        return value

    return check


def _day_of_month(value: str) -> str:
    begin, end = _bounds(value)
    days = []
    for part in (begin, end):
        if not re.fullmatch(r"-?\d{1,2}", part) or int(part) == 0 or not -31 <= int(part) <= 31:
            raise ValueError(f"{part!r} is not a day of the month: 1 to 31, or -1 (the last day) to -31")
        days.append(int(part))
    # Alertmanager's own check: a negative day counts back from a 30-day month, so "-5:3" is refused.
    if (days[0] if days[0] > 0 else 30 + days[0]) > (days[1] if days[1] > 0 else 30 + days[1]):
        raise ValueError(f"day range {value!r} starts after it ends")
    return value


def _year(value: str) -> str:
    begin, end = _bounds(value)
    if not (begin.isdigit() and end.isdigit()) or int(begin) < 1:
        raise ValueError(f"{value!r} is not a year or a range of years (2024, 2024:2026)")
    if int(begin) > int(end):
        raise ValueError(f"year range {value!r} starts after it ends")
    return value


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _location(name: str) -> str:
    # Go's time.LoadLocation reads the same IANA database; "Local" would mean the container's zone, which
    # differs between a laptop and the cluster.
    if name != "UTC" and name not in _zones():
        raise ValueError(f"{name!r} is not an IANA time zone (Europe/Berlin, America/New_York, UTC)")
    return name


Weekday = Annotated[str, AfterValidator(_named_range("weekday", WEEKDAYS, numbered=False))]
Month = Annotated[str, AfterValidator(_named_range("month", MONTHS, numbered=True))]
DayOfMonth = Annotated[str, AfterValidator(_day_of_month)]
Year = Annotated[str, AfterValidator(_year)]
Location = Annotated[str, AfterValidator(_location)]


class TimeRange(StrictModel):
    start_time: Annotated[str, Field(pattern=_CLOCK.pattern, description="HH:MM, from 00:00")]
    end_time: Annotated[str, Field(pattern=_CLOCK.pattern, description="HH:MM, up to 24:00; after start_time")]

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if _minutes(self.start_time) >= _minutes(self.end_time):
            raise ValueError(f"start_time {self.start_time} is not before end_time {self.end_time} "
                             "(a period over midnight is two ranges: 22:00-24:00 and 00:00-06:00)")
        return self


class TimePeriod(StrictModel):
    """One period: every field given must match (unset fields match always)."""

    times: list[TimeRange] = Field(default_factory=list, description="times of day, in `location`")
    weekdays: list[Weekday] = Field(default_factory=list, description="'monday' or a range 'monday:friday'")
    days_of_month: list[DayOfMonth] = Field(
        default_factory=list, description="'1', '1:15', or counted from the month's end: '-1' (last day), '-7:-1'")
    months: list[Month] = Field(default_factory=list, description="'january', '1', or ranges 'january:march', '1:3'")
    years: list[Year] = Field(default_factory=list, description="'2024' or '2024:2026'")
    location: Location | None = Field(None, description="IANA time zone of `times` and days (default UTC)")

    @model_validator(mode="after")
    def _says_something(self) -> TimePeriod:
        if not (self.times or self.weekdays or self.days_of_month or self.months or self.years):
            raise ValueError("a period with no times, weekdays, days_of_month, months or years is always: "
                             "say when it applies")
        return self


class TimeInterval(StrictModel):
    name: IntervalName
    time_intervals: list[TimePeriod] = Field(min_length=1, description="the interval is on during any of these")
