"""In Chromium: the administrator's texts and queues at work (issue 11, S3).

S3: the admin creates a template with variables and a file for the 1st level queue; an agent
answers a ticket with it; the customer's mail carries the filled text and the file.  And a
queue created in the browser with follow-up policy *reject*: a mail to its closed ticket is
answered with the reject text and leaves the ticket closed.  The mails are asserted as
composed from the outbox (decoded parts), the mail pipeline is the real one.
"""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any
from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from desk.actor import SYSTEM
from desk.customer.models import CustomerUser
from desk.outbox.models import OutboxMessage
from desk.queue.models import Queue
from desk.ticket import states
from desk.ticket.models import Ticket
from flows import state as state_flow
from flows.drafts import ArticleDraft
from flows.open_ticket import open_ticket
from mail.inbound.pipeline import process_raw_mail
from mail.inbound.store import store_raw
from mail.outbound.compose import compose
from tests.e2e.conftest import screenshot, sign_in
from tests.mail.conftest import build_mail

CUSTOMER = "john.doe@acme.example"
PDF = b"%PDF-1.4\n% VPN guide\n" + bytes(range(256))


def _mails_to(session: Session, ticket_id: int) -> list[EmailMessage]:
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.ticket_id == ticket_id, OutboxMessage.to_addr == CUSTOMER)
        .order_by(OutboxMessage.id)
    ).all()
    mails = []
    for row in rows:
        parsed = message_from_bytes(compose(row, session=session).as_bytes(), policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        mails.append(parsed)
    return mails


def _plain(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def test_s3_a_template_with_a_file_answers_the_customer(
    page: Any, browser: Any, live_server: str, e2e_factory: sessionmaker[Session]
) -> None:
    name = f"VPN guide {uuid4().hex[:6]}"
    with session_scope(e2e_factory) as session:
        john = session.scalars(select(CustomerUser).where(CustomerUser.email == CUSTOMER)).one()
        first_name = john.first_name
        opened = open_ticket(
            session,
            actor=SYSTEM,
            queue=session.scalars(select(Queue).where(Queue.name == "1st level")).one(),
            title="VPN does not connect",
            customer_user=john,
            first=ArticleDraft(
                channel="email",
                sender_type="customer",
                visible_for_customer=True,
                subject="VPN does not connect",
                body_text="The VPN client says: no route.",
                from_addr=CUSTOMER,
            ),
        )
        ticket_id, number = opened.ticket.id, opened.ticket.number

    # The administrator writes the template, previews it on the ticket, attaches the guide.
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/admin/texts/templates/new")
    page.fill("#template-name", name)
    page.select_option("#template-kind", "answer")
    page.fill(
        "#template-text",
        "Hello {{ customer.first_name }}, for ticket {{ ticket.number }} please follow the attached guide.",
    )
    page.select_option("#template-preview-ticket", str(ticket_id))
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#template-preview")
    preview.get_by_text(f"for ticket {number} please").wait_for()
    assert f"Hello {first_name}, for ticket {number}" in preview.inner_text()
    page.select_option("#template-queues", label="1st level")
    page.set_input_files(
        "#template-attachments",
        files=[{"name": "vpn-guide.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    page.get_by_role("button", name="Create template").click()
    page.wait_for_load_state("networkidle")
    assert "Saved." in page.inner_text("main")
    assert "vpn-guide.pdf" in page.inner_text("main")
    screenshot(page, "admin_s3_template")

    # The agent answers the ticket with it.
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    agent_page = context.new_page()
    try:
        sign_in(agent_page, live_server, "alice")
        agent_page.goto(f"{live_server}/tickets/{ticket_id}")
        agent_page.select_option("#template-select", label=name)
        agent_page.get_by_role("button", name="Use template").click()
        agent_page.wait_for_load_state("networkidle")
        text = agent_page.input_value("#reply-body")
        assert f"Hello {first_name}, for ticket {number} please follow the attached guide." in text
        assert "vpn-guide.pdf" in agent_page.inner_text("#reply")
        agent_page.get_by_role("button", name="Send reply").click()
        agent_page.wait_for_load_state("networkidle")
        assert "Your reply was sent to the customer." in agent_page.inner_text("main")
        screenshot(agent_page, "admin_s3_reply")
    finally:
        context.close()

    with session_scope(e2e_factory) as session:
        reply = _mails_to(session, ticket_id)[-1]
        assert f"Hello {first_name}, for ticket {number} please follow the attached guide." in _plain(reply)
        [attachment] = list(reply.iter_attachments())
        assert attachment.get_filename() == "vpn-guide.pdf"
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_content() == PDF


def test_a_queue_created_with_reject_answers_a_follow_up_and_stays_closed(
    page: Any, live_server: str, e2e_factory: sessionmaker[Session]
) -> None:
    token = uuid4().hex[:6]
    address = f"returns-{token}@helpdesk.example"
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/admin/queues/new")
    page.fill("#queue-name", f"Returns {token}")
    page.select_option("#queue-group_id", label="first_level")
    page.fill("#queue-system_address", address)
    page.fill("#queue-display_name", "Acme Returns")
    page.select_option("#queue-follow_up_policy", "reject")
    page.fill("#queue-reject_subject", "Closed: {{ ticket.title }}")
    page.fill("#queue-reject_text", "Ticket {{ ticket.number }} is closed; please write a new mail.")
    page.get_by_label("Customers may open tickets here (API, portal)").check()
    page.get_by_role("button", name="Create queue").click()
    page.wait_for_load_state("networkidle")
    assert "Saved." in page.inner_text("main")
    assert f"Acme Returns <{address}>" in page.inner_text("main")
    screenshot(page, "admin_reject_queue")

    subject = f"Broken parcel {token}"
    with session_scope(e2e_factory) as session:
        raw, _ = store_raw(session, data=build_mail(to=address, subject=subject).as_bytes(), source="pipe")
        process_raw_mail(session, raw_mail_id=raw.id)
    with session_scope(e2e_factory) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.title == subject)).one()
        assert ticket.queue.name == f"Returns {token}"
        state_flow.set_state(
            session, actor=SYSTEM, ticket=ticket, state=states.get_state(session, "closed successful")
        )
        ticket_id, number = ticket.id, ticket.number
    follow_up = build_mail(to=address, subject=f"Re: [Ticket#{number}] {subject}", body="It is still broken.")
    with session_scope(e2e_factory) as session:
        raw, _ = store_raw(session, data=follow_up.as_bytes(), source="pipe")
        process_raw_mail(session, raw_mail_id=raw.id)
    with session_scope(e2e_factory) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        assert ticket.state.name == "closed successful"
        answer = _mails_to(session, ticket_id)[-1]
        assert answer["Subject"] == f"[Ticket#{number}] Closed: {subject}"
        assert answer["From"].addresses[0].display_name == "Acme Returns"
        assert answer["From"].addresses[0].addr_spec == address
        assert _plain(answer).strip() == f"Ticket {number} is closed; please write a new mail."
        assert answer["Auto-Submitted"] == "auto-replied"
