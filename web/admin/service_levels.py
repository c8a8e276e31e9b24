"""Business calendars and service levels: lists with a create form, edit pages, queues.

And the service-level rules (:mod:`desk.sla.rules`): listed in their order on the service
levels page with buttons to move them, a page to create one and one to edit each.
"""

from __future__ import annotations

import json
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from core.errors import NotFound, ValidationError
from core.i18n import N_
from desk.agent.models import Agent
from desk.article.models import CHANNELS
from desk.audit import service as audit
from desk.calendar import service as calendars
from desk.calendar.hours import WEEKDAYS
from desk.customer import admin as customer_admin
from desk.queue import service as queue_service
from desk.services import service as services
from desk.sla import rules
from desk.sla import service as sla
from desk.sla.models import ServiceLevel, ServiceLevelRule
from desk.ticket import admin as ticket_admin
from web import labels
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
    choices = _rule_choices(actor)
    page = render_template(
        "admin/service_levels/list.html",
        levels=session.scalars(select(ServiceLevel).order_by(ServiceLevel.name)).all(),
        calendars=calendars.list_calendars(session),
        form=form,
        errors=errors,
        rules=[(rule, _describe(rule, choices)) for rule in rules.list_rules(session)],
        **choices,
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
        level_rules=[rule for rule in rules.list_rules(session) if rule.level_id == level.id],
        calendars=calendars.list_calendars(session),
        queues=queues,
        chosen=chosen,
        form=form,
        errors=errors,
        entries=audit.entries_for(session, object_type="service_level", object_id=level_id),
    )
    return page, 422 if errors else 200


# --- service-level rules -------------------------------------------------------------------


def _rule_choices(actor: Agent) -> dict[str, object]:
    """What the rule forms offer and the rule list names: levels, queues, types, services …"""
    session = get_db()
    named = ticket_admin.priority_names(session)
    choices: dict[str, object] = {
        "level_names": {
            level.id: level.name
            for level in session.scalars(select(ServiceLevel).order_by(ServiceLevel.name))
        },
        "active_levels": [(level.id, level.name) for level in sla.list_levels(session)],
        "queue_names": {queue.id: queue.name for queue in queue_service.list_queues(session)},
        "type_names": {t.id: t.name for t in ticket_admin.list_types(session)},
        "service_names": {s.id: s.name for s in services.list_services(session, include_invalid=True)},
        "company_names": {c.id: c.name for c in customer_admin.all_companies(session, actor=actor)},
        "priority_options": [(number, labels.priority_name(number, named)) for number in rules.PRIORITIES],
        "channel_options": [(code, labels.channel_label(code)) for code in CHANNELS],
    }
    return choices


def _describe(rule: ServiceLevelRule, choices: dict[str, object]) -> str:
    """A rule's conditions as one line in the admin's language."""
    names: dict[str, Any] = choices
    parts: list[str] = []
    if rule.queue_id is not None:
        queue = names["queue_names"].get(rule.queue_id, "?")
        parts.append(
            _("Queue %(name)s and below", name=queue)
            if rule.include_subqueues
            else _("Queue %(name)s", name=queue)
        )
    if rule.priority_list:
        priorities = dict(names["priority_options"])
        parts.append(_("Priority %(names)s", names=", ".join(priorities[p] for p in rule.priority_list)))
    if rule.type_list:
        types = ", ".join(names["type_names"].get(t, "?") for t in rule.type_list)
        parts.append(_("Type %(names)s", names=types))
    if rule.service_id is not None:
        parts.append(_("Service %(name)s", name=names["service_names"].get(rule.service_id, "?")))
    if rule.customer_company_id is not None:
        parts.append(_("Company %(name)s", name=names["company_names"].get(rule.customer_company_id, "?")))
    if rule.channel is not None:
        parts.append(_("First article: %(channel)s", channel=labels.channel_label(rule.channel)))
    if rule.email_domain is not None:
        parts.append(_("Customer address @%(domain)s", domain=rule.email_domain))
    return "; ".join(parts)


def _reference(name: str, errors: dict[str, list[str]]) -> int | None:
    """An optional id chosen in a select; anything but a number of the list is a field error."""
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    number = optional_int(raw)
    if number is None or number == 0:
        errors[name] = [N_("choose one of the list")]
    return number


def _references(name: str, errors: dict[str, list[str]]) -> list[int]:
    values = [optional_int(v) for v in request.form.getlist(name) if v.strip()]
    if any(v is None for v in values):
        errors[name] = [N_("choose one of the list")]
    return [v for v in values if v is not None]


