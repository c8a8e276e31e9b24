"""Failed inbound mail is visible to administrators, downloadable raw, and processed again.

The mails fail for real: every queue is made invalid, so routing finds no queue ("there is
no queue for inbound mail"); making a queue valid again is the fix.  The app runs on the
mail tests' committed database because reprocessing runs in units of work of its own,
after the request's commit, exactly as in production.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from uuid import uuid4

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core.config import get_settings
from core.db import session_scope
from desk.queue.models import Queue
from desk.rawmail.models import RawMail
from desk.ticket.models import Ticket
from mail.inbound.receive import accept
from tests.mail.conftest import build_mail
from tests.web.conftest import csrf_token_in, sign_in
from web import create_app
from web.auth.limiter import InMemoryLoginLimiter

REASON = "there is no queue for inbound mail"


@pytest.fixture
def queueless(mail_env: sessionmaker[Session]) -> Iterator[Callable[[], None]]:
    """Every queue invalid (inbound mail fails); yields the fix: the queues valid again."""
    with session_scope(mail_env) as session:
        valid = list(session.scalars(select(Queue.id).where(Queue.valid.is_(True))))
        session.execute(update(Queue).values(valid=False))

    def fix() -> None:
        with session_scope(mail_env) as session:
            session.execute(update(Queue).where(Queue.id.in_(valid)).values(valid=True))

    yield fix
    fix()


@pytest.fixture
def browser(mail_env: sessionmaker[Session]) -> FlaskClient:
    """A browser on the web app of the mail database."""
    app = create_app(get_settings(), session_factory=mail_env, login_limiter=InMemoryLoginLimiter())
    app.testing = True
    return app.test_client()


def failing_mail(
    mail_env: sessionmaker[Session], drain: Callable[[], None], subject: str
) -> tuple[int, bytes]:
    """Store a mail over SMTP's path and let its job fail; returns its id and raw bytes."""
    mail = build_mail(sender="Erna Example <erna@customer.example>", subject=subject)
    data = mail.as_bytes()
    raw_id, _created = accept(
        data,
        source="smtp",
        envelope_from="bounce-erna@customer.example",
        envelope_to="support@helpdesk.example",
    )
    drain()
    with session_scope(mail_env) as session:
        raw = session.get(RawMail, raw_id)
        assert raw is not None
        assert (raw.status, raw.attempts) == ("failed", 1), raw.error
    return raw_id, data


def failed_count(mail_env: sessionmaker[Session]) -> int:
    with session_scope(mail_env) as session:
        return len(session.scalars(select(RawMail.id).where(RawMail.status == "failed")).all())


def test_an_administrator_sees_failed_mail_its_reason_the_count_and_the_raw_bytes(
    mail_env, drain, queueless, browser
):
    subject = f"Drucker kaputt – {uuid4().hex[:8]}"
    raw_id, data = failing_mail(mail_env, drain, subject)
    sign_in(browser, "admin")

    dashboard = browser.get("/").text
    assert f"Failed inbound mail, not yet a ticket: {failed_count(mail_env)}." in dashboard
    assert 'href="/admin/mail/failed"' in dashboard

    page = browser.get("/admin/mail/failed")
    assert page.status_code == 200
    row = page.text[page.text.index(f'id="raw-mail-{raw_id}"') :]
    row = row[: row.index("</tr>")]
    for shown in (subject, "smtp", "bounce-erna@customer.example", REASON, 'data-label="Attempts">1</td>'):
        assert shown in row, shown

    download = browser.get(f"/admin/mail/failed/{raw_id}.eml")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == f"attachment; filename=raw-mail-{raw_id}.eml"
    assert download.mimetype == "application/octet-stream"
    assert download.data == data


def test_agents_who_do_not_administer_get_403_and_no_notice(mail_env, drain, queueless, browser):
    raw_id, _data = failing_mail(mail_env, drain, "Not for the secretary")
    sign_in(browser, "secretary")
    dashboard = browser.get("/")
    assert dashboard.status_code == 200
    assert "Failed inbound mail" not in dashboard.text
    assert "/admin/mail/failed" not in dashboard.text
    token = csrf_token_in(dashboard.text)
    assert browser.get("/admin/mail/failed").status_code == 403
    assert browser.get(f"/admin/mail/failed/{raw_id}.eml").status_code == 403
    for url in (f"/admin/mail/failed/{raw_id}/reprocess", "/admin/mail/failed/reprocess"):
        assert browser.post(url, data={"csrf_token": token}).status_code == 403
    with session_scope(mail_env) as session:
        assert session.get(RawMail, raw_id).status == "failed"


def test_reprocessing_after_the_fix_turns_the_failed_mails_into_tickets(mail_env, drain, queueless, browser):
    subjects = [f"Fixed later {n} {uuid4().hex[:8]}" for n in (1, 2)]
    ids = [failing_mail(mail_env, drain, s)[0] for s in subjects]
    sign_in(browser, "admin")
    page = browser.get("/admin/mail/failed")

    # Before the fix, processing one again fails again: still listed, one more attempt.
    response = browser.post(
        f"/admin/mail/failed/{ids[0]}/reprocess", data={"csrf_token": csrf_token_in(page.text)}
    )
    assert response.status_code == 303
    page = browser.get("/admin/mail/failed")
    assert "Processed again. A mail that still fails stays in the list" in page.text
    with session_scope(mail_env) as session:
        raw = session.get(RawMail, ids[0])
        assert (raw.status, raw.attempts) == ("failed", 2)

    queueless()  # the fix: a queue for inbound mail again
    response = browser.post("/admin/mail/failed/reprocess", data={"csrf_token": csrf_token_in(page.text)})
    assert response.status_code == 303
    page = browser.get("/admin/mail/failed").text
    for raw_id, subject in zip(ids, subjects, strict=True):
        assert f'id="raw-mail-{raw_id}"' not in page
        with session_scope(mail_env) as session:
            raw = session.get(RawMail, raw_id)
            assert raw.status == "processed", raw.error
            ticket = session.get(Ticket, raw.ticket_id)
            assert ticket is not None
            assert ticket.title == subject
    # "All" took every failed mail of this database, the earlier tests' too.
    assert failed_count(mail_env) == 0
    assert "No failed mail." in page
    assert "Failed inbound mail" not in browser.get("/").text
