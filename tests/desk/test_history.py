"""Every ticket service writes its history rows: what changed, from what, to what, and by whom."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from core.errors import DeletionForbidden
from desk.actor import SYSTEM
from desk.article import service as articles
from desk.article.service import AttachmentDraft
from desk.history import service as history
from desk.history.models import History
from desk.ticket import service as tickets
from desk.ticket.models import Ticket, TicketType
from tests.desk.conftest import World

PENDING_UNTIL = datetime(2031, 5, 6, 7, 8, tzinfo=UTC)


@dataclass
class Row:
    """An expected history row (and the article it is about, when there is one)."""

    ticket: Ticket
    type: str
    old: str | None = None
    new: str | None = None
    article: Any = None


# A case prepares a ticket, then returns the actor and the action; the action does one thing
# and returns the rows it must write, in order.  Rows written while preparing do not count.
Action = Callable[[], list[Row]]
Case = Callable[[World], tuple[Any, Action]]


def create_ticket(w: World):
    alice = w.agent("alice")

    def act():
        ticket = tickets.create_ticket(w.session, actor=alice, title="New laptop", queue=w.queue("1st level"))
        return [Row(ticket, "NewTicket", None, f"{ticket.number} in 1st level, state new, priority 3")]

    return alice, act


def add_note(w: World):
    alice, ticket = w.agent("alice"), w.make_ticket("1st level")

    def act():
        note = articles.add_article(
            w.session, actor=alice, ticket=ticket, channel="note", body_text="Looked at it."
        )
        return [Row(ticket, "AddNote", None, f"article {note.id}: note", article=note)]

    return alice, act


def add_reply(w: World):
    alice, ticket = w.agent("alice"), w.make_ticket("1st level")

    def act():
        reply = articles.add_article(
            w.session, actor=alice, ticket=ticket, channel="email", subject="Re: fire", body_text="Water."
        )
        return [
            Row(ticket, "Lock", "unlock", "lock"),
            Row(ticket, "OwnerUpdate", None, "alice"),
            Row(ticket, "SendAnswer", None, f"article {reply.id}: Re: fire", article=reply),
        ]

    return alice, act


def add_phone_note_with_attachment(w: World):
    alice, ticket = w.agent("alice"), w.make_ticket("1st level")

    def act():
        call = articles.add_article(
            w.session,
            actor=alice,
            ticket=ticket,
            channel="phone",
            body_text="Called the customer.",
            attachments=[AttachmentDraft("call.txt", "text/plain", b"notes")],
        )
        return [
            Row(ticket, "Lock", "unlock", "lock"),
            Row(ticket, "OwnerUpdate", None, "alice"),
            Row(ticket, "PhoneCallAgent", None, f"article {call.id}: phone", article=call),
        ]

    return alice, act


def customer_first_mail(w: World):
    john = w.customer("john.doe@acme.example")
    ticket = w.make_ticket("Raw", with_article=False)

    def act():
        mail = articles.add_article(
            w.session, actor=john, ticket=ticket, channel="email", subject="Hi", body_text="1"
        )
        return [Row(ticket, "EmailCustomer", None, f"article {mail.id}: Hi", article=mail)]

    return john, act


def customer_follow_up(w: World):
    john = w.customer("john.doe@acme.example")
    ticket = w.make_ticket("Raw")  # already has the first customer mail

    def act():
        more = articles.add_article(
            w.session, actor=john, ticket=ticket, channel="web", subject="More", body_text="2"
        )
        return [Row(ticket, "FollowUp", None, f"article {more.id}: More", article=more)]

    return john, act


def move(w: World):
    secretary, ticket = w.agent("secretary"), w.make_ticket("Raw")

    def act():
        tickets.move(w.session, actor=secretary, ticket=ticket, queue=w.queue("2nd level"))
        return [Row(ticket, "Move", "Raw", "2nd level")]

    return secretary, act


def move_locked(w: World):
    alice, ticket = w.agent("alice"), w.make_ticket("1st level")
    tickets.lock(w.session, actor=alice, ticket=ticket)

    def act():
        tickets.move(w.session, actor=alice, ticket=ticket, queue=w.queue("Raw"))
        return [Row(ticket, "Move", "1st level", "Raw"), Row(ticket, "Unlock", "lock (alice)", "unlock")]

    return alice, act


def lock(w: World):
    alice, ticket = w.agent("alice"), w.make_ticket("1st level")

    def act():
        tickets.lock(w.session, actor=alice, ticket=ticket)
        return [Row(ticket, "Lock", "unlock", "lock"), Row(ticket, "OwnerUpdate", None, "alice")]

    return alice, act


def lock_by_owner(w: World):
    alice, ticket = w.agent("alice"), w.make_ticket("1st level")
    tickets.set_owner(w.session, actor=w.agent("admin"), ticket=ticket, owner=alice)

    def act():
        tickets.lock(w.session, actor=alice, ticket=ticket)
        return [Row(ticket, "Lock", "unlock", "lock")]  # already the owner: no OwnerUpdate

    return alice, act


def unlock(w: World):
    admin, ticket = w.agent("admin"), w.make_ticket("1st level")
    tickets.lock(w.session, actor=w.agent("alice"), ticket=ticket)

    def act():
        tickets.unlock(w.session, actor=admin, ticket=ticket)
        return [Row(ticket, "Unlock", "lock (alice)", "unlock")]

    return admin, act


def set_owner(w: World):
    admin, ticket = w.agent("admin"), w.make_ticket("1st level")
    tickets.set_owner(w.session, actor=admin, ticket=ticket, owner=w.agent("alice"))

    def act():
        tickets.set_owner(w.session, actor=admin, ticket=ticket, owner=admin)
        return [Row(ticket, "OwnerUpdate", "alice", "admin")]

    return admin, act


def set_responsible(w: World):
    alice, ticket = w.agent("alice"), w.make_ticket("1st level")

    def act():
        tickets.set_responsible(w.session, actor=alice, ticket=ticket, responsible=w.agent("trainee"))
        return [Row(ticket, "ResponsibleUpdate", None, "trainee")]

    return alice, act


def set_state(w: World):
    alice, ticket = w.agent("alice"), w.make_ticket("1st level")
    tickets.set_state(w.session, actor=alice, ticket=ticket, state=w.state("open"))

    def act():
        tickets.set_state(w.session, actor=alice, ticket=ticket, state=w.state("closed successful"))
        return [Row(ticket, "StateUpdate", "open", "closed successful")]

    return alice, act


def set_pending(w: World):
    alice, ticket = w.agent("alice"), w.make_ticket("1st level")

    def act():
        tickets.set_state(
            w.session,
            actor=alice,
            ticket=ticket,
            state=w.state("pending reminder"),
            pending_until=PENDING_UNTIL,
        )
        return [
            Row(ticket, "StateUpdate", "new", "pending reminder"),
            Row(ticket, "SetPendingTime", None, PENDING_UNTIL.isoformat()),
        ]

    return alice, act


def set_priority(w: World):
    alice, ticket = w.agent("alice"), w.make_ticket("1st level")

    def act():
        tickets.set_priority(w.session, actor=alice, ticket=ticket, priority=5)
        return [Row(ticket, "PriorityUpdate", "3", "5")]

    return alice, act


def set_title(w: World):
    alice, ticket = w.agent("alice"), w.make_ticket("1st level", title="Printer is on fire")

    def act():
        tickets.set_title(w.session, actor=alice, ticket=ticket, title="  Printer   smokes ")
        return [Row(ticket, "TitleUpdate", "Printer is on fire", "Printer smokes")]

    return alice, act


def set_customer(w: World):
    alice, ticket = w.agent("alice"), w.make_ticket("1st level")

    def act():
        tickets.set_customer(
            w.session, actor=alice, ticket=ticket, customer_user=w.customer("ivan.petrov@globex.example")
        )
        return [
            Row(
                ticket,
                "CustomerUpdate",
                "john.doe@acme.example / ACME",
                "ivan.petrov@globex.example / GLOBEX",
            )
        ]

    return alice, act


def set_type(w: World):
    alice, ticket = w.agent("alice"), w.make_ticket("1st level")
    incident = w.session.scalars(select(TicketType).filter_by(name="Incident")).one()

    def act():
        tickets.set_type(w.session, actor=alice, ticket=ticket, ticket_type=incident)
        tickets.set_type(w.session, actor=alice, ticket=ticket, ticket_type=None)
        return [Row(ticket, "TypeUpdate", None, "Incident"), Row(ticket, "TypeUpdate", "Incident", None)]

    return alice, act


def merge(w: World):
    alice = w.agent("alice")
    duplicate, target = w.make_ticket("1st level"), w.make_ticket("1st level")

    def act():
        tickets.merge(w.session, actor=alice, ticket=duplicate, into=target)
        return [
            Row(duplicate, "Merged", f"{duplicate.number} (new)", target.number),
            Row(target, "Merged", duplicate.number, target.number),
        ]

    return alice, act


def link(w: World):
    alice = w.agent("alice")
    problem, incident = w.make_ticket("1st level"), w.make_ticket("1st level")

    def act():
        tickets.link(w.session, actor=alice, source=problem, target=incident, kind="parent_child")
        return [
            Row(problem, "Link", None, f"parent of {incident.number}"),
            Row(incident, "Link", None, f"child of {problem.number}"),
        ]

    return alice, act


def split(w: World):
    alice, origin = w.agent("alice"), w.make_ticket("1st level")
    article = origin.articles[0]

    def act():
        child = articles.split(w.session, actor=alice, article=article)
        return [
            Row(child, "NewTicket", None, f"{child.number} in 1st level, state new, priority 3"),
            Row(origin, "Split", f"article {article.id}", child.number, article=article),
            Row(
                child,
                "Split",
                f"{origin.number} article {article.id}",
                child.number,
                article=child.articles[0],
            ),
        ]

    return alice, act


def system_close(w: World):
    ticket = w.make_ticket("1st level")

    def act():
        tickets.set_state(w.session, actor=SYSTEM, ticket=ticket, state=w.state("closed unsuccessful"))
        return [Row(ticket, "StateUpdate", "new", "closed unsuccessful")]

    return SYSTEM, act


CASES: list[Case] = [
    create_ticket,
    add_note,
    add_reply,
    add_phone_note_with_attachment,
    customer_first_mail,
    customer_follow_up,
    move,
    move_locked,
    lock,
    lock_by_owner,
    unlock,
    set_owner,
    set_responsible,
    set_state,
    set_pending,
    set_priority,
    set_title,
    set_customer,
    set_type,
    merge,
    link,
    split,
    system_close,
]

ACTOR_LABELS = {
    "alice": ("agent", "Alice First (alice)"),
    "admin": ("agent", "Ada Admin (admin)"),
    "secretary": ("agent", "Sam Secretary (secretary)"),
    "john.doe@acme.example": ("customer", "John Doe <john.doe@acme.example>"),
    "system": ("system", "system"),
}


def _actor_key(actor) -> str:
    return getattr(actor, "login", None) or getattr(actor, "name", "")


def _last_history_id(session) -> int:
    return session.scalar(select(func.coalesce(func.max(History.id), 0)))


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_each_service_writes_its_history(session, world, case):
    actor, act = case(world)
    start = _last_history_id(session)

    expected = act()

    written = session.scalars(select(History).where(History.id > start).order_by(History.id)).all()
    assert [(h.ticket_id, h.type) for h in written] == [(r.ticket.id, r.type) for r in expected]
    actor_type, actor_name = ACTOR_LABELS[_actor_key(actor)]
    for row, entry in zip(expected, written, strict=True):
        assert (entry.type, entry.old_value, entry.new_value) == (row.type, row.old, row.new)
        assert (entry.actor_type, entry.actor_name) == (actor_type, actor_name)
        assert entry.actor_id == getattr(actor, "id", None)
        if row.article is not None:
            assert entry.article_id == row.article.id
    # The same rows are what the ticket's history shows, in order.
    for ticket in {r.ticket.id: r.ticket for r in expected}.values():
        shown = [h.id for h in history.for_ticket(session, ticket=ticket) if h.id > start]
        assert shown == [h.id for h in written if h.ticket_id == ticket.id]


@pytest.mark.parametrize(
    "repeat",
    [
        pytest.param(lambda s, a, t: tickets.set_priority(s, actor=a, ticket=t, priority=3), id="priority"),
        pytest.param(lambda s, a, t: tickets.set_title(s, actor=a, ticket=t, title=t.title), id="title"),
        pytest.param(lambda s, a, t: tickets.set_state(s, actor=a, ticket=t, state=t.state), id="state"),
        pytest.param(lambda s, a, t: tickets.move(s, actor=a, ticket=t, queue=t.queue), id="move"),
        pytest.param(lambda s, a, t: tickets.set_type(s, actor=a, ticket=t, ticket_type=None), id="type"),
        pytest.param(
            lambda s, a, t: tickets.set_customer(s, actor=a, ticket=t, customer_user=t.customer_user),
            id="customer",
        ),
        pytest.param(lambda s, a, t: tickets.unlock(s, actor=a, ticket=t), id="unlock-unlocked"),
    ],
)
def test_a_call_that_changes_nothing_writes_no_row(session, agent, make_ticket, repeat):
    alice, ticket = agent("alice"), make_ticket("1st level")
    before = [h.id for h in history.for_ticket(session, ticket=ticket)]

    repeat(session, alice, ticket)

    assert [h.id for h in history.for_ticket(session, ticket=ticket)] == before


def test_same_priority_twice_writes_one_row(session, agent, make_ticket):
    alice, ticket = agent("alice"), make_ticket("1st level")
    tickets.set_priority(session, actor=alice, ticket=ticket, priority=5)
    tickets.set_priority(session, actor=alice, ticket=ticket, priority=5)

    updates = [h for h in history.for_ticket(session, ticket=ticket) if h.type == "PriorityUpdate"]
    assert [(h.old_value, h.new_value) for h in updates] == [("3", "5")]


def test_history_rows_cannot_be_changed(session, agent, make_ticket):
    ticket = make_ticket("1st level")
    tickets.set_priority(session, actor=agent("alice"), ticket=ticket, priority=5)
    entry = history.for_ticket(session, ticket=ticket)[-1]

    entry.new_value = "1"
    with pytest.raises(DeletionForbidden):
        session.flush()

    stored = (
        session.connection().execute(select(History.new_value).where(History.id == entry.id)).scalar_one()
    )
    assert stored == "5"
