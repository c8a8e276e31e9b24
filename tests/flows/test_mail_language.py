"""Automatic mails to agents are written in each recipient's language and time zone.

The escalation text has no German translation yet (the translation pass adds it): the
``german`` fixture adds its entry to the real German catalog as it is loaded.  The weekly
statistics use the statistics page's texts, which the real catalog translates already.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import select

from core.db import utcnow
from desk.actor import SYSTEM
from desk.outbox.models import OutboxMessage
from flows import escalation, ticket_fields
from mail.outbound.compose import compose
from tests.flows import test_escalation
from tests.web import test_localized

level = test_escalation.level  # the fixture: a round-the-clock level on 1st level
german = test_localized.german


def _mails(session, ticket) -> list[tuple[str, str, str]]:
    """(decoded subject, To, text) of each outbox mail of ``ticket``, as they are sent."""
    found = []
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id).order_by(OutboxMessage.id)
    )
    for row in rows:
        message = compose(row, session=session)
        text = message.get_body(("plain",))
        found.append(
            (
                str(make_header(decode_header(message["Subject"]))),
                str(message["To"]),
                text.get_content() if text is not None else "",
            )
        )
    return found


def test_an_escalation_warning_is_written_in_each_agents_language_and_time_zone(
    session, agent, queue, customer, level, german
):
    german("[Escalation warning] %(title)s", "[Eskalationswarnung] %(title)s")
    german(
        "The first response time of ticket %(number)s runs out at %(when)s.",
        "Die Zeit für die erste Reaktion auf Ticket %(number)s läuft am %(when)s ab.",
    )
    alice, admin = agent("alice"), agent("admin")
    alice.language, alice.time_zone = "de", "Europe/Berlin"
    admin.language, admin.time_zone = "en", "UTC"
    ticket = test_escalation.new_ticket(session, queue, customer)
    ticket_fields.set_owner(session, actor=SYSTEM, ticket=ticket, owner=alice)
    ticket_fields.set_responsible(session, actor=SYSTEM, ticket=ticket, responsible=admin)
    escalation.refresh(session, ticket_id=ticket.id, now=utcnow())
    due = ticket.first_response_due.astimezone(UTC)

    with time_machine.travel(ticket.created_at + timedelta(minutes=31), tick=False):
        assert escalation.escalate(session, ticket_id=ticket.id, now=utcnow()) == ["first_response_warn"]

    mails = {to: (subject, text) for subject, to, text in _mails(session, ticket)}
    subject, text = mails[alice.email]
    assert subject == "[Eskalationswarnung] The VPN drops every hour"
    berlin = due.astimezone(ZoneInfo("Europe/Berlin"))
    assert f"läuft am {berlin:%d.%m.%Y, %H:%M} ab." in text
    subject, text = mails[admin.email]  # the English reader gets their own mail
    assert subject == "[Escalation warning] The VPN drops every hour"
    assert "The first response time of ticket" in text
    assert len(mails) == 2


def test_the_weekly_statistics_mail_is_in_the_subscribers_language(session, agent):
    from reports import weekly

    admin = agent("admin")
    admin.language = "de"
    subscription = weekly.subscribe(session, actor=admin)
    now = datetime(2026, 6, 3, 7, 0, tzinfo=UTC)

    assert weekly.send(session, subscription=subscription, now=now)

    mail = session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_addr == admin.email).order_by(OutboxMessage.id.desc())
    ).first()
    assert mail is not None
    # The statistics page's titles and headers, from the real German catalog.
    assert "Erstellte und geschlossene Tickets pro Tag" in mail.body_text
    assert "Tag | Erstellt" in mail.body_text
    assert "Tickets created and closed per day" not in mail.body_text
