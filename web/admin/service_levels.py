"""Business calendars and service levels: lists with a create form, edit pages, queues."""

from __future__ import annotations

import json

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from core.errors import NotFound, ValidationError
from desk.audit import service as audit
from desk.calendar import service as calendars
from desk.calendar.hours import WEEKDAYS
from desk.queue import service as queue_service
from desk.sla import service as sla
from desk.sla.models import ServiceLevel
from web.admin.forms import admin_actor, checked, optional_int
from web.admin.views import bp
from web.auth import login_required
from web.db import get_db


def _calendar_values() -> dict[str, object]:
    form = request.form
    return {
        "name": form.get("name", ""),
        "time_zone": form.get("time_zone", "UTC") or "UTC",
        "week": {day: form.get(f"hours_{day}", "") for day in WEEKDAYS},
        "country": form.get("country", ""),
        "subdivision": form.get("subdivision", ""),
        "extra_holidays": [
            d for d in form.get("extra_holidays", "").replace("\n", ",").split(",") if d.strip()
        ],
        "extra_working_days": [
            d for d in form.get("extra_working_days", "").replace("\n", ",").split(",") if d.strip()
        ],
    }


def _calendar_form(calendar: object) -> dict[str, str]:
    week = json.loads(getattr(calendar, "week", "{}") or "{}")
    values = {f"hours_{day}": week.get(day, "") for day in WEEKDAYS}
    values.update(
        name=getattr(calendar, "name", ""),
        time_zone=getattr(calendar, "time_zone", "UTC"),
        country=getattr(calendar, "country", None) or "",
        subdivision=getattr(calendar, "subdivision", None) or "",
        extra_holidays=getattr(calendar, "extra_holidays", ""),
        extra_working_days=getattr(calendar, "extra_working_days", ""),
        valid="on" if getattr(calendar, "valid", True) else "",
    )
    return values


@bp.route("/calendars", methods=["GET", "POST"])
@login_required
def calendar_list() -> ResponseReturnValue:
    """Every calendar; create one (Monday to Friday 08:00–17:00 unless told otherwise)."""
    session = get_db()
    actor = admin_actor()
    errors: dict[str, list[str]] = {}
    form: object = {f"hours_{day}": "08:00-17:00" for day in WEEKDAYS[:5]} | {"time_zone": "UTC"}
    if request.method == "POST":
        values = _calendar_values()
        try:
            with session.begin_nested():
                calendar = calendars.create_calendar(session, actor=actor, **values)  # type: ignore[arg-type]
        except ValidationError as exc:
            errors, form = exc.errors, request.form
        else:
            flash("admin_saved", "success")
            return redirect(url_for("admin.calendar_edit", calendar_id=calendar.id), code=303)
    page = render_template(
        "admin/service_levels/calendars.html",
        calendars=calendars.list_calendars(session, include_invalid=True),
        weekdays=WEEKDAYS,
        form=form,
        errors=errors,
    )
    return page, 422 if errors else 200


@bp.route("/calendars/<int:calendar_id>", methods=["GET", "POST"])
@login_required
def calendar_edit(calendar_id: int) -> ResponseReturnValue:
    """Change a calendar's hours, zone and holidays; its audit trail."""
    session = get_db()
    actor = admin_actor()
    calendar = calendars.get_calendar(session, calendar_id)
    errors: dict[str, list[str]] = {}
    form: object = _calendar_form(calendar)
    if request.method == "POST":
        try:
            with session.begin_nested():
                calendars.update_calendar(
                    session,
                    actor=actor,
                    calendar_id=calendar_id,
                    valid=checked("valid"),
                    **_calendar_values(),  # type: ignore[arg-type]
                )
        except ValidationError as exc:
            errors, form = exc.errors, request.form
        else:
            flash("admin_saved", "success")
            return redirect(url_for("admin.calendar_edit", calendar_id=calendar_id), code=303)
    page = render_template(
        "admin/service_levels/calendar_edit.html",
        calendar=calendar,
        weekdays=WEEKDAYS,
        form=form,
        errors=errors,
        entries=audit.entries_for(session, object_type="calendar", object_id=calendar_id),
    )
    return page, 422 if errors else 200


