"""In Chromium: a mail forwarded as an attachment shows on the ticket page as an embedded mail.

A customer forwards a supplier's mail (which itself carries the mail it answered) as an
attachment; it arrives through the mail channel.  On the ticket page the attached mail is a
collapsed box: opened, it shows the supplier's From, To, Date, Subject and text, the mail
inside it one level further in, and the ``.eml`` downloads byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from uuid import uuid4

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core import config, db, jobs
from core.db import session_scope
from desk.article.models import Article, Attachment
from desk.rawmail.models import RawMail
from mail.inbound.receive import accept
from tests.e2e.conftest import screenshot, sign_in

pytestmark = pytest.mark.slow


@pytest.fixture
def same_database(e2e_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Receiving (its own units of work) uses the live server's database."""
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


def _supplier_mail() -> bytes:
    question = EmailMessage()
    question["From"] = "John Doe <john.doe@acme.example>"
    question["To"] = "sales@supplier.example"
    question["Subject"] = "Anfrage: Toner für Drucker 3"
    question["Date"] = "Mon, 02 Nov 2026 08:00:00 +0100"
    question.set_content("Wir brauchen zwei Tonerkartuschen.")
    answer = EmailMessage()
    answer["From"] = "Sabine Lieferant <sabine@supplier.example>"
    answer["To"] = "john.doe@acme.example"
    answer["Subject"] = "Lieferverzug Toner"
    answer["Date"] = "Tue, 03 Nov 2026 14:30:00 +0100"
    answer.set_content("Der Toner kommt erst in drei Wochen.")
    answer.add_alternative("<p>Der Toner kommt <strong>erst in drei Wochen</strong>.</p>", subtype="html")
    answer.add_attachment(question.as_bytes(), maintype="message", subtype="rfc822")
    return answer.as_bytes()


def test_an_attached_mail_is_shown_embedded_and_downloads_as_it_came(
    page, live_server, e2e_factory, same_database, tmp_path
):
    subject = f"Fwd: Lieferverzug Toner {uuid4().hex[:8]}"
    forward = EmailMessage()
    forward["From"] = "John Doe <john.doe@acme.example>"
    forward["To"] = "support@helpdesk.example"
    forward["Subject"] = subject
    forward.set_content("Bitte kümmert euch darum, siehe Anhang.")
    forward.add_attachment(_supplier_mail(), maintype="message", subtype="rfc822")
    raw_id, _created = accept(forward.as_bytes(), source="smtp", envelope_from="john.doe@acme.example")
    jobs.get_backend().join()  # type: ignore[attr-defined]
    with session_scope(e2e_factory) as session:
        raw = session.get(RawMail, raw_id)
        assert raw is not None
        assert raw.status == "processed", raw.error
        ticket_id = raw.ticket_id
        article = session.scalars(select(Article).where(Article.raw_mail_id == raw_id)).one()
        eml = session.scalars(select(Attachment).where(Attachment.article_id == article.id)).one()
        assert eml.filename == "Lieferverzug Toner.eml"
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security" in message.text else None,
    )

    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/tickets/{ticket_id}")
    box = page.locator(f"#embedded-mail-{eml.id}")
    summary = box.locator("summary").first
    assert "Lieferverzug Toner" in summary.inner_text()
    body = box.locator(".embedded-mail__body").first
    assert not body.is_visible()  # collapsed until the agent opens it

    summary.click()
    assert body.is_visible()
    text = box.inner_text()
    assert "Sabine Lieferant <sabine@supplier.example>" in text
    assert "john.doe@acme.example" in text
    assert "2026-11-03 14:30 +0100" in text
    assert "Der Toner kommt erst in drei Wochen." in body.inner_text()
    assert box.locator(".embedded-mail__body strong").inner_text() == "erst in drei Wochen"
    nested = box.locator("details.embedded-mail--nested")
    assert "Anfrage: Toner für Drucker 3" in nested.locator("summary").inner_text()
    nested.locator("summary").click()
    assert "Wir brauchen zwei Tonerkartuschen." in nested.inner_text()
    screenshot(page, "embedded-mail")

    with page.expect_download() as download_info:
        box.get_by_role("link", name="Download Lieferverzug Toner.eml").click()
    saved = tmp_path / "saved.eml"
    download_info.value.save_as(saved)
    # The stored attachment as it is (the parser kept the attached mail's bytes unchanged).
    assert saved.read_bytes() == _stored_bytes(e2e_factory, eml.id)
    assert b"Subject: Lieferverzug Toner" in saved.read_bytes()
    assert violations == []


def _stored_bytes(factory: sessionmaker[Session], attachment_id: int) -> bytes:
    from desk.blob import service as blobs

    with session_scope(factory) as session:
        attachment = session.get(Attachment, attachment_id)
        assert attachment is not None
        return blobs.read(session, sha256=attachment.blob_sha256)
