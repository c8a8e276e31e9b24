"""Creating, changing and reading business calendars (administrators only)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFound, ValidationError
from core.i18n import N_
from desk.actor import Actor
from desk.audit import service as audit
from desk.calendar.hours import CalendarError, WorkingCalendar, days_from, format_hours, parse_week
from desk.calendar.models import BusinessCalendar
from desk.permission.service import require_admin

STANDARD_WEEK = {day: "08:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")}


def _snapshot(calendar: BusinessCalendar) -> dict[str, object]:
    return {
        "name": calendar.name,
        "time_zone": calendar.time_zone,
        "week": calendar.week,
        "country": calendar.country,
        "subdivision": calendar.subdivision,
        "extra_holidays": calendar.extra_holidays,
        "extra_working_days": calendar.extra_working_days,
        "valid": calendar.valid,
    }


def _validated(
    *,
    name: str,
    time_zone: str,
    week: Mapping[str, str],
    country: str | None,
    subdivision: str | None,
    extra_holidays: Sequence[str],
    extra_working_days: Sequence[str],
) -> dict[str, object]:
    """The column values, or a ValidationError naming each bad field."""
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        errors.setdefault("name", []).append("a name is required")
    try:
        parsed_week = parse_week(week)
    except CalendarError as exc:
        errors.setdefault("week", []).append(exc.message)
        parsed_week = {}
    holidays_days: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()
    try:
        holidays_days = days_from(extra_holidays)
    except CalendarError as exc:
        errors.setdefault("extra_holidays", []).append(exc.message)
    try:
        working_days = days_from(extra_working_days)
    except CalendarError as exc:
        errors.setdefault("extra_working_days", []).append(exc.message)
    country = (country or "").strip().upper() or None
    subdivision = (subdivision or "").strip().upper() or None
    try:
        WorkingCalendar(time_zone=time_zone.strip(), country=country, subdivision=subdivision)
    except CalendarError as exc:
        field = "time_zone" if "zone" in str(exc) else "country"
        errors.setdefault(field, []).append(exc.message)
    if not any(parsed_week.values()) and "week" not in errors:
        errors.setdefault("week", []).append("a calendar needs working hours on at least one day")
    if errors:
        raise ValidationError("the calendar is not valid", errors=errors)
    return {
        "name": name,
        "time_zone": time_zone.strip(),
        "week": json.dumps(
            {day: format_hours(hours) for day, hours in parsed_week.items() if hours}, sort_keys=True
        ),
        "country": country,
        "subdivision": subdivision,
        "extra_holidays": ",".join(sorted(day.isoformat() for day in holidays_days)),
        "extra_working_days": ",".join(sorted(day.isoformat() for day in working_days)),
    }


def create_calendar(
    session: Session,
    *,
    actor: Actor,
    name: str,
    time_zone: str = "UTC",
    week: Mapping[str, str] | None = None,
    country: str | None = None,
    subdivision: str | None = None,
    extra_holidays: Sequence[str] = (),
    extra_working_days: Sequence[str] = (),
) -> BusinessCalendar:
    """Add a calendar (a standard Monday–Friday 8–17 week unless ``week`` says otherwise)."""
    require_admin(session, actor)
    values = _validated(
        name=name,
        time_zone=time_zone,
        week=STANDARD_WEEK if week is None else week,
        country=country,
        subdivision=subdivision,
        extra_holidays=extra_holidays,
        extra_working_days=extra_working_days,
    )
    if session.scalar(select(BusinessCalendar.id).where(BusinessCalendar.name == values["name"])):
        raise ValidationError("the name is taken", errors={"name": ["a calendar with this name exists"]})
    calendar = BusinessCalendar(**values)
    session.add(calendar)
    session.flush()
    audit.record(
        session,
        actor=actor,
        object_type="calendar",
        object_id=calendar.id,
        object_label=calendar.name,
        action="create",
        new=_snapshot(calendar),
    )
    return calendar


def update_calendar(
    session: Session,
    *,
    actor: Actor,
    calendar_id: int,
    name: str,
    time_zone: str,
    week: Mapping[str, str],
    country: str | None,
    subdivision: str | None,
    extra_holidays: Sequence[str],
    extra_working_days: Sequence[str],
    valid: bool = True,
) -> BusinessCalendar:
    """Change a calendar; due times computed later use the new hours."""
    require_admin(session, actor)
    calendar = get_calendar(session, calendar_id)
    values = _validated(
        name=name,
        time_zone=time_zone,
        week=week,
        country=country,
        subdivision=subdivision,
        extra_holidays=extra_holidays,
        extra_working_days=extra_working_days,
    )
    clash = session.scalar(
        select(BusinessCalendar.id).where(
            BusinessCalendar.name == values["name"], BusinessCalendar.id != calendar.id
        )
    )
    if clash:
        raise ValidationError("the name is taken", errors={"name": ["a calendar with this name exists"]})
    before = _snapshot(calendar)
    for key, value in values.items():
        setattr(calendar, key, value)
    calendar.valid = valid
    session.flush()
    old, new = audit.changes(before, _snapshot(calendar))
    if new:
        audit.record(
            session,
            actor=actor,
            object_type="calendar",
            object_id=calendar.id,
            object_label=calendar.name,
            action="update",
            old=old,
            new=new,
        )
    return calendar


def get_calendar(session: Session, calendar_id: int) -> BusinessCalendar:
    """One calendar by id."""
    # Ids are 32-bit in the database: a bigger number names nothing (and must not reach it).
    calendar = session.get(BusinessCalendar, calendar_id) if 0 < calendar_id < 2**31 else None
    if calendar is None:
        raise NotFound(N_("calendar %(id)s does not exist"), id=calendar_id)
    return calendar


def list_calendars(session: Session, *, include_invalid: bool = False) -> Sequence[BusinessCalendar]:
    """The calendars by name."""
    query = select(BusinessCalendar).order_by(BusinessCalendar.name)
    if not include_invalid:
        query = query.where(BusinessCalendar.valid.is_(True))
    return session.scalars(query).all()
