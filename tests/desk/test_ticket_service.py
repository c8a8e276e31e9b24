"""How tickets behave: locks, states, validation, merge, link, split, customers, reopen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.db import utcnow
from core.errors import NotFound, PermissionDenied, ValidationError
from desk.actor import SYSTEM
from desk.article import service as articles
from desk.article.service import AttachmentDraft
from desk.blob import service as blobs
from desk.ticket import service as tickets
from desk.ticket.errors import TicketLocked, TicketMerged


def _reply(session, actor, ticket, text="Try turning it off and on."):
    return articles.add_article(
        session, actor=actor, ticket=ticket, channel="email", subject="Re: help", body_text=text
    )


# --- locks (property 6 and S14) ------------------------------------------------------------


def test_a_lock_held_by_another_agent_is_refused_and_names_the_holder(session, agent, make_ticket):
    ticket = make_ticket("1st level")
    tickets.lock(session, actor=agent("alice"), ticket=ticket)

    with pytest.raises(TicketLocked, match=r"Alice First \(alice\)"):
        tickets.lock(session, actor=agent("admin"), ticket=ticket)
    with pytest.raises(TicketLocked, match="alice"):
        _reply(session, agent("admin"), ticket)

    assert ticket.locked_by.login == "alice"
    assert [a.channel for a in articles.list_articles(session, actor=SYSTEM, ticket=ticket)] == ["email"]


def test_locking_again_by_the_holder_is_harmless(session, agent, make_ticket):
    ticket = make_ticket("1st level")
    tickets.lock(session, actor=agent("alice"), ticket=ticket)
    tickets.lock(session, actor=agent("alice"), ticket=ticket)
    _reply(session, agent("alice"), ticket)
    assert ticket.locked_by.login == "alice"


def test_answering_locks_the_ticket_and_makes_the_agent_owner(session, agent, make_ticket):
    ticket = make_ticket("1st level")
    assert ticket.locked_by is None
    assert ticket.owner is None

    _reply(session, agent("alice"), ticket)

    assert ticket.locked_by.login == "alice"
    assert ticket.locked_at is not None
    assert ticket.owner.login == "alice"


def test_an_internal_note_does_not_lock(session, agent, make_ticket):
    ticket = make_ticket("1st level")
    articles.add_article(session, actor=agent("trainee"), ticket=ticket, channel="note", body_text="Hm.")
    assert ticket.locked_by is None
    assert ticket.owner is None


def test_a_note_is_allowed_while_another_agent_holds_the_lock(session, agent, make_ticket):
    ticket = make_ticket("1st level")
    tickets.lock(session, actor=agent("alice"), ticket=ticket)
    note = articles.add_article(
        session, actor=agent("trainee"), ticket=ticket, channel="note", body_text="FYI"
    )
    assert note.is_visible_for_customer is False
    assert ticket.locked_by.login == "alice"


def test_moving_releases_the_lock(session, agent, queue, make_ticket):
    ticket = make_ticket("1st level")
    _reply(session, agent("alice"), ticket)

    tickets.move(session, actor=agent("alice"), ticket=ticket, queue=queue("Raw"))

    assert ticket.locked_by is None
    assert ticket.owner.login == "alice"  # still accountable


def test_closing_releases_the_lock(session, agent, make_ticket, state):
    ticket = make_ticket("1st level")
    _reply(session, agent("alice"), ticket)

    tickets.set_state(session, actor=agent("alice"), ticket=ticket, state=state("closed successful"))

    assert ticket.locked_by is None
    assert ticket.state.type == "closed"


def test_a_pending_state_keeps_the_lock(session, agent, make_ticket, state):
    ticket = make_ticket("1st level")
    _reply(session, agent("alice"), ticket)
    tickets.set_state(
        session,
        actor=agent("alice"),
        ticket=ticket,
        state=state("pending reminder"),
        pending_until=utcnow() + timedelta(hours=2),
    )
    assert ticket.locked_by.login == "alice"


def test_any_agent_with_rw_unlocks_in_one_call(session, agent, make_agent, make_ticket):
    ticket = make_ticket("1st level")
    _reply(session, agent("alice"), ticket)
    colleague = make_agent("colleague", {"first_level": ("rw",)})

    tickets.unlock(session, actor=colleague, ticket=ticket)

    assert ticket.locked_by is None
    _reply(session, colleague, ticket, text="I take over.")
    assert ticket.locked_by.login == "colleague"


def test_unlocking_needs_rw(session, agent, make_ticket):
    ticket = make_ticket("1st level")
    _reply(session, agent("alice"), ticket)
    with pytest.raises(PermissionDenied):
        tickets.unlock(session, actor=agent("trainee"), ticket=ticket)
    assert ticket.locked_by.login == "alice"


def test_only_agents_lock(session, customer, make_ticket):
    ticket = make_ticket("1st level")
    with pytest.raises(PermissionDenied):
        tickets.lock(session, actor=customer("john.doe@acme.example"), ticket=ticket)
    with pytest.raises(PermissionDenied):
        tickets.lock(session, actor=SYSTEM, ticket=ticket)


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pending reminder", "pending auto close+", "pending auto close-"])
def test_a_pending_state_needs_a_pending_time(session, agent, make_ticket, state, name):
    ticket = make_ticket("1st level")
    with pytest.raises(ValidationError) as refused:
        tickets.set_state(session, actor=agent("alice"), ticket=ticket, state=state(name))
    assert "pending_until" in refused.value.errors
    assert ticket.state.name == "new"


def test_a_naive_pending_time_is_refused(session, agent, make_ticket, state):
    ticket = make_ticket("1st level")
    with pytest.raises(ValidationError) as refused:
        tickets.set_state(
            session,
            actor=agent("alice"),
            ticket=ticket,
            state=state("pending reminder"),
            pending_until=datetime(2031, 1, 1, 9, 0),  # naive on purpose
        )
    assert "pending_until" in refused.value.errors
    assert ticket.pending_until is None


def test_a_pending_time_is_stored_and_cleared_when_the_ticket_leaves_pending(
    session, agent, make_ticket, state
):
    ticket = make_ticket("1st level")
    when = datetime(2031, 1, 1, 9, 0, tzinfo=UTC)
    tickets.set_state(
        session, actor=agent("alice"), ticket=ticket, state=state("pending reminder"), pending_until=when
    )
    assert ticket.pending_until == when

    tickets.set_state(session, actor=agent("alice"), ticket=ticket, state=state("open"), pending_until=when)
    assert ticket.pending_until is None


@pytest.mark.parametrize("priority", [0, 6, -1, True, False, 3.0, "3"])
def test_a_priority_outside_one_to_five_is_refused(session, agent, make_ticket, priority):
    ticket = make_ticket("1st level")
    with pytest.raises(ValidationError) as refused:
        tickets.set_priority(session, actor=agent("alice"), ticket=ticket, priority=priority)
    assert "priority" in refused.value.errors
    assert ticket.priority == 3


@pytest.mark.parametrize("priority", [0, 6, True])
def test_a_new_ticket_with_a_bad_priority_is_refused(session, queue, priority):
    with pytest.raises(ValidationError):
        tickets.create_ticket(session, actor=SYSTEM, title="x", queue=queue("Raw"), priority=priority)


@pytest.mark.parametrize("title", ["", "   ", "\n\t"])
def test_an_empty_title_is_refused(session, agent, queue, make_ticket, title):
    ticket = make_ticket("1st level", title="Original")
    with pytest.raises(ValidationError) as refused:
        tickets.set_title(session, actor=agent("alice"), ticket=ticket, title=title)
    assert "title" in refused.value.errors
    assert ticket.title == "Original"
    with pytest.raises(ValidationError):
        tickets.create_ticket(session, actor=SYSTEM, title=title, queue=queue("Raw"))


def test_a_long_title_is_cut_to_fit(session, queue):
    ticket = tickets.create_ticket(session, actor=SYSTEM, title="x" * 400, queue=queue("Raw"))
    assert len(ticket.title) == tickets.MAX_TITLE


# --- merge ------------------------------------------------------------------------------------


def test_a_ticket_cannot_be_merged_into_itself(session, agent, make_ticket):
    ticket = make_ticket("1st level")
    with pytest.raises(ValidationError) as refused:
        tickets.merge(session, actor=agent("alice"), ticket=ticket, into=ticket)
    assert "into" in refused.value.errors
    assert ticket.merged_into is None
    assert ticket.state.name == "new"


def _changes(world):
    session, agent, queue, state = world.session, world.agent, world.queue, world.state
    return {
        "move": lambda t: tickets.move(session, actor=agent("alice"), ticket=t, queue=queue("Raw")),
        "lock": lambda t: tickets.lock(session, actor=agent("alice"), ticket=t),
        "set_state": lambda t: tickets.set_state(
            session, actor=agent("alice"), ticket=t, state=state("open")
        ),
        "set_priority": lambda t: tickets.set_priority(session, actor=agent("alice"), ticket=t, priority=5),
        "set_title": lambda t: tickets.set_title(session, actor=agent("alice"), ticket=t, title="Again"),
        "set_owner": lambda t: tickets.set_owner(
            session, actor=agent("alice"), ticket=t, owner=agent("alice")
        ),
        "note": lambda t: articles.add_article(
            session, actor=agent("alice"), ticket=t, channel="note", body_text="late"
        ),
        "customer mail": lambda t: articles.add_article(
            session, actor=SYSTEM, ticket=t, channel="email", sender_type="customer", body_text="late"
        ),
    }


CHANGES = ["move", "lock", "set_state", "set_priority", "set_title", "set_owner", "note", "customer mail"]


@pytest.mark.parametrize("change", CHANGES)
def test_a_merged_ticket_takes_no_more_changes(session, world, change):
    duplicate, target = world.make_ticket("1st level"), world.make_ticket("1st level")
    tickets.merge(session, actor=world.agent("alice"), ticket=duplicate, into=target)

    with pytest.raises(TicketMerged):
        _changes(world)[change](duplicate)
    assert duplicate.state.type == "merged"
    assert duplicate.queue.name == "1st level"


def test_nothing_merges_into_a_merged_ticket(session, agent, make_ticket):
    duplicate, target, third = make_ticket("1st level"), make_ticket("1st level"), make_ticket("1st level")
    tickets.merge(session, actor=agent("alice"), ticket=duplicate, into=target)
    with pytest.raises(TicketMerged):
        tickets.merge(session, actor=agent("alice"), ticket=third, into=duplicate)
    assert third.merged_into is None


def test_merging_a_locked_ticket_releases_its_lock(session, agent, make_ticket):
    duplicate, target = make_ticket("1st level"), make_ticket("1st level")
    tickets.lock(session, actor=agent("alice"), ticket=duplicate)
    tickets.merge(session, actor=agent("alice"), ticket=duplicate, into=target)
    assert duplicate.locked_by is None


# --- links -------------------------------------------------------------------------------------


def test_link_is_idempotent_and_records_parent_and_child(session, agent, make_ticket):
    alice = agent("alice")
    problem, incident = make_ticket("1st level", title="Outage"), make_ticket("1st level")

    first = tickets.link(session, actor=alice, source=problem, target=incident, kind="parent_child")
    second = tickets.link(session, actor=alice, source=problem, target=incident, kind="parent_child")

    assert first.id == second.id
    links = tickets.links_of(session, ticket=incident)
    assert [(lk.source_ticket_id, lk.target_ticket_id, lk.kind) for lk in links] == [
        (problem.id, incident.id, "parent_child")
    ]
    assert links[0].created_by_id == alice.id
    assert tickets.links_of(session, ticket=problem) == links


def test_a_normal_link_is_separate_from_a_parent_child_link(session, agent, make_ticket):
    a, b = make_ticket("1st level"), make_ticket("1st level")
    tickets.link(session, actor=agent("alice"), source=a, target=b)
    tickets.link(session, actor=agent("alice"), source=a, target=b, kind="parent_child")
    assert sorted(lk.kind for lk in tickets.links_of(session, ticket=a)) == ["normal", "parent_child"]


def test_bad_links_are_refused(session, agent, make_ticket):
    a, b = make_ticket("1st level"), make_ticket("1st level")
    with pytest.raises(ValidationError):
        tickets.link(session, actor=agent("alice"), source=a, target=a)
    with pytest.raises(ValidationError):
        tickets.link(session, actor=agent("alice"), source=a, target=b, kind="sibling")
    assert tickets.links_of(session, ticket=a) == []


def test_linking_to_an_unreadable_ticket_is_refused(session, agent, make_ticket):
    mine, board = make_ticket("1st level"), make_ticket("Board", customer_email=None)
    with pytest.raises(PermissionDenied):
        tickets.link(session, actor=agent("alice"), source=mine, target=board)
    assert tickets.links_of(session, ticket=mine) == []


# --- split --------------------------------------------------------------------------------------


def test_split_copies_the_article_into_a_new_child_ticket(session, agent, make_ticket):
    alice = agent("alice")
    origin = make_ticket("1st level", title="Two problems")
    mail = articles.add_article(
        session,
        actor=SYSTEM,
        ticket=origin,
        channel="email",
        sender_type="customer",
        visible_for_customer=True,
        subject="Also: the scanner",
        body_text="And the scanner is broken too.",
        message_id="<second@customer.example>",
        in_reply_to="<first@customer.example>",
        attachments=[
            AttachmentDraft("scan.pdf", "application/pdf", b"%PDF scan"),
            AttachmentDraft("logo.png", "image/png", b"\x89PNG", is_inline=True, content_id="logo"),
        ],
    )

    child = articles.split(session, actor=alice, article=mail)

    assert child.id != origin.id
    assert child.number != origin.number
    assert child.title == "Also: the scanner"
    assert child.queue.name == "1st level"
    assert child.customer_user_id == origin.customer_user_id
    [copy] = articles.list_articles(session, actor=SYSTEM, ticket=child)
    assert copy.id != mail.id
    assert (copy.subject, copy.body_text, copy.is_visible_for_customer) == (
        mail.subject,
        mail.body_text,
        True,
    )
    assert copy.message_id is None  # the original keeps its Message-ID for threading
    assert copy.in_reply_to == "<first@customer.example>"
    assert [(a.filename, a.content_type, a.is_inline, a.content_id) for a in copy.attachments] == [
        ("scan.pdf", "application/pdf", False, None),
        ("logo.png", "image/png", True, "logo"),
    ]
    assert blobs.read(session, sha256=copy.attachments[0].blob_sha256) == b"%PDF scan"
    # The original is untouched and is the parent of the new ticket.
    assert mail in articles.list_articles(session, actor=SYSTEM, ticket=origin)
    assert mail.message_id == "<second@customer.example>"
    assert [
        (lk.source_ticket_id, lk.target_ticket_id, lk.kind) for lk in tickets.links_of(session, ticket=child)
    ] == [(origin.id, child.id, "parent_child")]


def test_split_into_another_queue_with_a_title(session, agent, queue, make_ticket):
    origin = make_ticket("1st level")
    child = articles.split(
        session, actor=agent("admin"), article=origin.articles[0], title="Scanner", queue=queue("2nd level")
    )
    assert (child.title, child.queue.name) == ("Scanner", "2nd level")


def test_split_needs_rw_on_the_original_queue(session, agent, make_ticket):
    origin = make_ticket("1st level")
    with pytest.raises(PermissionDenied):
        articles.split(session, actor=agent("trainee"), article=origin.articles[0])
    assert tickets.links_of(session, ticket=origin) == []


# --- customers --------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["email", "web"])
def test_a_customer_writes_by_mail_or_portal_and_sees_it(session, customer, make_ticket, channel):
    john = customer("john.doe@acme.example")
    ticket = make_ticket("1st level")

    article = articles.add_article(
        session, actor=john, ticket=ticket, channel=channel, body_text="Any news?", visible_for_customer=False
    )

    assert (article.sender_type, article.is_visible_for_customer) == ("customer", True)
    assert article.created_by_customer_id == john.id
    assert article in articles.list_articles(session, actor=john, ticket=ticket)


@pytest.mark.parametrize("channel", ["note", "phone", "system"])
def test_a_customer_cannot_write_other_kinds_of_articles(session, customer, make_ticket, channel):
    john = customer("john.doe@acme.example")
    ticket = make_ticket("1st level")
    with pytest.raises(PermissionDenied):
        articles.add_article(session, actor=john, ticket=ticket, channel=channel, body_text="x")
    assert len(articles.list_articles(session, actor=SYSTEM, ticket=ticket)) == 1


def test_a_customer_writes_to_a_colleagues_ticket_but_not_to_another_companys(session, customer, make_ticket):
    john = customer("john.doe@acme.example")
    colleague = make_ticket("Finance", customer_email="jane.roe@acme.example")
    foreign = make_ticket("Raw", customer_email="ivan.petrov@globex.example")

    articles.add_article(session, actor=john, ticket=colleague, channel="web", body_text="Me too.")
    with pytest.raises(NotFound):  # as if the ticket did not exist
        articles.add_article(session, actor=john, ticket=foreign, channel="web", body_text="Hi Ivan")
    assert len(articles.list_articles(session, actor=SYSTEM, ticket=foreign)) == 1


def test_a_customer_ticket_is_for_the_customer_who_opens_it(session, customer, queue):
    john = customer("john.doe@acme.example")
    ticket = tickets.create_ticket(
        session,
        actor=john,
        title="Portal request",
        queue=queue("Raw"),
        customer_user=customer("ivan.petrov@globex.example"),
    )
    assert ticket.customer_user_id == john.id
    assert ticket.customer_company.customer_id == "ACME"


# --- close and reopen (S8, S2) -----------------------------------------------------------------------


def test_reopening_a_closed_ticket_sets_it_open(session, agent, make_ticket, state):
    ticket = make_ticket("1st level")
    tickets.set_state(session, actor=agent("alice"), ticket=ticket, state=state("closed successful"))

    tickets.reopen(session, actor=SYSTEM, ticket=ticket)

    assert ticket.state.name == "open"
    assert ticket.state.type == "open"


def test_reopen_leaves_a_ticket_that_is_not_closed_alone(session, make_ticket, state):
    ticket = make_ticket("1st level")
    tickets.reopen(session, actor=SYSTEM, ticket=ticket)
    assert ticket.state.name == "new"


def test_a_closed_ticket_keeps_its_articles_and_stays_findable(session, agent, make_ticket, state):
    ticket = make_ticket("1st level")
    _reply(session, agent("alice"), ticket)
    tickets.set_state(session, actor=agent("alice"), ticket=ticket, state=state("closed successful"))

    found = tickets.get_by_number(session, actor=agent("alice"), number=ticket.number)
    closed = tickets.list_tickets(session, actor=agent("alice"), state_types=["closed"], limit=500)

    assert found is ticket
    assert ticket in closed
    assert len(articles.list_articles(session, actor=SYSTEM, ticket=ticket)) == 2


def test_a_customer_reopens_their_own_closed_ticket_but_not_anothers(
    session, agent, customer, make_ticket, state
):
    ticket = make_ticket("1st level", customer_email="john.doe@acme.example")
    tickets.set_state(session, actor=agent("alice"), ticket=ticket, state=state("closed successful"))

    with pytest.raises(NotFound):
        tickets.reopen(session, actor=customer("ivan.petrov@globex.example"), ticket=ticket)
    assert ticket.state.type == "closed"

    tickets.reopen(session, actor=customer("john.doe@acme.example"), ticket=ticket)
    assert ticket.state.name == "open"


def test_tickets_of_different_customers_are_linked_not_merged(session, agent, make_ticket):
    johns = make_ticket("1st level", customer_email="john.doe@acme.example")
    ivans = make_ticket("1st level", customer_email="ivan.petrov@globex.example")

    with pytest.raises(ValidationError, match="invalid merge") as refused:
        tickets.merge(session, actor=agent("alice"), ticket=johns, into=ivans)

    assert "link them instead" in refused.value.errors["into"][0]
    assert johns.merged_into is None
    assert len(articles.list_articles(session, actor=SYSTEM, ticket=ivans)) == 1


def test_a_concurrent_stale_update_is_a_conflict_not_a_crash():
    """Two agents load the same ticket; the second save must not overwrite the first."""
    from core.db import make_engine, make_sessionmaker, session_scope
    from core.errors import Conflict
    from core.migrate import upgrade
    from desk.demo import seed_demo
    from desk.queue.models import Queue
    from desk.ticket.models import Ticket
    from tests.conftest import WORKER, create_pg_database

    engine = make_engine(create_pg_database(f"tf_stale_{WORKER}"))
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with session_scope(factory) as setup:
        seed_demo(setup)
        raw = setup.query(Queue).filter_by(name="Raw").one()
        ticket_id = tickets.create_ticket(setup, actor=SYSTEM, title="Shared", queue=raw).id
    first, second = factory(), factory()
    try:
        mine, theirs = first.get(Ticket, ticket_id), second.get(Ticket, ticket_id)
        theirs.priority = 5
        second.commit()
        mine.priority = 1

        def save_stale() -> None:
            with session_scope(lambda: first):
                pass

        with pytest.raises(Conflict, match="someone else changed this"):
            save_stale()
    finally:
        first.close()
        second.close()
        engine.dispose()
    with session_scope(factory) as check:
        assert check.get(Ticket, ticket_id).priority == 5
