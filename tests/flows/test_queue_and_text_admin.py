"""Queue and text administration as use cases: the tree, the mail identity of a queue, the
process a queue starts, automatic answers and templates in the customer's language.

Mail is asserted as the customer gets it: the outbox row composed into MIME, decoded.
"""

from __future__ import annotations

import dataclasses
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from sqlalchemy import select, update

from core.errors import PermissionDenied, ValidationError
from desk.actor import SYSTEM
from desk.audit import service as audit
from desk.outbox.models import OutboxMessage
from desk.queue import identity
from desk.queue.models import Queue
from desk.template import admin as text_admin
from desk.template import service as template_service
from desk.template import variants
from desk.ticket import states
from engine.models import ProcessInstance
from flows import queue_admin
from flows import reply as reply_flow
from flows import state as state_flow
from mail.inbound.pipeline import process_raw_mail
from mail.inbound.store import store_raw
from mail.outbound.compose import compose


def _mail(session, message: OutboxMessage) -> EmailMessage:
    """The outbox row as the customer receives it (composed, serialised, parsed again)."""
    raw = compose(message, session=session).as_bytes()
    parsed = message_from_bytes(raw, policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _outbox_to(session, address: str) -> list[OutboxMessage]:
    session.flush()
    return list(
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.to_addr == address).order_by(OutboxMessage.id)
        )
    )


