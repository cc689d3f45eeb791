"""Cron expressions and intervals as Temporal specs, and counting a window's firings."""

import datetime as dt

import pytest
from temporalio.client import ScheduleRange

from crises.schedule_specs import calendar, count_firings, cron_error, schedule_spec


def ranges(*triples: tuple[int, int, int]) -> tuple[ScheduleRange, ...]:
    return tuple(ScheduleRange(*triple) for triple in triples)


def test_a_cron_becomes_the_calendar_it_means() -> None:
    spec = calendar("*/15 9-17 1,15 jan-mar mon-fri")
    assert spec.second == ranges((0, 0, 1))
    assert spec.minute == ranges((0, 59, 15))
    assert spec.hour == ranges((9, 17, 1))
    assert spec.day_of_month == ranges((1, 1, 1), (15, 15, 1))
    assert spec.month == ranges((1, 3, 1))
    assert spec.day_of_week == ranges((1, 5, 1))
    assert spec.comment == "*/15 9-17 1,15 jan-mar mon-fri"


def test_macros_and_steps_from_a_start() -> None:
    assert calendar("@hourly").minute == ranges((0, 0, 1))
    assert calendar("@DAILY").hour == ranges((0, 0, 1))
    assert calendar("5/20 * * * *").minute == ranges((5, 59, 20))


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("", "five fields"),
        ("* * * *", "five fields"),
        ("0 0 * * * *", "five fields"),
        ("@every 5s", "five fields"),
        ("61 * * * *", "minute: 61 is not in 0-59"),
        ("* 24 * * *", "hour: 24 is not in 0-23"),
        ("* * 0 * *", "day of month: 0 is not in 1-31"),
        ("* * * 13 *", "month: 13 is not in 1-12"),
        ("* * * * 7", "day of week: 7 is not in 0-6"),
        ("* * * * fun", "day of week: 'fun' is not a number"),
        ("*/0 * * * *", "minute: step '0' is not in 1-59"),
        ("*/² * * * *", "minute: step '²' is not in 1-59"),
        ("5-1 * * * *", "minute: the range '5-1' runs backwards"),
        ("1,,2 * * * *", "minute: '' is not a number"),
        ("99999 * * * *", "minute: '99999' is not a number"),
    ],
)
def test_bad_crons_name_the_field(cron: str, message: str) -> None:
    error = cron_error(cron)
    assert error is not None and message in error


def test_an_interval_spec() -> None:
    spec = schedule_spec(interval_seconds=90)
    assert spec.intervals[0].every == dt.timedelta(seconds=90) and not spec.calendars


def test_counting_firings_in_a_window() -> None:
    start = dt.datetime(2026, 1, 5, 8, 0, 30, tzinfo=dt.UTC)  # a Monday
    end = start + dt.timedelta(days=7)
    assert count_firings(start, end, cron="0 9 * * mon-fri", limit=100) == 5
    assert count_firings(start, end, cron="*/10 * * * *", limit=100) == 101
    assert (
        count_firings(start, start + dt.timedelta(hours=1), interval_seconds=600, limit=100) == 6
    )
    assert (
        count_firings(start, start + dt.timedelta(seconds=10), interval_seconds=60, limit=9) == 0
    )