def _minutes(name: str, errors: dict[str, list[str]]) -> int:
    raw = request.form.get(name, "0").strip() or "0"
    if not raw.isdigit() or len(raw) > 8:
        errors[name] = ["a whole number of minutes"]
        return 0
    return int(raw)


def _level_values(errors: dict[str, list[str]]) -> dict[str, object]:
    return {
        "name": request.form.get("name", ""),
        "calendar_id": optional_int(request.form.get("calendar_id")),
        "first_response_minutes": _minutes("first_response_minutes", errors),
        "update_minutes": _minutes("update_minutes", errors),
        "solution_minutes": _minutes("solution_minutes", errors),
        "notify_before_percent": _minutes("notify_before_percent", errors),
        "pause_while_pending": checked("pause_while_pending"),
    }


@bp.route("/service-levels", methods=["GET", "POST"])
@login_required
def service_levels() -> ResponseReturnValue:
    """Every service level; create one."""
    session = get_db()
    actor = admin_actor()
    errors: dict[str, list[str]] = {}
    form: object = {"pause_while_pending": "on", "notify_before_percent": "20"}
    if request.method == "POST":
        values = _level_values(errors)
        try:
            if errors:
                raise ValidationError("the service level is not valid", errors=errors)
            with session.begin_nested():
                level = sla.create_level(session, actor=actor, **values)  # type: ignore[arg-type]
        except ValidationError as exc:
            errors, form = exc.errors, request.form
        else:
            flash("admin_saved", "success")
            return redirect(url_for("admin.service_level_edit", level_id=level.id), code=303)
    page = render_template(
        "admin/service_levels/list.html",
        levels=session.scalars(select(ServiceLevel).order_by(ServiceLevel.name)).all(),
        calendars=calendars.list_calendars(session),
        form=form,
        errors=errors,
    )
    return page, 422 if errors else 200


@bp.route("/service-levels/<int:level_id>", methods=["GET", "POST"])
@login_required
def service_level_edit(level_id: int) -> ResponseReturnValue:
    """Change a level's targets and calendar, and which queues use it."""
    session = get_db()
    actor = admin_actor()
    level = sla.get_level(session, level_id)
    if level is None:
        raise NotFound(f"service level {level_id} does not exist")
    queues = queue_service.list_queues(session)
    errors: dict[str, list[str]] = {}
    form: object = {
        "name": level.name,
        "calendar_id": str(level.calendar_id or ""),
        "first_response_minutes": str(level.first_response_minutes),
        "update_minutes": str(level.update_minutes),
        "solution_minutes": str(level.solution_minutes),
        "notify_before_percent": str(level.notify_before_percent),
        "pause_while_pending": "on" if level.pause_while_pending else "",
        "valid": "on" if level.valid else "",
    }
    chosen = {q.id for q in queues if q.service_level_id == level.id}
    if request.method == "POST":
        values = _level_values(errors)
        queue_ids = [q for q in (optional_int(v) for v in request.form.getlist("queue")) if q is not None]
        try:
            if errors:
                raise ValidationError("the service level is not valid", errors=errors)
            with session.begin_nested():
                sla.update_level(session, actor=actor, level_id=level_id, valid=checked("valid"), **values)  # type: ignore[arg-type]
                sla.assign_queues(session, actor=actor, level_id=level_id, queue_ids=queue_ids)
        except ValidationError as exc:
            errors, form, chosen = exc.errors, request.form, set(queue_ids)
        else:
            flash("admin_saved", "success")
            return redirect(url_for("admin.service_level_edit", level_id=level_id), code=303)
    page = render_template(
        "admin/service_levels/edit.html",
        level=level,
        calendars=calendars.list_calendars(session),
        queues=queues,
        chosen=chosen,
        form=form,
        errors=errors,
        entries=audit.entries_for(session, object_type="service_level", object_id=level_id),
    )
    return page, 422 if errors else 200
