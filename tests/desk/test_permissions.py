"""The permission matrix of the demo (groups × permission types, roles, flags), through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db import utcnow
from core.errors import NotFound, PermissionDenied, ValidationError
from desk.actor import SYSTEM
from desk.article import service as articles
from desk.customer import service as customers
from desk.history import service as history
from desk.ticket import service as tickets
from desk.ticket.models import TicketType


def _reply(session, actor, ticket):
    return articles.add_article(
        session, actor=actor, ticket=ticket, channel="email", subject="Re: help", body_text="Try this."
    )


def _note(session, actor, ticket):
    return articles.add_article(
        session, actor=actor, ticket=ticket, channel="note", body_text="Checked logs."
    )


# --- the accountant: Board::Treasurer, and no other board queue ---------------------------


def test_accountant_reads_and_works_a_treasurer_ticket(session, agent, make_ticket, state):
    accountant = agent("accountant")
    ticket = make_ticket("Board::Treasurer", customer_email="donor@citizen.example")

    assert tickets.get_ticket(session, actor=accountant, ticket_id=ticket.id) is ticket
    note = _note(session, accountant, ticket)
    tickets.set_priority(session, actor=accountant, ticket=ticket, priority=4)
    tickets.set_state(session, actor=accountant, ticket=ticket, state=state("open"))

    assert note in articles.list_articles(session, actor=accountant, ticket=ticket)
    assert ticket.priority == 4
    assert ticket.state.name == "open"


def test_accountant_is_refused_on_a_board_ticket(session, agent, make_ticket, state):
    accountant = agent("accountant")
    ticket = make_ticket("Board", customer_email="donor@citizen.example")

    with pytest.raises(PermissionDenied):
        tickets.get_ticket(session, actor=accountant, ticket_id=ticket.id)
    with pytest.raises(PermissionDenied):
        articles.list_articles(session, actor=accountant, ticket=ticket)
    with pytest.raises(PermissionDenied):
        _note(session, accountant, ticket)
    with pytest.raises(PermissionDenied):
        tickets.set_priority(session, actor=accountant, ticket=ticket, priority=4)
    with pytest.raises(PermissionDenied):
        tickets.set_state(session, actor=accountant, ticket=ticket, state=state("open"))
    assert ticket.priority == 3
    assert ticket.state.name == "new"


def test_accountant_lists_only_treasurer_tickets(session, agent, make_ticket):
    treasurer = make_ticket("Board::Treasurer", customer_email="donor@citizen.example")
    board = make_ticket("Board", customer_email="donor@citizen.example")
    general = make_ticket("General", customer_email="donor@citizen.example")

    listed = tickets.list_tickets(session, actor=agent("accountant"), limit=500)

    assert treasurer in listed
    assert board not in listed
    assert general not in listed
    assert {t.queue.name for t in listed} == {"Board::Treasurer"}


# --- the observer: reads, changes nothing ----------------------------------------------


def _observer_writes():
    """Every write service, as ``(name, call(session, actor, ticket, other, lookups))``."""
    return [
        ("move", lambda s, a, t, o, x: tickets.move(s, actor=a, ticket=t, queue=x.queue("2nd level"))),
        ("lock", lambda s, a, t, o, x: tickets.lock(s, actor=a, ticket=t)),
        ("unlock", lambda s, a, t, o, x: tickets.unlock(s, actor=a, ticket=t)),
        ("set_owner", lambda s, a, t, o, x: tickets.set_owner(s, actor=a, ticket=t, owner=x.agent("alice"))),
        (
            "set_responsible",
            lambda s, a, t, o, x: tickets.set_responsible(s, actor=a, ticket=t, responsible=x.agent("alice")),
        ),
        ("set_state", lambda s, a, t, o, x: tickets.set_state(s, actor=a, ticket=t, state=x.state("open"))),
        ("set_priority", lambda s, a, t, o, x: tickets.set_priority(s, actor=a, ticket=t, priority=5)),
        ("set_title", lambda s, a, t, o, x: tickets.set_title(s, actor=a, ticket=t, title="Observed")),
        (
            "set_customer",
            lambda s, a, t, o, x: tickets.set_customer(
                s, actor=a, ticket=t, customer_user=x.customer("jane.roe@acme.example")
            ),
        ),
        (
            "set_type",
            lambda s, a, t, o, x: tickets.set_type(
                s,
                actor=a,
                ticket=t,
                ticket_type=s.scalars(select(TicketType).filter_by(name="Incident")).one(),
            ),
        ),
        ("merge", lambda s, a, t, o, x: tickets.merge(s, actor=a, ticket=t, into=o)),
        ("link", lambda s, a, t, o, x: tickets.link(s, actor=a, source=t, target=o)),
        ("split", lambda s, a, t, o, x: articles.split(s, actor=a, article=t.articles[0])),
        ("add_article note", lambda s, a, t, o, x: _note(s, a, t)),
        ("add_article reply", lambda s, a, t, o, x: _reply(s, a, t)),
    ]


@pytest.mark.parametrize(("name", "write"), _observer_writes(), ids=[n for n, _ in _observer_writes()])
def test_observer_reads_but_every_write_is_refused(session, world, name, write):
    agent, make_ticket = world.agent, world.make_ticket
    observer = agent("observer")
    ticket = make_ticket("1st level")
    other = make_ticket("1st level", title="Same printer")
    # Locked by someone else, so that "unlock" is a real change the observer attempts.
    tickets.lock(session, actor=agent("alice"), ticket=ticket)
    before = len(history.for_ticket(session, ticket=ticket))

    assert tickets.get_ticket(session, actor=observer, ticket_id=ticket.id) is ticket
    assert len(articles.list_articles(session, actor=observer, ticket=ticket)) == 1
    with pytest.raises(PermissionDenied):
        write(session, observer, ticket, other, world)

    assert len(history.for_ticket(session, ticket=ticket)) == before
    assert ticket.queue.name == "1st level"
    assert ticket.locked_by.login == "alice"
    assert len(articles.list_articles(session, actor=SYSTEM, ticket=ticket)) == 1


def test_observer_reads_raw_and_first_level(session, agent, make_ticket):
    observer = agent("observer")
    raw = make_ticket("Raw")
    first = make_ticket("1st level")

    listed = tickets.list_tickets(session, actor=observer, limit=500)

    assert raw in listed
    assert first in listed
    assert tickets.get_ticket(session, actor=observer, ticket_id=raw.id) is raw


def test_observer_cannot_create_a_ticket(session, agent, queue):
    with pytest.raises(PermissionDenied):
        tickets.create_ticket(session, actor=agent("observer"), title="Observed", queue=queue("Raw"))


# --- agents who must not write to customers --------------------------------------------


@pytest.mark.parametrize("login", ["consultant", "authorizer"])
def test_special_roles_write_notes_but_nothing_a_customer_sees(session, agent, make_ticket, login):
    special = agent(login)
    ticket = make_ticket("2nd level")

    note = _note(session, special, ticket)
    assert note.is_visible_for_customer is False

    with pytest.raises(PermissionDenied):
        _reply(session, special, ticket)
    with pytest.raises(PermissionDenied):
        articles.add_article(
            session,
            actor=special,
            ticket=ticket,
            channel="note",
            visible_for_customer=True,
            body_text="Visible note",
        )
    assert ticket.locked_by is None  # the refused reply did not lock the ticket
    assert all(
        not a.is_visible_for_customer
        for a in articles.list_articles(session, actor=SYSTEM, ticket=ticket)
        if a.created_by_agent_id == special.id
    )


def test_consultant_is_refused_for_the_flag_not_for_missing_rights(session, agent, make_ticket):
    # The consultant role has rw on 2nd level: only the role's flag stops the reply.
    with pytest.raises(PermissionDenied, match="may not write to customers"):
        _reply(session, agent("consultant"), make_ticket("2nd level"))


def test_an_agent_whose_own_flag_is_off_is_refused(session, make_agent, make_ticket):
    rude = make_agent("rude", {"second_level": ("rw",)}, may_contact_customers=False)
    ticket = make_ticket("2nd level")

    _note(session, rude, ticket)
    with pytest.raises(PermissionDenied, match="may not write to customers"):
        _reply(session, rude, ticket)


def test_an_ordinary_second_level_agent_can_reply(session, agent, make_ticket, customer):
    ticket = make_ticket("2nd level")

    reply = _reply(session, agent("bob"), ticket)

    assert reply.is_visible_for_customer is True
    assert reply in articles.list_articles(session, actor=customer("john.doe@acme.example"), ticket=ticket)


# --- customers -------------------------------------------------------------------------


def test_customer_sees_own_and_company_tickets_but_not_another_company(session, customer, make_ticket):
    john = customer("john.doe@acme.example")
    own = make_ticket("Raw", customer_email="john.doe@acme.example")
    colleague = make_ticket("Finance", customer_email="jane.roe@acme.example")
    foreign = make_ticket("Raw", customer_email="ivan.petrov@globex.example")

    listed = tickets.list_tickets(session, actor=john, limit=500)

    assert own in listed
    assert colleague in listed
    assert foreign not in listed
    assert all(t.customer_company.customer_id == "ACME" for t in listed)
    assert tickets.get_ticket(session, actor=john, ticket_id=own.id) is own
    assert tickets.get_ticket(session, actor=john, ticket_id=colleague.id) is colleague
    with pytest.raises(NotFound):
        tickets.get_ticket(session, actor=john, ticket_id=foreign.id)
    with pytest.raises(NotFound):
        tickets.get_by_number(session, actor=john, number=foreign.number)


def test_another_customers_ticket_looks_exactly_like_a_missing_one(session, customer, make_ticket):
    foreign = make_ticket("Raw", customer_email="ivan.petrov@globex.example")
    john = customer("john.doe@acme.example")

    with pytest.raises(NotFound) as hidden:
        tickets.get_ticket(session, actor=john, ticket_id=foreign.id)
    with pytest.raises(NotFound) as missing:
        tickets.get_ticket(session, actor=john, ticket_id=foreign.id + 100_000)
    assert hidden.value.message == missing.value.message


def test_customer_without_company_view_sees_only_own_tickets(session, customer, make_ticket):
    loner = customers.create_customer_user(
        session,
        actor=SYSTEM,
        email="lone.wolf@acme.example",
        company=customer("john.doe@acme.example").company,
        sees_company_tickets=False,
    )
    own = make_ticket("Raw", customer_email="lone.wolf@acme.example")
    colleague = make_ticket("Raw", customer_email="john.doe@acme.example")

    assert list(tickets.list_tickets(session, actor=loner, limit=500)) == [own]
    with pytest.raises(NotFound):
        tickets.get_ticket(session, actor=loner, ticket_id=colleague.id)
    # John, with the default, still sees the loner's ticket: it belongs to ACME.
    assert own in tickets.list_tickets(session, actor=customer("john.doe@acme.example"), limit=500)


def test_an_invalid_customer_sees_nothing(session, customer, make_ticket):
    john = customer("john.doe@acme.example")
    own = make_ticket("Raw", customer_email="john.doe@acme.example")
    john.valid = False
    session.flush()

    assert list(tickets.list_tickets(session, actor=john, limit=500)) == []
    with pytest.raises(NotFound):
        tickets.get_ticket(session, actor=john, ticket_id=own.id)


def test_customer_sees_only_customer_visible_articles(session, agent, customer, make_ticket):
    ticket = make_ticket("1st level")
    note = _note(session, agent("alice"), ticket)
    reply = _reply(session, agent("alice"), ticket)

    for_customer = articles.list_articles(session, actor=customer("john.doe@acme.example"), ticket=ticket)
    for_agent = articles.list_articles(session, actor=agent("alice"), ticket=ticket)

    assert note not in for_customer
    assert reply in for_customer
    assert all(a.is_visible_for_customer for a in for_customer)
    assert note in for_agent
    assert len(for_agent) == len(for_customer) + 1


def test_customer_cannot_read_articles_of_another_companys_ticket(session, customer, make_ticket):
    foreign = make_ticket("Raw", customer_email="ivan.petrov@globex.example")
    with pytest.raises(NotFound):
        articles.list_articles(session, actor=customer("john.doe@acme.example"), ticket=foreign)


# --- the trainee: ro, note, create on 1st level ----------------------------------------


def test_trainee_creates_and_notes_but_cannot_reply_move_or_close(session, agent, queue, customer, state):
    trainee = agent("trainee")
    ticket = tickets.create_ticket(
        session,
        actor=trainee,
        title="Phone: mouse broken",
        queue=queue("1st level"),
        customer_user=customer("john.doe@acme.example"),
    )
    _note(session, trainee, ticket)

    with pytest.raises(PermissionDenied):
        _reply(session, trainee, ticket)
    with pytest.raises(PermissionDenied):
        tickets.move(session, actor=trainee, ticket=ticket, queue=queue("2nd level"))
    with pytest.raises(PermissionDenied):
        tickets.set_state(session, actor=trainee, ticket=ticket, state=state("closed successful"))
    assert ticket.queue.name == "1st level"
    assert ticket.state.name == "new"
    assert [a.channel for a in articles.list_articles(session, actor=trainee, ticket=ticket)] == ["note"]


def test_trainee_cannot_create_outside_first_level(session, agent, queue):
    with pytest.raises(PermissionDenied):
        tickets.create_ticket(session, actor=agent("trainee"), title="Elsewhere", queue=queue("2nd level"))


# --- the secretary: triage from Raw ----------------------------------------------------


def test_secretary_moves_raw_to_second_level_but_not_into_board(session, agent, queue, make_ticket):
    secretary = agent("secretary")
    ticket = make_ticket("Raw")

    with pytest.raises(PermissionDenied):
        tickets.move(session, actor=secretary, ticket=ticket, queue=queue("Board"))
    assert ticket.queue.name == "Raw"

    tickets.move(session, actor=secretary, ticket=ticket, queue=queue("2nd level"))
    assert ticket.queue.name == "2nd level"


def test_moving_needs_move_into_on_the_source_queue_too(session, agent, queue, make_ticket):
    # Alice has ro + move_into on Raw and rw on 1st level, but nothing on Finance.
    ticket = make_ticket("Finance", customer_email="jane.roe@acme.example")
    with pytest.raises(PermissionDenied):
        tickets.move(session, actor=agent("alice"), ticket=ticket, queue=queue("1st level"))
    assert ticket.queue.name == "Finance"


# --- owners ------------------------------------------------------------------------------


def test_set_owner_refuses_an_owner_without_the_owner_right(session, agent, make_ticket):
    ticket = make_ticket("1st level")
    with pytest.raises(ValidationError) as refused:
        tickets.set_owner(session, actor=agent("alice"), ticket=ticket, owner=agent("trainee"))
    assert "owner" in refused.value.errors
    assert ticket.owner is None

    tickets.set_owner(session, actor=agent("alice"), ticket=ticket, owner=agent("alice"))
    assert ticket.owner.login == "alice"


def test_pending_reminder_is_set_by_an_agent_with_rw(session, agent, make_ticket, state):
    # The positive control of the trainee test: rw on the queue is enough to close or pend.
    ticket = make_ticket("1st level")
    tickets.set_state(
        session,
        actor=agent("alice"),
        ticket=ticket,
        state=state("pending reminder"),
        pending_until=utcnow() + timedelta(days=1),
    )
    assert ticket.state.name == "pending reminder"
