"""When a crisis schedule fires: a five-field cron or a fixed interval, as Temporal specs.

Django-free and pure. A cron is sent to Temporal as the calendar it means (each field a list
of ranges, the cron text as the calendar's comment) rather than as a cron string: Temporal
stores a cron string as a calendar it derives itself, so only a calendar we built can be
compared with what Temporal describes later, which is how `sync_schedules` finds drift.
All fields must match (day of month and day of week too), in UTC.
"""

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio.client import (
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleRange,
    ScheduleSpec,
)

MIN_INTERVAL_SECONDS = 1
MAX_INTERVAL_SECONDS = 366 * 24 * 3600

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_NUMBER = re.compile(r"[0-9]{1,4}")
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]


_FIELDS = (
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day of month", 1, 31, {}),
    _Field("month", 1, 12, {name: i + 1 for i, name in enumerate(_MONTHS)}),
    _Field("day of week", 0, 6, {name: i for i, name in enumerate(_DAYS)}),
)


class CronError(ValueError):
    """Raised when a cron expression is not one Aura accepts."""


def _value(text: str, field: _Field) -> int:
    lowered = text.lower()
    if lowered in field.names:
        return field.names[lowered]
    if not _NUMBER.fullmatch(text):
        raise CronError(f"{field.name}: {text[:20]!r} is not a number.")
    value = int(text)
    if not field.low <= value <= field.high:
        raise CronError(f"{field.name}: {value} is not in {field.low}-{field.high}.")
    return value


def _ranges(text: str, field: _Field) -> tuple[ScheduleRange, ...]:
    ranges = []
    for item in text.split(","):
        base, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not _NUMBER.fullmatch(step_text) or not 1 <= int(step_text) <= field.high:
                raise CronError(f"{field.name}: step {step_text[:20]!r} is not in 1-{field.high}.")
            step = int(step_text)
        if base == "*":
            start, end = field.low, field.high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _value(first, field), _value(last, field)
            if end < start:
                raise CronError(f"{field.name}: the range {base[:20]!r} runs backwards.")
        else:
            start = _value(base, field)
            end = field.high if step_text else start
        ranges.append(ScheduleRange(start=start, end=end, step=step))
    return tuple(ranges)


def calendar(cron: str) -> ScheduleCalendarSpec:
    """Return the calendar a cron expression means (UTC, at second 0).

    Five fields: minute, hour, day of month, month (1-12 or jan-dec), day of week (0-6, 0 is
    Sunday, or sun-sat); each a list of `*`, `N`, `N-M`, with an optional `/step`. Or a macro:
    @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually.

    Raises:
        CronError: naming the field at fault.
    """
    text = cron.strip()
    fields = MACROS.get(text.lower(), text).split()
    if len(fields) != len(_FIELDS):
        raise CronError(
            "Use five fields (minute hour day-of-month month day-of-week) or a macro "
            "such as @hourly."
        )
    minute, hour, day, month, weekday = (
        _ranges(value, field) for value, field in zip(fields, _FIELDS, strict=True)
    )
    return ScheduleCalendarSpec(
        second=(ScheduleRange(0, 0, 1),),
        minute=minute,
        hour=hour,
        day_of_month=day,
        month=month,
        year=(),
        day_of_week=weekday,
        comment=text,
    )


def cron_error(cron: str) -> str | None:
    """Return why `cron` is not accepted, or None."""
    try:
        calendar(cron)
    except CronError as exc:
        return str(exc)
    return None


def schedule_spec(*, cron: str = "", interval_seconds: int | None = None) -> ScheduleSpec:
    """Return the Temporal spec of a cron expression or of an interval in seconds."""
    if cron:
        return ScheduleSpec(calendars=[calendar(cron)])
    assert interval_seconds is not None
    every = timedelta(seconds=interval_seconds)
    return ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)])


def _matches(ranges: tuple[ScheduleRange, ...], value: int) -> bool:
    return any(r.start <= value <= r.end and (value - r.start) % r.step == 0 for r in ranges)


def count_firings(
    start: datetime,
    end: datetime,
    *,
    cron: str = "",
    interval_seconds: int | None = None,
    limit: int,
) -> int:
    """Return how many times the spec fires in [start, end], counting at most `limit + 1`."""
    if not cron:
        assert interval_seconds is not None
        first = math.ceil(start.timestamp() / interval_seconds)
        last = math.floor(end.timestamp() / interval_seconds)
        return min(max(last - first + 1, 0), limit + 1)
    spec = calendar(cron)
    moment = start.astimezone(UTC).replace(second=0, microsecond=0)
    if moment < start:
        moment += timedelta(minutes=1)
    count = 0
    while moment <= end and count <= limit:
        if (
            _matches(spec.minute, moment.minute)
            and _matches(spec.hour, moment.hour)
            and _matches(spec.day_of_month, moment.day)
            and _matches(spec.month, moment.month)
            and _matches(spec.day_of_week, (moment.weekday() + 1) % 7)
        ):
            count += 1
        moment += timedelta(minutes=1)
    return count
