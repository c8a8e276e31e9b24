"""A unit of work that opts in reads each agent's rights once, and still sees its own grants."""

from __future__ import annotations

from sqlalchemy import delete, select

from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.agent.models import AgentGroupPermission, Group
from desk.permission import service as permissions
from tests.query_count import count_statements


def test_rights_are_read_once_and_follow_the_sessions_own_changes(session, engine, agent):
    permissions.cache_in(session)
    alice = agent("alice")
    finance = session.scalars(select(Group).where(Group.name == "finance")).one()
    assert "rw" not in permissions.group_permissions(session, alice).get(finance.id, set())
    readable = permissions.queue_ids_with(session, alice, "ro")  # reads every queue once

    with count_statements(engine) as statements:
        for _ in range(5):
            permissions.group_permissions(session, alice)
            assert permissions.queue_ids_with(session, alice, "ro") == readable
    assert statements == []  # answered from the memo

    agents.grant_group(session, actor=SYSTEM, agent=alice, group=finance, permissions=["rw"])
    assert "rw" in permissions.group_permissions(session, alice)[finance.id]
    assert permissions.queue_ids_with(session, alice, "rw") >= {
        q.id for q in permissions.queues_with(session, agent("admin"), "rw") if q.group_id == finance.id
    }

    session.execute(
        delete(AgentGroupPermission).where(
            AgentGroupPermission.agent_id == alice.id, AgentGroupPermission.group_id == finance.id
        )
    )
    assert finance.id not in permissions.group_permissions(session, alice)


def test_the_rights_of_many_agents_take_one_statement(session, engine):
    everyone = agents.list_agents(session)
    assert len(everyone) > 3

    with count_statements(engine) as statements:
        held = permissions.group_permissions_of(session, everyone)

    assert len(statements) == 1
    assert set(held) == {a.id for a in everyone}
    for one in everyone:
        assert held[one.id] == permissions.group_permissions(session, one)
