"""Services: which service level a ticket follows (ticket → service → company → queue)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from core.errors import PermissionDenied, ValidationError
from desk.actor import SYSTEM
from desk.history.models import History
from desk.services import service as services
from desk.sla import service as sla
from flows import escalation, ticket_fields
from flows.drafts import ArticleDraft
from flows.open_ticket import open_ticket

OPENED = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def levels(session, agent):
    admin = agent("admin")
    return {
        minutes: sla.create_level(
            session, actor=admin, name=f"Answer in {minutes}", first_response_minutes=minutes
        )
        for minutes in (10, 20, 30, 40)
    }


def new_ticket(session, queue, customer):
    return open_ticket(
        session,
        actor=SYSTEM,
        queue=queue("1st level"),
        title="The VPN drops every hour",
        customer_user=customer("john.doe@acme.example"),
        first=ArticleDraft(
            channel="email",
            sender_type="customer",
            visible_for_customer=True,
            subject="The VPN drops every hour",
            body_text="Again.",
            from_addr="john.doe@acme.example",
        ),
    ).ticket


def test_the_level_comes_from_the_ticket_then_its_service_then_its_company_then_its_queue(
    session, agent, queue, customer, levels
):
    admin, alice = agent("admin"), agent("alice")
    queue("1st level").service_level_id = levels[40].id
    customer("john.doe@acme.example").company.service_level_id = levels[30].id
    vpn = services.create_service(session, actor=admin, name="VPN", service_level_id=levels[20].id)
    with time_machine.travel(OPENED, tick=False):
        ticket = new_ticket(session, queue, customer)
        ticket.service_level_id = levels[10].id
        session.flush()
        ticket_fields.set_service(session, actor=alice, ticket=ticket, service=vpn)

        def due() -> timedelta:
            escalation.refresh(session, ticket_id=ticket.id, now=OPENED)
            return ticket.first_response_due - OPENED

        assert due() == timedelta(minutes=10)  # the ticket's own level
        ticket.service_level_id = None
        assert due() == timedelta(minutes=20)  # its service's
        ticket_fields.set_service(session, actor=alice, ticket=ticket, service=None)
        assert ticket.first_response_due - OPENED == timedelta(minutes=30)  # set_service refreshed
        assert due() == timedelta(minutes=30)  # its company's
        customer("john.doe@acme.example").company.service_level_id = None
        assert due() == timedelta(minutes=40)  # its queue's
    changes = session.execute(
        select(History.old_value, History.new_value).where(
            History.ticket_id == ticket.id, History.type == "ServiceUpdate"
        )
    ).all()
    assert changes == [(None, "VPN"), ("VPN", None)]


def test_an_inactive_service_cannot_be_chosen_and_observers_cannot_set_one(session, agent, queue, customer):
    admin = agent("admin")
    old = services.create_service(session, actor=admin, name="Fax")
    services.update_service(
        session,
        actor=admin,
        service_id=old.id,
        name="Fax",
        parent_id=None,
        service_level_id=None,
        comment="",
        valid=False,
    )
    ticket = new_ticket(session, queue, customer)
    with pytest.raises(ValidationError) as refused:
        ticket_fields.set_service(session, actor=agent("alice"), ticket=ticket, service=old)
    assert "service_id" in refused.value.errors
    with pytest.raises(PermissionDenied):
        ticket_fields.set_service(session, actor=agent("observer"), ticket=ticket, service=None)


def test_a_service_cannot_hang_below_itself_and_names_are_unique(session, agent):
    admin = agent("admin")
    mail = services.create_service(session, actor=admin, name="Mail")
    spam = services.create_service(session, actor=admin, name="Spam filter", parent_id=mail.id)
    with pytest.raises(ValidationError) as loop:
        services.update_service(
            session,
            actor=admin,
            service_id=mail.id,
            name="Mail",
            parent_id=spam.id,
            service_level_id=None,
            comment="",
            valid=True,
        )
    assert loop.value.errors == {"parent_id": ["a service cannot hang below itself"]}
    with pytest.raises(ValidationError) as clash:
        services.create_service(session, actor=admin, name="Mail")
    assert clash.value.errors == {"name": ["a service with this name exists"]}
    with pytest.raises(PermissionDenied):
        services.create_service(session, actor=agent("alice"), name="Printers")