def _text(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    return body.get_content()


# --- the tree ------------------------------------------------------------------------------


def test_renaming_a_queue_carries_its_children_and_is_audited(session, agent, queue):
    admin = agent("admin")
    tennis = queue("Tennis")
    queue_admin.update_queue(
        session,
        actor=admin,
        queue=tennis,
        name="Racket sports",
        parent=None,
        group=tennis.group,
        system_address=None,
        display_name="Racket Club",
        follow_up_policy="reopen",
        unlock_timeout_minutes=30,
        customer_facing=False,
        valid=True,
        salutation_id=tennis.salutation_id,
        signature_id=tennis.signature_id,
        process_id=None,
    )
    names = sorted(q.name for q in session.scalars(select(Queue).where(Queue.name.like("Racket sports%"))))
    assert names == ["Racket sports", "Racket sports::Seniors", "Racket sports::Youth"]
    entry, created = audit.entries_for(session, object_type="queue", object_id=tennis.id)
    assert (entry.action, created.action) == ("update", "create")
    assert {field for field, _old, _new in entry.changed_fields} == {
        "name",
        "display_name",
        "unlock_timeout_minutes",
    }


def test_a_queue_moves_under_another_parent_but_never_below_itself(session, agent, queue):
    admin, football = agent("admin"), queue("Football")
    youth = queue("Football::Youth")
    queue_admin.update_queue(
        session,
        actor=admin,
        queue=youth,
        name="Youth",
        parent=queue("PR"),
        group=youth.group,
        system_address=None,
        display_name=None,
        follow_up_policy="reopen",
        unlock_timeout_minutes=0,
        customer_facing=False,
        valid=True,
        salutation_id=None,
        signature_id=None,
        process_id=None,
    )
    assert youth.name == "PR::Youth"
    assert youth.parent is queue("PR")
    with pytest.raises(ValidationError) as refused:
        queue_admin.update_queue(
            session,
            actor=admin,
            queue=football,
            name="Football",
            parent=queue("Football::Seniors"),
            group=football.group,
            system_address=None,
            display_name=None,
            follow_up_policy="reopen",
            unlock_timeout_minutes=0,
            customer_facing=False,
            valid=True,
            salutation_id=None,
            signature_id=None,
            process_id=None,
        )
    assert "parent" in refused.value.errors


def test_only_administrators_change_queues_and_before_any_rule(session, agent, queue):
    with pytest.raises(PermissionDenied):
        queue_admin.create_queue(
            session, actor=agent("alice"), name="", group=queue("Raw").group, process_id="nope"
        )


# --- the mail identity ----------------------------------------------------------------------


def test_a_customer_facing_queue_needs_an_address_to_send_from(session, agent, queue, monkeypatch):
    session.execute(update(Queue).values(system_address=None))
    real = identity.get_settings()
    monkeypatch.setattr(identity, "get_settings", lambda: dataclasses.replace(real, default_sender=None))
    with pytest.raises(ValidationError) as refused:
        queue_admin.create_queue(
            session, actor=agent("admin"), name="Front door", group=queue("Raw").group, customer_facing=True
        )
    assert "system_address" in refused.value.errors


def test_a_queue_without_address_sends_as_its_parent_else_the_default_sender(session, queue, monkeypatch):
    board, treasurer = queue("Board"), queue("Board::Treasurer")
    treasurer.system_address = None
    board.display_name = "Club Board"
    assert identity.from_header(session, treasurer) == "Club Board <board@sportclub.example>"
    real = identity.get_settings()
    monkeypatch.setattr(
        identity, "get_settings", lambda: dataclasses.replace(real, default_sender="desk@acme.example")
    )
    assert identity.from_header(session, queue("1st level")) == "desk@acme.example"


def test_the_automatic_answer_comes_in_the_customers_language_from_the_queues_name(
    session, mail_ticket, queue, customer
):
    raw = queue("Raw")
    raw.display_name = "Acme Support"
    john = customer("john.doe@acme.example")
    john.language = "de"
    response = text_admin.save_auto_response(
        session,
        actor=SYSTEM,
        queue=raw,
        kind="new_ticket",
        subject="We got it",
        text="Thanks, {{ customer.first_name }}.",
    )
    variants.set_variant(
        session,
        actor=SYSTEM,
        owner_type="auto_response",
        owner_id=response.id,
        language="de",
        subject="Ihre Anfrage {{ ticket.title }}",
        text="Danke, {{ customer.first_name }}. Ihr {{ queue.display_name }}-Team",
    )
    ticket = mail_ticket(queue_name="Raw", title="Drucker")
    [message] = _outbox_to(session, john.email)
    mail = _mail(session, message)
    assert mail["Subject"] == f"[Ticket#{ticket.number}] Ihre Anfrage Drucker"
    assert mail["From"].addresses[0].display_name == "Acme Support"
    assert mail["From"].addresses[0].addr_spec == "support@helpdesk.example"
    assert _text(mail).strip() == f"Danke, {john.first_name}. Ihr Acme Support-Team"


def test_a_customer_without_a_variant_gets_the_default_text(session, mail_ticket, queue, customer):
    john = customer("john.doe@acme.example")
    john.language = "hu"
    response = text_admin.save_auto_response(
        session, actor=SYSTEM, queue=queue("Raw"), kind="new_ticket", subject="We got it", text="Thank you."
    )
    variants.set_variant(
        session, actor=SYSTEM, owner_type="auto_response", owner_id=response.id, language="de", text="Danke."
    )
    mail_ticket(queue_name="Raw")
    [message] = _outbox_to(session, john.email)
    assert _text(_mail(session, message)).strip() == "Thank you."


# --- the process a queue starts --------------------------------------------------------------


def test_new_tickets_start_the_queues_process_else_the_default(session, deployed, agent, queue, mail_ticket):
    with pytest.raises(ValidationError) as refused:
        queue_admin.update_queue(
            session,
            actor=agent("admin"),
            queue=queue("General"),
            name="General",
            parent=None,
            group=queue("General").group,
            system_address="info@sportclub.example",
            display_name=None,
            follow_up_policy="reopen",
            unlock_timeout_minutes=0,
            customer_facing=True,
            valid=True,
            process_id="no_such_process",
            salutation_id=None,
            signature_id=None,
        )
    assert "process_id" in refused.value.errors
    general = queue("General")
    queue_admin.update_queue(
        session,
        actor=agent("admin"),
        queue=general,
        name="General",
        parent=None,
        group=general.group,
        system_address="info@sportclub.example",
        display_name=None,
        follow_up_policy="reopen",
        unlock_timeout_minutes=0,
        customer_facing=True,
        valid=True,
        process_id="donation",
        salutation_id=None,
        signature_id=None,
    )
    donated = mail_ticket(queue_name="General", title="A donation")
    plain = mail_ticket(queue_name="1st level")
    started = {
        t.id: [
            i.process_version.process_id
            for i in session.scalars(select(ProcessInstance).where(ProcessInstance.ticket_id == t.id))
        ]
        for t in (donated, plain)
    }
    assert started == {donated.id: ["donation"], plain.id: ["ticket_handling"]}


# --- templates -----------------------------------------------------------------------------------


def test_an_answer_from_a_template_carries_its_files_and_the_customers_language(
    session, agent, queue, customer, mail_ticket
):
    john = customer("john.doe@acme.example")
    john.language = "de"
    first_level = queue("1st level")
    template = template_service.create_template(
        session,
        actor=SYSTEM,
        name="VPN how-to",
        text="Hello {{ customer.first_name }}, see the guide.",
        queues=[first_level],
    )
    text_admin.add_attachment(
        session,
        actor=SYSTEM,
        template=template,
        filename="vpn-guide.pdf",
        content_type="application/pdf",
        data=b"%PDF-1.4 guide",
    )
    variants.set_variant(
        session,
        actor=SYSTEM,
        owner_type="template",
        owner_id=template.id,
        language="de",
        text="Hallo {{ customer.first_name }}, siehe die Anleitung.",
    )
    ticket = mail_ticket()
    alice = agent("alice")
    body = template_service.compose_answer(session, ticket=ticket, agent=alice, template=template)
    assert f"Hallo {john.first_name}, siehe die Anleitung." in body
    reply_flow.reply(session, actor=alice, ticket=ticket, body_text=body, template_id=template.id)
    message = _outbox_to(session, john.email)[-1]
    mail = _mail(session, message)
    assert "siehe die Anleitung" in _text(mail)
    [file] = list(mail.iter_attachments())
    assert (file.get_filename(), file.get_content_type(), file.get_content()) == (
        "vpn-guide.pdf",
        "application/pdf",
        b"%PDF-1.4 guide",
    )


def test_a_template_not_offered_in_the_queue_gives_no_files(session, agent, queue, mail_ticket):
    template = template_service.create_template(
        session, actor=SYSTEM, name="Finance only", text="x", queues=[queue("Finance")]
    )
    with pytest.raises(ValidationError) as refused:
        reply_flow.reply(
            session, actor=agent("alice"), ticket=mail_ticket(), body_text="x", template_id=template.id
        )
    assert "template" in refused.value.errors


# --- follow-up policy reject -----------------------------------------------------------------------


def test_a_follow_up_to_a_closed_ticket_of_a_reject_queue_gets_the_reject_text(
    session, agent, queue, customer, mail_ticket
):
    raw = queue("Raw")
    with pytest.raises(ValidationError) as refused:
        queue_admin.update_queue(
            session,
            actor=agent("admin"),
            queue=raw,
            name="Raw",
            parent=None,
            group=raw.group,
            system_address=raw.system_address,
            display_name="Acme Support",
            follow_up_policy="reject",
            unlock_timeout_minutes=0,
            customer_facing=True,
            valid=True,
            salutation_id=raw.salutation_id,
            signature_id=raw.signature_id,
            process_id=None,
        )
    assert "reject_text" in refused.value.errors
    queue_admin.update_queue(
        session,
        actor=agent("admin"),
        queue=raw,
        name="Raw",
        parent=None,
        group=raw.group,
        system_address=raw.system_address,
        display_name="Acme Support",
        follow_up_policy="reject",
        unlock_timeout_minutes=0,
        customer_facing=True,
        valid=True,
        salutation_id=raw.salutation_id,
        signature_id=raw.signature_id,
        process_id=None,
        answers=[
            queue_admin.AnswerText(
                "reject", "Closed: {{ ticket.title }}", "Ticket {{ ticket.number }} is closed."
            )
        ],
    )
    ticket = mail_ticket(queue_name="Raw", title="Printer")
    state_flow.set_state(
        session, actor=SYSTEM, ticket=ticket, state=states.get_state(session, "closed successful")
    )
    before = len(_outbox_to(session, "john.doe@acme.example"))
    follow_up = (
        f"From: John Doe <john.doe@acme.example>\r\nTo: support@helpdesk.example\r\n"
        f"Subject: Re: [Ticket#{ticket.number}] Printer\r\nMessage-ID: <again.1@acme.example>\r\n"
        "\r\nStill broken.\r\n"
    ).encode()
    stored, _created = store_raw(session, data=follow_up, source="pipe")
    process_raw_mail(session, raw_mail_id=stored.id)
    session.refresh(ticket)
    assert ticket.state.name == "closed successful"
    sent = _outbox_to(session, "john.doe@acme.example")[before:]
    mail = _mail(session, sent[-1])
    assert mail["Subject"] == f"[Ticket#{ticket.number}] Closed: Printer"
    assert _text(mail).strip() == f"Ticket {ticket.number} is closed."
    assert mail["From"].addresses[0].display_name == "Acme Support"


def test_the_default_sender_setting_is_read_from_the_environment():
    from core.config import Settings

    settings = Settings.from_env({"TICKETFLOW_DEFAULT_SENDER": " Desk@Acme.example "})
    assert settings.default_sender == "desk@acme.example"
    assert Settings.from_env({}).default_sender is None
