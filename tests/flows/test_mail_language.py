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


def test_the_weekly_mail_carries_every_figure_as_an_xlsx_file(session, agent):
    import io
    import re
    import zipfile

    from reports import weekly

    admin = agent("admin")
    admin.language = "de"
    subscription = weekly.subscribe(session, actor=admin)
    assert weekly.send(session, subscription=subscription, now=datetime(2026, 6, 3, 7, 0, tzinfo=UTC))
    row = session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_addr == admin.email).order_by(OutboxMessage.id.desc())
    ).first()
    assert row is not None

    message = compose(row, session=session)
    assert message.get_content_type() == "multipart/mixed"
    text = message.get_body(("plain",))
    assert text is not None
    assert "Erstellte und geschlossene Tickets pro Tag" in text.get_content()
    (file,) = list(message.iter_attachments())
    assert file.get_filename() == "statistics-20260527-20260602.xlsx"
    assert file.get_content_type() == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    with zipfile.ZipFile(io.BytesIO(file.get_content())) as xlsx:
        sheets = re.findall(r'<sheet name="([^"]+)"', xlsx.read("xl/workbook.xml").decode())
    assert sheets == [
        "created_closed_per_day",
        "open_by_queue",
        "open_by_state",
        "open_by_priority",
        "open_by_service",
        "response_and_solution_times",
        "sla_breaches",
        "agent_load",
        "backlog_age",
        "process_steps",
        "time_spent",
    ]
    # Every retry composes the same file: its bytes are stored, not made again.
    (again,) = list(compose(row, session=session).iter_attachments())
    assert again.get_content() == file.get_content()


def test_a_file_goes_only_with_a_mail_without_an_article_under_a_plain_name(session):
    import pytest

    from desk.outbox import service as outbox

    with pytest.raises(ValueError, match="plain name"):
        outbox.queue_mail(
            session,
            ticket=None,
            article=None,
            from_addr="a@example.org",
            to_addr="b@example.org",
            subject="s",
            body_text="t",
            attachment=("../x.xlsx", b"data"),
        )
    plain = outbox.queue_mail(
        session,
        ticket=None,
        article=None,
        from_addr="a@example.org",
        to_addr="b@example.org",
        subject="s",
        body_text="t",
    )
    assert outbox.attached_file(plain) is None
    assert list(compose(plain, session=session).iter_attachments()) == []


def test_the_weekly_mail_text_says_the_workbook_is_attached(session, agent, german):
    from reports import weekly

    admin = agent("admin")
    subscription = weekly.subscribe(session, actor=admin)
    assert weekly.send(session, subscription=subscription, now=datetime(2026, 6, 3, 7, 0, tzinfo=UTC))
    row = session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_addr == admin.email).order_by(OutboxMessage.id.desc())
    ).first()
    assert row is not None
    message = compose(row, session=session)
    text = message.get_body(("plain",))
    assert text is not None
    (file,) = list(message.iter_attachments())
    # The sentence names the very file that is attached.
    assert (
        f"Every figure is also attached to this mail as an Excel workbook ({file.get_filename()})."
        in text.get_content()
    )
    assert "on the statistics page." in text.get_content()

    # The sentence goes through the reader's catalog, the file name filled in afterwards.
    german(
        "Every figure is also attached to this mail as an Excel workbook (%(file)s).",
        "Alle Kennzahlen hängen zusätzlich als Excel-Arbeitsmappe an (%(file)s).",
    )
    german_text = weekly.compose([], start="2026-05-27", end="2026-06-02", language="de", workbook="w.xlsx")
    assert "Alle Kennzahlen hängen zusätzlich als Excel-Arbeitsmappe an (w.xlsx)." in german_text
    # Without a workbook (nothing attached) the text does not claim one.
    assert "Excel" not in weekly.compose([], start="2026-05-27", end="2026-06-02", language="en")
