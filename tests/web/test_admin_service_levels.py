"""Calendars and service levels administered in the browser (forms, field errors, queues)."""

from __future__ import annotations

import json

from sqlalchemy import select

from desk.audit.models import AuditEntry
from desk.calendar.models import BusinessCalendar
from desk.sla.models import ServiceLevel
from tests.web.conftest import csrf_token_in


def post(client, page: str, action: str, **data):
    token = csrf_token_in(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **data})


def test_an_admin_creates_a_calendar_and_a_level_for_a_queue(client, login, session, queue):
    login("admin")
    bad = post(
        client,
        "/admin/calendars",
        "/admin/calendars",
        name="Budapest office",
        time_zone="Europe/Budapest",
        hours_mon="9 to 5",
        country="HU",
    )
    assert bad.status_code == 422
    assert "is not a time range like 08:00-17:00" in bad.text
    assert 'value="Budapest office"' in bad.text  # the typed text comes back
    made = post(
        client,
        "/admin/calendars",
        "/admin/calendars",
        name="Budapest office",
        time_zone="Europe/Budapest",
        hours_mon="08:00-16:00",
        hours_tue="08:00-16:00",
        country="hu",
        extra_holidays="2026-12-24, 2026-12-31",
    )
    assert made.status_code == 303
    calendar = session.scalars(
        select(BusinessCalendar).where(BusinessCalendar.name == "Budapest office")
    ).one()
    assert calendar.country == "HU"
    assert json.loads(calendar.week) == {"mon": "08:00-16:00", "tue": "08:00-16:00"}
    assert calendar.extra_holidays == "2026-12-24,2026-12-31"

    level_page = post(
        client,
        "/admin/service-levels",
        "/admin/service-levels",
        name="Silver",
        calendar_id=str(calendar.id),
        first_response_minutes="120",
        update_minutes="abc",
        solution_minutes="960",
        notify_before_percent="25",
        pause_while_pending="on",
    )
    assert level_page.status_code == 422
    assert "a whole number of minutes" in level_page.text
    created = post(
        client,
        "/admin/service-levels",
        "/admin/service-levels",
        name="Silver",
        calendar_id=str(calendar.id),
        first_response_minutes="120",
        update_minutes="240",
        solution_minutes="960",
        notify_before_percent="25",
        pause_while_pending="on",
    )
    assert created.status_code == 303
    level = session.scalars(select(ServiceLevel).where(ServiceLevel.name == "Silver")).one()
    first = queue("1st level")
    edit = f"/admin/service-levels/{level.id}"
    saved = post(
        client,
        edit,
        edit,
        name="Silver",
        calendar_id=str(calendar.id),
        first_response_minutes="90",
        update_minutes="240",
        solution_minutes="960",
        notify_before_percent="25",
        pause_while_pending="on",
        valid="on",
        queue=str(first.id),
    )
    assert saved.status_code == 303
    session.expire_all()
    assert queue("1st level").service_level_id == level.id
    assert session.get(ServiceLevel, level.id).first_response_minutes == 90
    actions = session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.object_type == "service_level", AuditEntry.object_id == level.id
        )
    ).all()
    assert set(actions) == {"create", "update", "assign_queues"}
    page = client.get(edit).text
    assert "Queues whose tickets follow this level" in page
    assert "assign_queues" in page or "1st level" in page


def test_non_administrators_get_403(client, login):
    login("alice")
    for url in ("/admin/calendars", "/admin/service-levels"):
        assert client.get(url).status_code == 403


def test_ids_beyond_32_bits_are_404_not_a_server_error(client, login):
    login("admin")
    for url in ("/admin/calendars/2147483648", "/admin/service-levels/2147483648", "/admin/calendars/999999"):
        assert client.get(url).status_code == 404
