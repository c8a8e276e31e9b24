"""S11: an administrator pulls an agent into an overloaded queue; the membership ends by itself
and the agent is back on the original queues; availability and the load per queue."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db import utcnow
from core.errors import PermissionDenied, ValidationError
from desk.actor import SYSTEM
from desk.audit.models import AuditEntry
from desk.permission import service as permissions
from desk.team import service as teams
from engine import inbox
from flows import state as state_flows
from flows import teams as team_flows
from flows.drafts import ArticleDraft
from flows.open_ticket import open_ticket


@pytest.fixture
def deployed(session):
    from engine import definitions

    return definitions.deploy_directory(session, actor=SYSTEM)


def _triage_ticket(session, queue, customer, title="Printer is down"):
    """A new ticket in 1st level whose Triage task waits for its queue's agents."""
    return open_ticket(
        session,
        actor=SYSTEM,
        queue=queue("1st level"),
        title=title,
        customer_user=customer("john.doe@acme.example"),
        first=ArticleDraft(
            channel="email", sender_type="customer", visible_for_customer=True, body_text="Help"
        ),
    ).ticket


def _inbox_tickets(session, agent):
    return {task.ticket_id for task in inbox.tasks_for(session, agent=agent, limit=500)}


def _audit(session, membership_id):
    return [
        (e.action, json.loads(e.new_values))
        for e in session.scalars(
            select(AuditEntry)
            .where(AuditEntry.object_type == "temporary_membership", AuditEntry.object_id == membership_id)
            .order_by(AuditEntry.id)
        )
    ]


def test_pulled_in_for_ten_minutes_sees_the_tasks_at_once_and_not_after(
    session, agent, queue, customer, deployed, time_machine
):
    time_machine.move_to(utcnow(), tick=False)
    bob, admin = agent("bob"), agent("admin")
    ticket = _triage_ticket(session, queue, customer)
    own_before = permissions.group_permissions(session, bob)
    assert ticket.id not in _inbox_tickets(session, bob)

    membership = team_flows.pull_in(
        session, actor=admin, agent=bob, queue=queue("1st level"), until=utcnow() + timedelta(minutes=10)
    )
    assert ticket.id in _inbox_tickets(session, bob)

    time_machine.shift(timedelta(minutes=9))
    assert ticket.id in _inbox_tickets(session, bob)
    assert teams.expire_memberships(session) == []

    time_machine.shift(timedelta(minutes=2))
    # Past its time the membership grants nothing, even before the job has run …
    assert ticket.id not in _inbox_tickets(session, bob)
    # … and the job records its end.
    assert teams.expire_memberships(session) == [membership.id]
    assert membership.end_reason == "the time is up"
    assert permissions.group_permissions(session, bob) == own_before
    assert [action for action, _ in _audit(session, membership.id)] == ["create", "end"]
    assert _audit(session, membership.id)[1][1] == {"reason": "the time is up"}
    # Ended memberships stay as the history.
    assert [m.id for m in teams.memberships(session, actor=admin)] == [membership.id]


def test_until_the_load_is_gone(session, agent, queue, customer, deployed):
    bob, admin = agent("bob"), agent("admin")
    first_level = queue("1st level")
    opened = [_triage_ticket(session, queue, customer, f"Outage {n}") for n in range(3)]
    base = teams.open_count(session, queue=first_level)
    membership = team_flows.pull_in(session, actor=admin, agent=bob, queue=first_level, open_below=base - 1)
    assert teams.expire_memberships(session) == []
    assert opened[0].id in _inbox_tickets(session, bob)
    for ticket in opened[:2]:
        state_flows.close(session, actor=admin, ticket=ticket)
    assert teams.expire_memberships(session) == [membership.id]
    assert membership.end_reason == f"fewer than {base - 1} open tickets in 1st level"
    assert opened[2].id not in _inbox_tickets(session, bob)


def test_only_administrators_pull_agents_in_and_rights_come_first(session, agent, queue):
    with pytest.raises(PermissionDenied):
        team_flows.pull_in(session, actor=agent("alice"), agent=agent("bob"), queue=queue("1st level"))
    with pytest.raises(ValidationError) as refused:
        team_flows.pull_in(session, actor=agent("admin"), agent=agent("bob"), queue=queue("1st level"))
    assert "until" in refused.value.errors
    with pytest.raises(ValidationError):
        team_flows.pull_in(
            session,
            actor=agent("admin"),
            agent=agent("observer"),
            queue=queue("1st level"),
            until=utcnow() + timedelta(minutes=5),
        )


def test_ended_by_hand(session, agent, queue):
    admin, bob = agent("admin"), agent("bob")
    membership = team_flows.pull_in(
        session, actor=admin, agent=bob, queue=queue("1st level"), until=utcnow() + timedelta(hours=1)
    )
    assert permissions.has_queue_permission(session, bob, queue("1st level"), "rw")
    assert team_flows.end(session, actor=admin, membership=membership)
    assert not permissions.has_queue_permission(session, bob, queue("1st level"), "rw")
    assert not team_flows.end(session, actor=admin, membership=membership)


def test_availability_is_the_agents_own_or_the_administrators(session, agent):
    alice, bob = agent("alice"), agent("bob")
    with pytest.raises(PermissionDenied):
        team_flows.set_availability(session, actor=alice, agent=bob, status="away")
    with pytest.raises(ValidationError):
        team_flows.set_availability(session, actor=bob, agent=bob, status="napping")
    with pytest.raises(ValidationError):
        team_flows.set_availability(
            session, actor=bob, agent=bob, status="away", until=utcnow() - timedelta(1)
        )
    team_flows.set_availability(session, actor=bob, agent=bob, status="background")
    assert teams.availability_of(session, agent=bob) == ("background", None)
    team_flows.set_availability(session, actor=agent("admin"), agent=bob, status="away")
    assert teams.is_away(session, agent=bob)


def test_the_load_panel(session, agent, queue, customer, deployed):
    admin, alice = agent("admin"), agent("alice")
    first_level = queue("1st level")
    ticket = _triage_ticket(session, queue, customer)
    before = {row.queue.name: row for row in team_flows.load(session, actor=admin)}["1st level"]
    _triage_ticket(session, queue, customer, "second")
    team_flows.set_availability(session, actor=alice, agent=alice, status="away")
    row = {r.queue.name: r for r in team_flows.load(session, actor=admin)}["1st level"]
    assert row.open == before.open + 1
    assert row.unclaimed == before.unclaimed + 1
    assert row.oldest_waiting is not None
    assert row.oldest_waiting <= ticket.created_at + timedelta(seconds=5)
    assert row.away == before.away + 1
    assert row.front_line == before.front_line - 1
    # A team lead sees only the queues they may read.
    lead_sees = {r.queue.name for r in team_flows.load(session, actor=alice)}
    assert first_level.name in lead_sees
    assert "Board" not in lead_sees
