"""The unit of work's permission memo (issue 16): kept across writes that cannot change a
right, dropped by every one that can, so a check after a change in the same transaction
sees it; the navigation's group questions send no statement of their own."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from core.db import session_scope, utcnow
from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.agent.models import Group, Role
from desk.permission import service as permissions
from desk.team import service as teams
from desk.ticket import service as tickets
from desk.ticket.models import Ticket
from reports import access
from tests.query_count import count_statements, page_statements


def _group(session, name: str) -> Group:
    return session.scalars(select(Group).where(Group.name == name)).one()


def test_a_ticket_change_keeps_the_memo_and_a_grant_drops_it(session, engine, agent, queue):
    permissions.cache_in(session)
    alice = agent("alice")
    finance = _group(session, "finance")
    permissions.group_permissions(session, alice)
    ticket = session.scalars(select(Ticket).order_by(Ticket.id)).first()
    assert ticket is not None

    # Changing a ticket (flushed, and a bulk UPDATE of the ticket table) cannot change a right.
    ticket.title = "Renamed while the memo is warm"
    session.flush()
    session.execute(update(Ticket).where(Ticket.id == ticket.id).values(title="Renamed again"))
    with count_statements(engine) as statements:
        permissions.group_permissions(session, alice)
    assert page_statements(statements) == []

    # A grant in the same unit of work is seen by the next check.
    assert "rw" not in permissions.group_permissions(session, alice).get(finance.id, set())
    agents.grant_group(session, actor=SYSTEM, agent=alice, group=finance, permissions=["rw"])
    assert "rw" in permissions.group_permissions(session, alice)[finance.id]


def test_a_role_or_a_temporary_membership_given_meanwhile_counts(session, agent, queue):
    permissions.cache_in(session)
    alice = agent("alice")
    target = queue("Board::Treasurer")
    assert not permissions.has_queue_permission(session, alice, target, "rw")

    teams.pull_in(session, actor=SYSTEM, agent=alice, queue=target, until=utcnow() + timedelta(hours=1))
    assert permissions.has_queue_permission(session, alice, target, "rw")

    bob = agent("bob")
    role = agents.create_role(session, actor=SYSTEM, name="Treasury helpers")
    agents.grant_role_group(session, actor=SYSTEM, role=role, group=target.group, permissions=["note"])
    assert not permissions.has_queue_permission(session, bob, target, "note")
    bob.roles.append(session.get_one(Role, role.id))  # through the relationship, no AgentRole object
    assert permissions.has_queue_permission(session, bob, target, "note")


def test_a_savepoint_rolled_back_takes_its_grant_with_it(session, agent):
    permissions.cache_in(session)
    alice = agent("alice")
    finance = _group(session, "finance")
    with session.begin_nested() as savepoint:
        agents.grant_group(session, actor=SYSTEM, agent=alice, group=finance, permissions=["rw"])
        assert "rw" in permissions.group_permissions(session, alice)[finance.id]
        savepoint.rollback()
    assert "rw" not in permissions.group_permissions(session, alice).get(finance.id, set())


def test_the_navigation_questions_are_answered_from_the_rights(session, engine, agent):
    permissions.cache_in(session)
    admin, secretary = agent("admin"), agent("secretary")
    for someone in (admin, secretary):
        permissions.group_permissions(session, someone)
    with count_statements(engine) as statements:
        answers = {
            someone.login: (permissions.is_admin(session, someone), access.may_read(session, someone))
            for someone in (admin, secretary)
        }
    assert page_statements(statements) == []
    assert answers == {"admin": (True, True), "secretary": (False, False)}
    # Without the memo the same answers, from the database.
    session.info.clear()
    assert permissions.is_admin(session, admin)
    assert not permissions.is_admin(session, secretary)

    # A stats grant in the same unit of work is seen.
    permissions.cache_in(session)
    stats = session.scalars(select(Group).where(Group.name == "stats")).first()
    if stats is None:
        stats = agents.create_group(session, actor=SYSTEM, name="stats")
    agents.grant_group(session, actor=SYSTEM, agent=secretary, group=stats, permissions=["ro"])
    assert access.may_read(session, secretary)


def test_a_job_or_a_command_reads_the_rights_once_per_unit_of_work(session, engine, agent):
    # session_scope opts in (the composition root's hook), like a web request.
    session.commit()
    from sqlalchemy.orm import sessionmaker

    factory = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint")
    with session_scope(factory) as work:
        alice = work.get_one(type(agent("alice")), agent("alice").id)
        ticket = work.scalars(select(Ticket).order_by(Ticket.id)).first()
        assert ticket is not None
        with count_statements(engine) as statements:
            for _ in range(3):
                permissions.can_read_ticket(work, alice, ticket)
                tickets.links_of(work, ticket=ticket)
        rights = [s for s in page_statements(statements) if "agent_group_permission" in s]
        assert len(rights) == 1
