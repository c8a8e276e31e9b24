"""In Chromium: a failing mail shows on the admin's failed-mail page and becomes a ticket.

The mail fails for real (every queue invalid: no queue for inbound mail); the admin sees
the notice on the dashboard, follows it, downloads the raw mail, and after the fix (a
queue valid again) processes it again from the page.
"""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core import config, db, jobs
from core.db import session_scope
from desk.queue.models import Queue
from desk.rawmail.models import RawMail
from desk.ticket.models import Ticket
from mail.inbound.receive import accept
from tests.e2e.conftest import screenshot, sign_in
from tests.mail.conftest import build_mail


@pytest.fixture
def same_database(e2e_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Receiving and reprocessing (own units of work) use the live server's database."""
    url = e2e_factory.kw["bind"].url.render_as_string(hide_password=False)
    monkeypatch.setenv("TICKETFLOW_DATABASE_URL", url)
    config.get_settings.cache_clear()
    db.get_engine.cache_clear()
    backend = jobs.InProcessBackend()
    jobs.set_backend(backend)
    yield
    backend.join()
    jobs.set_backend(None)
    config.get_settings.cache_clear()
    db.get_engine.cache_clear()


def test_a_failing_mail_is_reprocessed_from_the_page_after_the_fix(
    page, live_server, e2e_factory, same_database, tmp_path
):
    with session_scope(e2e_factory) as session:
        valid = list(session.scalars(select(Queue.id).where(Queue.valid.is_(True))))
        session.execute(update(Queue).values(valid=False))
    subject = f"Beamer im Saal 2 {uuid4().hex[:8]}"
    data = build_mail(sender="Bea Beamer <bea@customer.example>", subject=subject).as_bytes()
    raw_id, _created = accept(data, source="smtp", envelope_from="bea@customer.example")
    jobs.get_backend().join()  # type: ignore[attr-defined]
    with session_scope(e2e_factory) as session:
        assert session.get(RawMail, raw_id).status == "failed"

    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/")
    notice = page.locator("[data-failed-mail]")
    assert "Failed inbound mail, not yet a ticket: 1." in notice.inner_text()
    notice.get_by_role("link", name="See the failed mail").click()
    page.wait_for_load_state("networkidle")
    assert page.url == f"{live_server}/admin/mail/failed"
    row = page.locator(f"#raw-mail-{raw_id}")
    assert subject in row.inner_text()
    assert "there is no queue for inbound mail" in row.inner_text()

    with page.expect_download() as download_info:
        row.get_by_role("link", name="Raw mail (.eml)").click()
    download = download_info.value
    assert download.suggested_filename == f"raw-mail-{raw_id}.eml"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes() == data
    screenshot(page, "failed-mail")

    with session_scope(e2e_factory) as session:  # the fix
        session.execute(update(Queue).where(Queue.id.in_(valid)).values(valid=True))
    row.get_by_role("button", name=f"Process mail {raw_id} again").click()
    page.wait_for_load_state("networkidle")
    assert "Processed again." in page.locator(".notices").inner_text()
    assert page.locator(f"#raw-mail-{raw_id}").count() == 0
    assert "No failed mail." in page.inner_text("main")

    with session_scope(e2e_factory) as session:
        raw = session.get(RawMail, raw_id)
        assert raw.status == "processed", raw.error
        assert session.scalars(select(Ticket.title).where(Ticket.id == raw.ticket_id)).one() == subject
    page.goto(f"{live_server}/")
    assert subject in page.inner_text("main")
    assert page.locator("[data-failed-mail]").count() == 0
