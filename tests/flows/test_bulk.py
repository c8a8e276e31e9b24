"""Bulk actions run the single use cases one by one, each item in its own savepoint."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import Conflict, PermissionDenied, ValidationError
from desk.history.models import History
from desk.ticket import service as ticket_service
from desk.ticket import states
from engine.models import HumanTask
from flows import bulk
from tests.bulk_data import twenty_tickets
from tests.inbox_data import tickets_with_triage


def _moves(session, ticket) -> list[tuple[str | None, str | None, str]]:
    rows = session.scalars(select(History).where(History.ticket_id == ticket.id, History.type == "Move"))
    return [(row.old_value, row.new_value, row.actor_name) for row in rows]


def test_a_bulk_move_of_twenty_moves_eighteen_and_reports_the_two_refused(session, agent):
    case = twenty_tickets(session)
    report = bulk.run(
        session,
        actor=agent("secretary"),
        action="move",
        ticket_ids=[t.id for t in case.tickets],
        queue_id=case.target.id,
    )
    session.flush()
    session.expire_all()

    assert len(report.done) == 18
    assert [item.number for item in report.refused] == [t.number for t in case.stuck]
    assert all(isinstance(item.error, PermissionDenied) for item in report.refused)
    assert all("Archive" in item.error.message for item in report.refused if item.error)
    assert report.target == "2nd level"
    for ticket in case.movable:
        assert ticket.queue.name == "2nd level"
        assert _moves(session, ticket) == [("Raw", "2nd level", "Sam Secretary (secretary)")]
    for ticket in case.stuck:
        assert ticket.queue.name == "Archive"
        assert _moves(session, ticket) == []


def test_a_refusal_in_the_middle_undoes_only_its_own_item(session, agent):
    """The ticket locked by someone else fails half-way; those before and after stay locked."""
    case = twenty_tickets(session, stuck_at=(19, 18))
    first, middle, last = case.movable[0], case.movable[1], case.movable[2]
    ticket_service.lock(session, actor=agent("admin"), ticket=middle)
    session.flush()
    report = bulk.run(
        session, actor=agent("secretary"), action="lock", ticket_ids=[first.id, middle.id, last.id]
    )
    session.flush()
    session.expire_all()

    assert [item.done for item in report.items] == [True, False, True]
    assert isinstance(report.items[1].error, Conflict)
    assert first.locked_by.login == last.locked_by.login == "secretary"
    assert middle.locked_by.login == "admin"
    history = session.scalars(select(History.ticket_id).where(History.type == "Lock")).all()
    assert first.id in history
    assert last.id in history


def test_a_bulk_state_change_goes_through_the_state_flow(session, agent):
    case = twenty_tickets(session)
    closed = states.get_state(session, "closed successful")
    report = bulk.run(
        session,
        actor=agent("secretary"),
        action="state",
        ticket_ids=[t.id for t in case.tickets[:3]],
        state_id=closed.id,
    )
    session.expire_all()
    assert len(report.done) == 3
    assert all(t.state.name == "closed successful" for t in case.tickets[:3])
    assert case.tickets[3].state.name != "closed successful"


def test_claiming_tasks_in_bulk_claims_each_one(session, agent):
    made = tickets_with_triage(session, 3)
    tasks = session.scalars(
        select(HumanTask).where(HumanTask.ticket_id.in_([t.id for t in made])).order_by(HumanTask.id)
    ).all()
    report = bulk.run(session, actor=agent("secretary"), action="claim", task_ids=[t.id for t in tasks])
    session.expire_all()
    assert len(report.done) == 3
    assert {t.claimed_by_id for t in tasks} == {agent("secretary").id}


def test_tickets_the_agent_may_not_read_are_reported_by_id_only(session, agent):
    case = twenty_tickets(session)
    report = bulk.run(
        session, actor=agent("alice"), action="move", ticket_ids=[case.stuck[0].id], queue_id=case.target.id
    )
    assert report.refused[0].number == f"#{case.stuck[0].id}"
    assert report.refused[0].title == ""


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"action": "delete", "ticket_ids": [1]}, "action"),
        ({"action": "move", "ticket_ids": []}, "items"),
        ({"action": "move", "ticket_ids": [1]}, "queue"),
        ({"action": "claim", "ticket_ids": [1]}, "items"),
        ({"action": "lock", "ticket_ids": list(range(1, 102))}, "items"),
    ],
)
def test_a_bad_request_does_nothing_and_names_the_field(session, agent, kwargs, field):
    with pytest.raises(ValidationError) as raised:
        bulk.run(session, actor=agent("secretary"), **kwargs)
    assert field in raised.value.errors
