"""Working-time arithmetic on a business calendar (pure: no database).

Due times of service levels count only working minutes: "4 working hours after Friday 16:00"
is Monday 12:00 on an 8–17 calendar, later when Monday is a public holiday.  The arithmetic is
done on local wall-clock time in the calendar's zone and converted back to UTC per working
interval, so a daylight-saving change inside a span counts the minutes that really passed
(a working day that loses an hour at 02:00 keeps its 8–17 hours).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holiday_data

from core.errors import FieldMessage
from core.i18n import N_

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A span is searched at most this many days ahead: a calendar with no working time at all
# must give a clear error, not loop for ever.
MAX_SEARCH_DAYS = 3 * 366

Interval = tuple[time, time]


class CalendarError(ValueError):
    """A calendar that cannot be used (no working time, an unknown zone or country).

    Its argument is the message: a :class:`~core.errors.FieldMessage` when it names the value,
    which :attr:`message` keeps for the field error (``str(exc)`` is the English text).
    """

    @property
    def message(self) -> str:
        """The message as raised (a msgid, with its parameters when it has some)."""
        first = self.args[0] if self.args else ""
        return first if isinstance(first, str) else str(first)


def parse_hours(value: str) -> list[Interval]:
    """``"08:00-12:00, 13:00-17:00"`` → intervals; ``""`` is a day off.  ``24:00`` ends a day."""
    intervals: list[Interval] = []
    for part in (piece.strip() for piece in value.split(",")):
        if not part:
            continue
        try:
            start_text, end_text = (side.strip() for side in part.split("-"))
            start = _parse_time(start_text)
            end = _parse_time(end_text)
        except ValueError as exc:
            raise CalendarError(
                FieldMessage(N_("%(part)r is not a time range like 08:00-17:00"), part=part)
            ) from exc
        if end <= start and end != time.max:
            raise CalendarError(FieldMessage(N_("%(part)r ends before it starts"), part=part))
        if intervals and start < intervals[-1][1]:
            raise CalendarError(FieldMessage(N_("%(part)r overlaps the range before it"), part=part))
        intervals.append((start, end))
    return intervals


def _parse_time(text: str) -> time:
    if text == "24:00":
        return time.max
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def format_hours(intervals: Sequence[Interval]) -> str:
    """The inverse of :func:`parse_hours`."""
    return ", ".join(
        f"{start:%H:%M}-{'24:00' if end == time.max else format(end, '%H:%M')}" for start, end in intervals
    )


@dataclass(frozen=True)
class WorkingCalendar:
    """Working hours per weekday in a time zone, minus holidays, plus extra working days."""

    time_zone: str = "UTC"
    # Weekday name (mon…sun) → intervals of local time; a missing day is a day off.
    hours: Mapping[str, Sequence[Interval]] = field(default_factory=dict)
    # Country and region for the public holidays of the ``holidays`` package, e.g. DE / BY.
    country: str | None = None
    subdivision: str | None = None
    # Custom days: holidays (company days off) and working days (a Saturday made up).
    extra_holidays: frozenset[date] = frozenset()
    extra_working_days: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.time_zone)
        except (KeyError, ValueError) as exc:
            raise CalendarError(FieldMessage(N_("unknown time zone %(zone)r"), zone=self.time_zone)) from exc
        if self.country:
            try:
                holiday_data.country_holidays(self.country, subdiv=self.subdivision or None, years=2026)
            except NotImplementedError as exc:
                raise CalendarError(
                    FieldMessage(N_("no public holidays are known for %(country)r"), country=self.country)
                ) from exc

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone."""
        return ZoneInfo(self.time_zone)

    def holiday_name(self, day: date) -> str | None:
        """The name of the holiday on ``day``, or None for an ordinary day."""
        if day in self.extra_working_days:
            return None
        if day in self.extra_holidays:
            return "holiday"
        if not self.country:
            return None
        names = holiday_data.country_holidays(self.country, subdiv=self.subdivision or None, years=day.year)
        name = names.get(day)
        return None if name is None else str(name)

    def intervals_on(self, day: date) -> Sequence[Interval]:
        """The local working intervals of one day (none on holidays and days off)."""
        if self.holiday_name(day) is not None:
            return ()
        weekday = WEEKDAYS[day.weekday()]
        intervals = self.hours.get(weekday, ())
        if not intervals and day in self.extra_working_days:
            # A made-up working day works the hours of an ordinary Monday.
            intervals = self.hours.get("mon", ())
        return intervals

    def working_spans(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals in UTC from ``start`` on (the first one cut at ``start``)."""
        start = _aware(start)
        zone = self.zone
        day = start.astimezone(zone).date()
        found_any = False
        for offset in range(MAX_SEARCH_DAYS):
            current = day + timedelta(days=offset)
            for begin_local, end_local in self.intervals_on(current):
                begin = _to_utc(current, begin_local, zone)
                end = _to_utc(current, end_local, zone)
                if end <= start:
                    continue
                found_any = True
                yield max(begin, start), end
            if not found_any and offset > 14 and not any(self.hours.values()):
                break
        raise CalendarError("the calendar has no working time")

    def add_working_minutes(self, start: datetime, minutes: int) -> datetime:
        """The moment ``minutes`` working minutes after ``start`` (UTC)."""
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        remaining = timedelta(minutes=minutes)
        for begin, end in self.working_spans(start):
            if remaining <= end - begin:
                return begin + remaining
            remaining -= end - begin
        raise CalendarError("the calendar has no working time")  # pragma: no cover (spans raise)

    def working_minutes_between(self, start: datetime, end: datetime) -> int:
        """Working minutes in ``[start, end)``; 0 when ``end`` is not after ``start``."""
        start, end = _aware(start), _aware(end)
        if end <= start:
            return 0
        total = timedelta()
        for begin, stop in self.working_spans(start):
            if begin >= end:
                break
            total += min(stop, end) - begin
        return int(total.total_seconds() // 60)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _to_utc(day: date, local: time, zone: ZoneInfo) -> datetime:
    if local == time.max:
        midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        return midnight.astimezone(UTC)
    # A wall-clock time skipped by a spring-forward change maps forward (fold=0 is "before").
    return datetime.combine(day, local, tzinfo=zone).astimezone(UTC)


def parse_week(week: Mapping[str, str]) -> dict[str, list[Interval]]:
    """``{"mon": "08:00-17:00", …}`` → parsed intervals; unknown weekday names are refused."""
    parsed: dict[str, list[Interval]] = {}
    for name, value in week.items():
        if name not in WEEKDAYS:
            raise CalendarError(FieldMessage(N_("unknown weekday %(name)r"), name=name))
        parsed[name] = parse_hours(value)
    return parsed


def days_from(values: Iterable[str]) -> frozenset[date]:
    """ISO dates (``2026-12-24``) → a set of days; a bad date is a CalendarError."""
    days: set[date] = set()
    for value in values:
        try:
            days.add(date.fromisoformat(value.strip()))
        except ValueError as exc:
            raise CalendarError(
                FieldMessage(N_("%(value)r is not a date like 2026-12-24"), value=value)
            ) from exc
    return frozenset(days)
