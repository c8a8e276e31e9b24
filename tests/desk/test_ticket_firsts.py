"""The stored first answer and first close equal what the statistics computed before 0024.

Until migration 0024 ``reports.figures.response_and_solution_times`` took, on every call, the
first customer-visible agent article and the first history row that set a closed state.  The
ticket now stores both (``desk.ticket.firsts``); a seeded day of tickets, with internal notes,
customer messages, two closes with a reopen between, a merge and a split, must give the same
moments, the same figure, and the migration's backfill the same values.
"""

from __future__ import annotations

import importlib.util
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType

import time_machine
from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from desk.actor import SYSTEM
from desk.agent.models import Agent
from desk.article.models import Article
from desk.customer.models import CustomerUser
from desk.history.models import History
from desk.queue.models import Queue
from desk.ticket import service as tickets
from desk.ticket import states
from desk.ticket.models import State, Ticket
from flows import customer_message, merge, note, reply, state
from flows.drafts import ArticleDraft
from flows.open_ticket import open_ticket
from reports import figures

DAY = date(2026, 7, 1)
MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0024_stats_rollup.py"


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=UTC)


def old_first_response(session: Session, ticket: Ticket) -> datetime | None:
    """The figure's first answer before 0024: the first agent article the customer sees."""
    return session.scalar(
        select(func.min(Article.created_at)).where(
            Article.ticket_id == ticket.id,
            Article.sender_type == "agent",
            Article.is_visible_for_customer.is_(True),
        )
    )


def old_first_close(session: Session, ticket: Ticket) -> datetime | None:
    """The figure's first close before 0024: the first history row that set a closed state."""
    return session.scalar(
        select(func.min(History.created_at))
        .join(State, and_(State.name == History.new_value, State.type == "closed"))
        .where(History.ticket_id == ticket.id, History.type == "StateUpdate")
    )


def aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Day:
    """The seeded tickets by what happened to them."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.queue = session.scalars(select(Queue).where(Queue.name == "1st level")).one()
        self.customer = session.scalars(
            select(CustomerUser).where(CustomerUser.email == "john.doe@acme.example")
        ).one()
        self.alice = session.scalars(select(Agent).where(Agent.login == "alice")).one()

    def open(self, hour: int, minute: int = 0, title: str = "Printer") -> Ticket:
        with time_machine.travel(at(hour, minute), tick=False):
            return open_ticket(
                self.session,
                actor=SYSTEM,
                queue=self.queue,
                title=title,
                customer_user=self.customer,
                first=ArticleDraft(
                    channel="email",
                    sender_type="customer",
                    visible_for_customer=True,
                    subject=title,
                    body_text="Please help.",
                    from_addr=self.customer.email,
                ),
            ).ticket

    def then(self, hour: int, minute: int, action: object) -> None:
        with time_machine.travel(at(hour, minute), tick=False):
            assert callable(action)
            action()


def seed(session: Session) -> dict[str, Ticket]:
    """Five tickets of DAY; the comments say which moments the figure must see."""
    day = Day(session)
    alice = day.alice
    reopened = day.open(9)
    # An internal note and the customer's own message are not answers.
    day.then(9, 10, lambda: note.note(session, actor=alice, ticket=reopened, body_text="Checking."))
    day.then(
        9,
        20,
        lambda: customer_message.customer_message(
            session,
            actor=SYSTEM,
            ticket=reopened,
            draft=ArticleDraft(
                channel="email",
                sender_type="customer",
                visible_for_customer=True,
                subject="More",
                body_text="It still prints empty pages.",
                from_addr=day.customer.email,
            ),
        ),
    )
    day.then(9, 40, lambda: reply.reply(session, actor=alice, ticket=reopened, body_text="Fixed."))  # 40 min
    day.then(10, 0, lambda: reply.reply(session, actor=alice, ticket=reopened, body_text="Anything else?"))
    day.then(11, 0, lambda: state.close(session, actor=alice, ticket=reopened))  # 120 min, the first close
    open_state = states.first_state_of_type(session, "open")
    day.then(12, 0, lambda: state.set_state(session, actor=alice, ticket=reopened, state=open_state))
    day.then(13, 0, lambda: state.close(session, actor=alice, ticket=reopened))  # a second close: not counted

    noted = day.open(10)  # only internal notes: solved, never answered
    day.then(10, 30, lambda: note.note(session, actor=alice, ticket=noted, body_text="Internal only."))
    day.then(12, 30, lambda: state.close(session, actor=alice, ticket=noted))

    phoned = day.open(11)  # a phone call with the customer is an answer
    day.then(11, 15, lambda: note.phone_note(session, actor=alice, ticket=phoned, body_text="Called back."))
    day.then(
        11,
        30,
        lambda: note.note(session, actor=alice, ticket=phoned, body_text="Seen.", visible_for_customer=True),
    )

    merged = day.open(8, title="Scanner")  # answered, then merged into a later ticket
    day.then(8, 30, lambda: reply.reply(session, actor=alice, ticket=merged, body_text="On it."))
    target = day.open(12, title="Scanner again")
    day.then(12, 10, lambda: merge.merge(session, actor=alice, ticket=merged, into=target))

    # A split copies the answer into a child ticket, where it is the first answer too.
    answer = session.scalars(
        select(Article).where(Article.ticket_id == phoned.id, Article.channel == "phone").order_by(Article.id)
    ).first()
    assert answer is not None
    holder: dict[str, Ticket] = {}
    day.then(14, 0, lambda: holder.update(child=merge.split(session, actor=alice, article=answer)))
    session.flush()
    return {
        "reopened": reopened,
        "noted": noted,
        "phoned": phoned,
        "merged": merged,
        "target": target,
        "child": holder["child"],
    }


def test_the_stored_moments_are_the_ones_the_old_computation_gave(session):
    seeded = seed(session)
    session.expire_all()
    for name, ticket in seeded.items():
        assert aware(ticket.first_response_at) == aware(old_first_response(session, ticket)), name
        assert aware(ticket.first_closed_at) == aware(old_first_close(session, ticket)), name
    reopened = seeded["reopened"]
    # The reply at 9:40, not the internal note at 9:10 nor the customer's message at 9:20;
    # the first close at 11:00 survives the reopen and the second close at 13:00.
    assert aware(reopened.first_response_at) == at(9, 40)
    assert aware(reopened.first_closed_at) == at(11)
    assert seeded["noted"].first_response_at is None
    assert aware(seeded["noted"].first_closed_at) == at(12, 30)
    assert aware(seeded["phoned"].first_response_at) == at(11, 15)
    assert seeded["phoned"].first_closed_at is None
    # The merge moved the answer (and the articles) to the target.
    assert seeded["merged"].first_response_at is None
    assert aware(seeded["target"].first_response_at) == at(8, 30)
    assert aware(seeded["child"].first_response_at) == at(14)


def test_the_figure_gives_the_numbers_of_the_old_computation(session):
    seeded = seed(session)
    session.expire_all()
    responses, solutions = [], []
    for ticket in seeded.values():
        answered, closed = old_first_response(session, ticket), old_first_close(session, ticket)
        created = aware(ticket.created_at)
        assert created is not None
        if answered is not None:
            responses.append(round((aware(answered) - created).total_seconds() / 60, 1))
        if closed is not None:
            solutions.append(round((aware(closed) - created).total_seconds() / 60, 1))
    expected = (
        "1st level",
        len(responses),
        *figures.median_p90(responses),
        len(solutions),
        *figures.median_p90(solutions),
    )
    chosen = figures.Filters(start=DAY, end=DAY + timedelta(days=1), queue_ids=[seeded["reopened"].queue_id])
    table = figures.response_and_solution_times(session, chosen)
    assert table.rows == [expected]
    # 40 (reply), 15 (phone), -210 (the merged ticket's answer came before the target),
    # 0 (the split child's copy); closes after 120 and 150 minutes.
    assert sorted(responses) == [-210.0, 0.0, 15.0, 40.0]
    assert table.rows[0][1:4] == (4, 7.5, 40.0)
    assert table.rows[0][4:] == (2, 135.0, 150.0)


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stats_rollup_0024", MIGRATION)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_backfills_the_same_moments(session):
    seeded = seed(session)
    stored = {name: (aware(t.first_response_at), aware(t.first_closed_at)) for name, t in seeded.items()}
    ids = [t.id for t in seeded.values()]
    session.execute(
        update(Ticket)
        .where(Ticket.id.in_(ids))
        .values(first_response_at=None, first_closed_at=None)
        .execution_options(synchronize_session=False)
    )
    _migration().backfill(session.connection(), low=min(ids) - 1, high=max(ids))
    session.expire_all()
    refilled = {
        name: (
            aware(session.get(Ticket, t.id).first_response_at),
            aware(session.get(Ticket, t.id).first_closed_at),
        )
        for name, t in seeded.items()
    }
    assert refilled == stored
    assert refilled["reopened"] == (at(9, 40), at(11))


def test_a_customer_reopen_keeps_the_first_close(session):
    day = Day(session)
    ticket = day.open(9)
    day.then(10, 0, lambda: state.close(session, actor=day.alice, ticket=ticket))
    day.then(11, 0, lambda: tickets.reopen(session, actor=day.customer, ticket=ticket))
    day.then(12, 0, lambda: state.close(session, actor=day.alice, ticket=ticket))
    session.expire_all()
    assert aware(ticket.first_closed_at) == at(10)