def _rule_values(errors: dict[str, list[str]]) -> dict[str, object]:
    return {
        "name": request.form.get("name", ""),
        "level_id": _reference("level_id", errors),
        "queue_id": _reference("queue_id", errors),
        "include_subqueues": checked("include_subqueues"),
        "priorities": _references("priorities", errors),
        "type_ids": _references("type_ids", errors),
        "service_id": _reference("service_id", errors),
        "customer_company_id": _reference("customer_company_id", errors),
        "channel": request.form.get("channel", "").strip() or None,
        "email_domain": request.form.get("email_domain", ""),
    }


def _rule_form(rule: ServiceLevelRule | None) -> MultiDict[str, str]:
    if rule is None:
        return MultiDict({"include_subqueues": "on"})
    form: MultiDict[str, str] = MultiDict(
        {
            "name": rule.name,
            "level_id": str(rule.level_id),
            "queue_id": str(rule.queue_id or ""),
            "include_subqueues": "on" if rule.include_subqueues else "",
            "service_id": str(rule.service_id or ""),
            "customer_company_id": str(rule.customer_company_id or ""),
            "channel": rule.channel or "",
            "email_domain": rule.email_domain or "",
            "valid": "on" if rule.valid else "",
        }
    )
    for priority in rule.priority_list:
        form.add("priorities", str(priority))
    for type_id in rule.type_list:
        form.add("type_ids", str(type_id))
    return form


def _refused(exc: ValidationError) -> dict[str, list[str]]:
    """The field errors in the admin's language (a rule without conditions: on the form)."""
    return exc.translated_errors(_)


@bp.route("/service-levels/rules/new", methods=["GET", "POST"])
@login_required
def service_level_rule_new() -> ResponseReturnValue:
    """Create a rule; it goes to the end of the list."""
    session = get_db()
    actor = admin_actor()
    errors: dict[str, list[str]] = {}
    form: MultiDict[str, str] = _rule_form(None)
    if request.method == "POST":
        values = _rule_values(errors)
        try:
            if errors:
                raise ValidationError(N_("the rule is not valid"), errors=errors)
            with session.begin_nested():
                rule = rules.create_rule(session, actor=actor, **values)  # type: ignore[arg-type]
        except ValidationError as exc:
            errors, form = _refused(exc), MultiDict(request.form)
        else:
            flash("admin_saved", "success")
            return redirect(url_for("admin.service_level_rule_edit", rule_id=rule.id), code=303)
    page = render_template(
        "admin/service_levels/rule_edit.html",
        rule=None,
        form=form,
        errors=errors,
        entries=[],
        **_rule_choices(actor),
    )
    return page, 422 if errors else 200


@bp.route("/service-levels/rules/<int:rule_id>", methods=["GET", "POST"])
@login_required
def service_level_rule_edit(rule_id: int) -> ResponseReturnValue:
    """Change a rule's name, level, conditions or activity; its audit trail."""
    session = get_db()
    actor = admin_actor()
    rule = rules.get_rule(session, rule_id)
    if rule is None:
        raise NotFound(N_("service level rule %(id)s does not exist"), id=rule_id)
    errors: dict[str, list[str]] = {}
    form: MultiDict[str, str] = _rule_form(rule)
    if request.method == "POST":
        values = _rule_values(errors)
        try:
            if errors:
                raise ValidationError(N_("the rule is not valid"), errors=errors)
            with session.begin_nested():
                rules.update_rule(
                    session,
                    actor=actor,
                    rule_id=rule.id,
                    valid=checked("valid"),
                    **values,  # type: ignore[arg-type]
                )
        except ValidationError as exc:
            errors, form = _refused(exc), MultiDict(request.form)
        else:
            flash("admin_saved", "success")
            return redirect(url_for("admin.service_level_rule_edit", rule_id=rule.id), code=303)
    page = render_template(
        "admin/service_levels/rule_edit.html",
        rule=rule,
        form=form,
        errors=errors,
        entries=audit.entries_for(session, object_type="service_level_rule", object_id=rule.id),
        **_rule_choices(actor),
    )
    return page, 422 if errors else 200


@bp.route("/service-levels/rules/<int:rule_id>/move", methods=["POST"])
@login_required
def service_level_rule_move(rule_id: int) -> ResponseReturnValue:
    """Move a rule one place up or down the list (``direction``), back to the list."""
    session = get_db()
    actor = admin_actor()
    rules.move_rule(session, actor=actor, rule_id=rule_id, direction=request.form.get("direction", ""))
    flash("admin_saved", "success")
    return redirect(url_for("admin.service_levels", _anchor="rules"), code=303)
