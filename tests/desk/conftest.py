"""Builders for the domain tests: tickets made by the system, states and agents by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.agent.models import Agent
from desk.article import service as articles
from desk.customer.models import CustomerUser
from desk.queue.models import Queue
from desk.ticket import service as tickets
from desk.ticket import states
from desk.ticket.models import State, Ticket

MakeTicket = Callable[..., Ticket]


@pytest.fixture
def make_ticket(session: Session, queue: Callable[[str], Queue], customer) -> MakeTicket:
    """Create a ticket as the mail gateway would: ``make_ticket("Raw", customer="john.doe@acme.example")``.

    The first article is a customer mail unless ``with_article=False``.
    """

    def make(
        queue_name: str = "Raw",
        *,
        customer_email: str | None = "john.doe@acme.example",
        title: str = "Printer is on fire",
        with_article: bool = True,
    ) -> Ticket:
        customer_user: CustomerUser | None = customer(customer_email) if customer_email else None
        ticket = tickets.create_ticket(
            session, actor=SYSTEM, title=title, queue=queue(queue_name), customer_user=customer_user
        )
        if with_article:
            articles.add_article(
                session,
                actor=SYSTEM,
                ticket=ticket,
                channel="email",
                sender_type="customer",
                visible_for_customer=True,
                subject=title,
                body_text="Please help.",
                from_addr=customer_email or "",
                message_id=f"<t{ticket.id}@customer.example>",
            )
        return ticket

    return make


@pytest.fixture
def state(session: Session) -> Callable[[str], State]:
    """Look up a ticket state by name: ``state("closed successful")``."""

    def get(name: str) -> State:
        return states.get_state(session, name)

    return get


@pytest.fixture
def make_agent(session: Session) -> Callable[..., Agent]:
    """Create an agent with direct grants: ``make_agent("x", {"second_level": ("rw",)})``."""

    def make(
        login: str,
        grants: dict[str, tuple[str, ...]],
        *,
        may_contact_customers: bool = True,
        read_only: bool = False,
    ) -> Agent:
        new = agents.create_agent(
            session,
            actor=SYSTEM,
            login=login,
            password="a-long-test-password",
            first_name="Test",
            last_name=login.title(),
            email=f"{login}@helpdesk.example",
            may_contact_customers=may_contact_customers,
            read_only=read_only,
        )
        for group_name, perms in grants.items():
            agents.grant_group(
                session,
                actor=SYSTEM,
                agent=new,
                group=agents.get_group(session, name=group_name),
                permissions=perms,
            )
        return new

    return make


@dataclass
class World:
    """Every look-up at once, for parametrized tests that need many of them."""

    session: Session
    agent: Callable[[str], Agent]
    queue: Callable[[str], Queue]
    customer: Callable[[str], CustomerUser]
    state: Callable[[str], State]
    make_ticket: MakeTicket


@pytest.fixture
def world(session, agent, queue, customer, make_ticket) -> World:
    """The session and the look-ups together: ``world.agent("alice")``, ``world.make_ticket()``."""
    return World(session, agent, queue, customer, lambda name: states.get_state(session, name), make_ticket)
