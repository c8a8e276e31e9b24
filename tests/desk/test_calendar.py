"""Business calendars: working-time arithmetic, holidays of de/ru/hu, DST, and the service."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from core.errors import PermissionDenied, ValidationError
from desk.audit.models import AuditEntry
from desk.calendar import service as calendars
from desk.calendar.hours import CalendarError, WorkingCalendar, parse_hours, parse_week
from desk.sla.due import ALWAYS, Targets, TicketClock, due_times

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = parse_week({day: "08:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")})


def local(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone).astimezone(UTC)  # type: ignore[misc]


def test_hours_are_parsed_and_bad_ranges_refused():
    assert parse_hours("08:00-12:00, 13:00-17:00") == [(time(8), time(12)), (time(13), time(17))]
    assert parse_hours("") == []
    assert parse_hours("00:00-24:00") == [(time(0), time.max)]
    for bad in ("8-17", "17:00-08:00", "08:00-12:00, 11:00-13:00", "25:00-26:00"):
        with pytest.raises(CalendarError):
            parse_hours(bad)


def test_a_weekend_is_skipped():
    calendar = WorkingCalendar(time_zone="Europe/Berlin", hours=OFFICE)
    friday_4pm = local(BERLIN, 2026, 11, 27, 16, 0)
    # One working hour on Friday, three on Monday morning.
    assert calendar.add_working_minutes(friday_4pm, 4 * 60) == local(BERLIN, 2026, 11, 30, 11, 0)
    assert calendar.working_minutes_between(friday_4pm, local(BERLIN, 2026, 11, 30, 11, 0)) == 240


def test_a_start_outside_working_hours_starts_counting_at_the_next_opening():
    calendar = WorkingCalendar(time_zone="Europe/Berlin", hours=OFFICE)
    saturday = local(BERLIN, 2026, 11, 28, 10, 0)
    assert calendar.add_working_minutes(saturday, 30) == local(BERLIN, 2026, 11, 30, 8, 30)
    assert calendar.add_working_minutes(saturday, 0) == local(BERLIN, 2026, 11, 30, 8, 0)


@pytest.mark.parametrize(
    ("country", "zone", "holiday"),
    [
        ("DE", "Europe/Berlin", date(2026, 5, 1)),  # Tag der Arbeit, a Friday
        ("RU", "Europe/Moscow", date(2026, 6, 12)),  # День России, a Friday
        ("HU", "Europe/Budapest", date(2026, 10, 23)),  # 1956 revolution day, a Friday
    ],
)
def test_a_public_holiday_of_each_country_is_not_working_time(country, zone, holiday):
    assert holiday.weekday() < 5
    tz = ZoneInfo(zone)
    calendar = WorkingCalendar(time_zone=zone, hours=OFFICE, country=country)
    plain = WorkingCalendar(time_zone=zone, hours=OFFICE)
    assert calendar.holiday_name(holiday)
    start = local(tz, holiday.year, holiday.month, holiday.day, 0, 0) - timedelta(days=1)  # the day before
    start = start.astimezone(tz).replace(hour=16).astimezone(UTC)
    # Two working hours from 16:00 the day before: one that day, one after the holiday.
    with_holiday = calendar.add_working_minutes(start, 120)
    without = plain.add_working_minutes(start, 120)
    assert without.astimezone(tz).date() == holiday
    assert with_holiday.astimezone(tz).date() > holiday
    assert with_holiday.astimezone(tz).time() == time(9, 0)


def test_a_region_has_its_own_holidays_and_custom_days_count():
    epiphany = date(2026, 1, 6)  # a Tuesday; a holiday in Bavaria, not in Berlin
    bavaria = WorkingCalendar(time_zone="Europe/Berlin", hours=OFFICE, country="DE", subdivision="BY")
    berlin = WorkingCalendar(time_zone="Europe/Berlin", hours=OFFICE, country="DE", subdivision="BE")
    assert bavaria.holiday_name(epiphany)
    assert berlin.holiday_name(epiphany) is None
    company = WorkingCalendar(
        time_zone="Europe/Berlin",
        hours=OFFICE,
        extra_holidays=frozenset({date(2026, 12, 23)}),
        extra_working_days=frozenset({date(2026, 12, 5)}),  # a Saturday made up
    )
    assert company.intervals_on(date(2026, 12, 23)) == ()
    assert company.intervals_on(date(2026, 12, 5)) == OFFICE["mon"]


def test_a_daylight_saving_change_counts_the_hours_that_really_pass():
    # Europe/Berlin goes to summer time on Sunday 2026-03-29; round-the-clock calendar.
    calendar = WorkingCalendar(
        time_zone="Europe/Berlin",
        hours={day: [(time(0), time.max)] for day in OFFICE | {"sat": [], "sun": []}},
    )
    saturday_noon = local(BERLIN, 2026, 3, 28, 12, 0)
    sunday_noon = local(BERLIN, 2026, 3, 29, 12, 0)
    assert sunday_noon - saturday_noon == timedelta(hours=23)
    assert calendar.working_minutes_between(saturday_noon, sunday_noon) == 23 * 60
    # An office day after the change still has its nine local hours.
    office = WorkingCalendar(time_zone="Europe/Berlin", hours=OFFICE)
    monday = local(BERLIN, 2026, 3, 30, 8, 0)
    assert office.add_working_minutes(monday, 9 * 60) == local(BERLIN, 2026, 3, 30, 17, 0)
    friday = local(BERLIN, 2026, 3, 27, 16, 0)
    assert office.add_working_minutes(friday, 120) == local(BERLIN, 2026, 3, 30, 9, 0)


def test_a_calendar_without_working_time_is_an_error_not_a_hang():
    with pytest.raises(CalendarError):
        WorkingCalendar(time_zone="UTC", hours={}).add_working_minutes(datetime(2026, 1, 1, tzinfo=UTC), 1)
    with pytest.raises(CalendarError):
        WorkingCalendar(time_zone="Mars/Olympus")
    with pytest.raises(CalendarError):
        WorkingCalendar(time_zone="UTC", country="XX")


def test_due_times_follow_the_otrs_rules_and_pauses_push_them_back():
    calendar = WorkingCalendar(time_zone="Europe/Berlin", hours=OFFICE, country="DE")
    opened = local(BERLIN, 2026, 12, 4, 16, 0)  # Friday 16:00
    targets = Targets(
        first_response_minutes=120, update_minutes=240, solution_minutes=8 * 60, notify_before_percent=50
    )
    due = due_times(calendar, targets, TicketClock(opened_at=opened))
    assert due.first_response_due == local(BERLIN, 2026, 12, 7, 9, 0)
    assert due.first_response_warn == local(BERLIN, 2026, 12, 4, 17, 0)
    assert due.update_due is None  # no unanswered customer message after a first response
    assert due.solution_due == local(BERLIN, 2026, 12, 7, 15, 0)
    assert due.earliest() == due.first_response_due
    answered = TicketClock(
        opened_at=opened,
        first_response_at=local(BERLIN, 2026, 12, 7, 8, 30),
        unanswered_since=local(BERLIN, 2026, 12, 7, 10, 0),
        paused_minutes=60,
    )
    due = due_times(calendar, targets, answered)
    assert due.first_response_due is None
    assert due.update_due == local(BERLIN, 2026, 12, 7, 14, 0)
    assert due.solution_due == local(BERLIN, 2026, 12, 7, 16, 0)  # one paused hour later
    assert due_times(calendar, targets, TicketClock(opened_at=opened, closed=True)).earliest() is None


def test_without_a_calendar_every_minute_counts():
    opened = datetime(2026, 12, 5, 23, 30, tzinfo=UTC)  # a Saturday night
    due = due_times(ALWAYS, Targets(first_response_minutes=60), TicketClock(opened_at=opened))
    assert due.first_response_due == opened + timedelta(hours=1)


def test_an_admin_creates_and_changes_a_calendar_and_the_audit_trail_records_it(session, agent):
    admin = agent("admin")
    calendar = calendars.create_calendar(
        session, actor=admin, name="Budapest office", time_zone="Europe/Budapest", country="hu"
    )
    assert calendar.country == "HU"
    assert json.loads(calendar.week)["mon"] == "08:00-17:00"
    calendars.update_calendar(
        session,
        actor=admin,
        calendar_id=calendar.id,
        name="Budapest office",
        time_zone="Europe/Budapest",
        week={"mon": "09:00-18:00", "tue": "09:00-18:00"},
        country="HU",
        subdivision=None,
        extra_holidays=["2026-12-24"],
        extra_working_days=[],
    )
    working = calendar.working_calendar()
    assert working.intervals_on(date(2026, 12, 24)) == ()
    assert working.intervals_on(date(2026, 12, 7)) == [(time(9), time(18))]
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.object_type == "calendar", AuditEntry.object_id == calendar.id)
    ).all()
    assert [e.action for e in entries] == ["create", "update"]
    changed = json.loads(entries[1].new_values)
    assert set(changed) == {"week", "extra_holidays"}
    assert entries[1].actor_name


def test_bad_calendar_input_names_each_field(session, agent):
    with pytest.raises(ValidationError) as caught:
        calendars.create_calendar(
            session,
            actor=agent("admin"),
            name=" ",
            time_zone="Nowhere/Town",
            week={"mon": "9 to 5"},
            extra_holidays=["24.12.2026"],
        )
    assert set(caught.value.errors) == {"name", "time_zone", "week", "extra_holidays"}


def test_only_administrators_change_calendars(session, agent):
    with pytest.raises(PermissionDenied):
        calendars.create_calendar(session, actor=agent("alice"), name="Mine")


def test_now_based_due_times_under_a_time_machine():
    calendar = WorkingCalendar(time_zone="Europe/Budapest", hours=OFFICE, country="HU")
    with time_machine.travel(datetime(2026, 3, 13, 16, 30, tzinfo=ZoneInfo("Europe/Budapest")), tick=False):
        now = datetime.now(UTC)
        # Friday 16:30, then the weekend, then Monday 16 March (a working day), 15 March is a Sunday.
        due = calendar.add_working_minutes(now, 60)
    assert due == local(ZoneInfo("Europe/Budapest"), 2026, 3, 16, 8, 30)
