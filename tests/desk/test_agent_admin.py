"""Agent, group and role administration services: rights first, validation, audit, no deletes."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from core.errors import NotFound, PermissionDenied, ValidationError
from core.security import verify_password
from desk import overview
from desk.agent import admin as agent_admin
from desk.agent import grants
from desk.agent import service as agents
from desk.agent.models import Agent, AgentSession, ApiToken
from desk.audit import service as audit
from desk.audit.models import AuditEntry
from desk.permission import explain
from desk.permission import service as permissions


def _entries(session, object_type: str, object_id: int) -> list[AuditEntry]:
    return list(audit.entries_for(session, object_type=object_type, object_id=object_id))


def admin_calls(session, agent) -> dict[str, Callable[[Any], object]]:
    """Every public function of the admin services, each with input that breaks a rule."""
    alice = agent("alice")
    raw = alice  # any existing object id will do; the right is checked before it is read
    return {
        "admin.get": lambda a: agent_admin.get(session, actor=a, agent_id=-1),
        "admin.search": lambda a: agent_admin.search(session, actor=a, page=-5),
        "admin.count_active": lambda a: agent_admin.count_active(session, actor=a),
        "admin.create": lambda a: agent_admin.create(session, actor=a, login=" ", email="nope"),
        "admin.update": lambda a: agent_admin.update(session, actor=a, agent_id=raw.id, language="xx"),
        "admin.set_active": lambda a: agent_admin.set_active(session, actor=a, agent_id=-1, active=False),
        "admin.bulk_set_active": lambda a: agent_admin.bulk_set_active(
            session, actor=a, agent_ids=[-1], active=False
        ),
        "admin.set_password": lambda a: agent_admin.set_password(
            session, actor=a, agent_id=raw.id, password="x"
        ),
        "admin.tokens": lambda a: agent_admin.tokens(session, actor=a, agent_id=-1),
        "admin.revoke_token": lambda a: agent_admin.revoke_token(session, actor=a, agent_id=-1, token_id=-1),
        "grants.list_groups": lambda a: grants.list_groups(session, actor=a),
        "grants.list_roles": lambda a: grants.list_roles(session, actor=a),
        "grants.get_group": lambda a: grants.get_group(session, actor=a, group_id=-1),
        "grants.get_role": lambda a: grants.get_role(session, actor=a, role_id=-1),
        "grants.create_group": lambda a: grants.create_group(session, actor=a, name=""),
        "grants.update_group": lambda a: grants.update_group(
            session, actor=a, group_id=-1, name="", comment="", valid=True
        ),
        "grants.create_role": lambda a: grants.create_role(session, actor=a, name=""),
        "grants.update_role": lambda a: grants.update_role(
            session, actor=a, role_id=-1, name="", comment="", may_contact_customers=True, valid=True
        ),
        "grants.agent_matrix": lambda a: grants.agent_matrix(session, actor=a, agent_id=-1),
        "grants.role_matrix": lambda a: grants.role_matrix(session, actor=a, role_id=-1),
        "grants.set_agent_matrix": lambda a: grants.set_agent_matrix(
            session, actor=a, agent_id=raw.id, grants={-1: ["bogus"]}
        ),
        "grants.set_role_matrix": lambda a: grants.set_role_matrix(
            session, actor=a, role_id=-1, grants={-1: ["bogus"]}
        ),
        "grants.set_agent_roles": lambda a: grants.set_agent_roles(
            session, actor=a, agent_id=raw.id, role_ids=[-1]
        ),
        "grants.role_members": lambda a: grants.role_members(session, actor=a, role_id=-1),
        "grants.group_grants": lambda a: grants.group_grants(session, actor=a, group_id=-1),
        "explain.explain": lambda a: explain.explain(session, actor=a, agent=alice, queue=alice),  # type: ignore[arg-type]
        "audit.search": lambda a: audit.search(session, actor=a, page=-1),
        "audit.object_types": lambda a: audit.object_types(session, actor=a),
        "overview.counts": lambda a: overview.counts(session, actor=a),
    }


def _public(module: object, prefix: str) -> set[str]:
    return {
        f"{prefix}.{name}"
        for name, value in inspect.getmembers(module, inspect.isfunction)
        if not name.startswith("_") and value.__module__ == module.__name__  # type: ignore[attr-defined]
    }


def test_the_list_covers_every_public_admin_function(session, agent):
    expected = (
        _public(agent_admin, "admin")
        | _public(grants, "grants")
        | {"explain.explain", "audit.search", "audit.object_types", "overview.counts"}
    )
    assert set(admin_calls(session, agent)) == expected


@pytest.mark.parametrize("login", ["observer", "alice"])
def test_observers_and_non_administrators_are_refused_before_any_rule(session, agent, login):
    entries_before = session.scalar(select(func.count()).select_from(AuditEntry))
    refused = []
    for name, call in admin_calls(session, agent).items():
        with pytest.raises(PermissionDenied):
            call(agent(login))
        refused.append(name)
    assert len(refused) == len(admin_calls(session, agent))
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == entries_before


def test_create_records_the_agent_and_refuses_bad_fields_together(session, agent):
    admin = agent("admin")
    with pytest.raises(ValidationError) as refused:
        agent_admin.create(
            session, actor=admin, login="has space", email="nope", language="fr", password="short"
        )
    assert set(refused.value.errors) == {"login", "email", "language", "password"}
    with pytest.raises(ValidationError) as taken:
        agent_admin.create(session, actor=admin, login="alice")
    assert "exists already" in taken.value.errors["login"][0]

    created = agent_admin.create(
        session, actor=admin, login="nina", first_name="Nina", email="nina@helpdesk.example", language="hu"
    )
    assert created.password_hash is None
    assert agents.authenticate(session, login="nina", password="") is None
    (entry,) = _entries(session, "agent", created.id)
    assert (entry.action, entry.actor_name, entry.object_label) == ("create", "Ada Admin (admin)", "nina")
    assert entry.new["language"] == "hu"
    assert entry.new["password_set"] is False


def test_update_records_only_the_changed_fields(session, agent):
    alice = agent("alice")
    agent_admin.update(session, actor=agent("admin"), agent_id=alice.id, last_name="Fürst", language="de")
    agent_admin.update(session, actor=agent("admin"), agent_id=alice.id, last_name="Fürst", language="de")
    (entry,) = _entries(session, "agent", alice.id)
    assert entry.old == {"last_name": "First", "language": "en"}
    assert entry.new == {"last_name": "Fürst", "language": "de"}
    assert [field for field, _old, _new in entry.changed_fields] == ["language", "last_name"]


def test_deactivation_ends_sessions_and_keeps_the_agent(session, agent):
    alice = agent("alice")
    agents.start_session(session, agent=alice, lifetime=timedelta(hours=1))
    assert agent_admin.set_active(session, actor=agent("admin"), agent_id=alice.id, active=False)
    live = session.scalars(
        select(AgentSession).where(AgentSession.agent_id == alice.id, AgentSession.revoked_at.is_(None))
    ).all()
    assert live == []
    assert session.get(Agent, alice.id) is not None
    assert permissions.group_permissions(session, alice) == {}
    assert agent_admin.set_active(session, actor=agent("admin"), agent_id=alice.id, active=True)
    assert not agent_admin.set_active(session, actor=agent("admin"), agent_id=alice.id, active=True)
    actions = [e.action for e in _entries(session, "agent", alice.id)]
    assert actions == ["reactivate", "deactivate"]


def test_bulk_deactivation_reports_each_agent(session, agent):
    admin = agent("admin")
    results = agent_admin.bulk_set_active(
        session, actor=admin, agent_ids=[agent("alice").id, admin.id, -7, agent("bob").id], active=False
    )
    outcomes = {(r.login, r.outcome) for r in results}
    assert outcomes == {("alice", "changed"), ("admin", "refused"), ("", "not_found"), ("bob", "changed")}
    assert admin.active
    assert not agent("bob").active


def test_set_password_hashes_it_and_the_trail_never_shows_it(session, agent):
    alice = agent("alice")
    agent_admin.set_password(session, actor=agent("admin"), agent_id=alice.id, password="a-new-secret-9")
    assert verify_password(alice.password_hash, "a-new-secret-9")
    (entry,) = _entries(session, "agent", alice.id)
    assert "a-new-secret-9" not in entry.new_values + entry.old_values
    assert alice.password_hash not in entry.new_values


def test_revoking_a_token_stops_it(session, agent):
    alice = agent("alice")
    token = agents.create_token(session, actor=alice, agent=alice, name="laptop")
    row = session.scalars(select(ApiToken).where(ApiToken.agent_id == alice.id)).one()
    with pytest.raises(NotFound):
        agent_admin.revoke_token(session, actor=agent("admin"), agent_id=agent("bob").id, token_id=row.id)
    agent_admin.revoke_token(session, actor=agent("admin"), agent_id=alice.id, token_id=row.id)
    assert agents.authenticate_token(session, token=token) is None
    assert _entries(session, "agent", alice.id)[0].old == {"token": "laptop"}


def test_search_filters_by_text_status_role_and_group(session, agent):
    admin = agent("admin")
    roles = {r.name: r for r in grants.list_roles(session, actor=admin)}
    groups = {g.name: g for g in grants.list_groups(session, actor=admin)}

    def logins(**kwargs: Any) -> list[str]:
        return [a.login for a in agent_admin.search(session, actor=admin, page_size=100, **kwargs).agents]

    assert logins(text="ARTHUR") == ["authorizer"]
    assert logins(role_id=roles["consultant"].id) == ["consultant"]
    # second_level: bob, admin, observer and secretary directly, the consultant and authorizer by roles.
    assert logins(group_id=groups["second_level"].id) == [
        "admin",
        "authorizer",
        "bob",
        "consultant",
        "observer",
        "secretary",
    ]
    agent_admin.set_active(session, actor=admin, agent_id=agent("bob").id, active=False)
    assert logins(active=False) == ["bob"]
    first = agent_admin.search(session, actor=admin, page_size=5)
    second = agent_admin.search(session, actor=admin, page_size=5, page=2)
    assert first.has_next
    assert not {a.id for a in first.agents} & {a.id for a in second.agents}


def test_matrices_store_the_difference_and_take_effect(session, agent, queue):
    admin, trainee = agent("admin"), agent("trainee")
    finance = queue("Finance")
    assert not permissions.has_queue_permission(session, trainee, finance, "note")
    matrix = grants.agent_matrix(session, actor=admin, agent_id=trainee.id)
    matrix[finance.group_id] = {"ro", "note"}
    assert grants.set_agent_matrix(session, actor=admin, agent_id=trainee.id, grants=matrix)
    assert not grants.set_agent_matrix(session, actor=admin, agent_id=trainee.id, grants=matrix)
    assert permissions.has_queue_permission(session, trainee, finance, "note")
    (entry,) = _entries(session, "agent", trainee.id)
    assert entry.old == {"finance": []}
    assert entry.new == {"finance": ["ro", "note"]}
    with pytest.raises(ValidationError):
        grants.set_agent_matrix(session, actor=admin, agent_id=trainee.id, grants={finance.group_id: ["all"]})


def test_a_role_with_rw_gives_its_members_the_queue(session, agent, queue):
    admin, nina = agent("admin"), agent_admin.create(session, actor=agent("admin"), login="nina")
    finance = queue("Finance")
    role = grants.create_role(session, actor=admin, name="Finance team")
    grants.set_role_matrix(session, actor=admin, role_id=role.id, grants={finance.group_id: ["rw"]})
    grants.set_agent_roles(session, actor=admin, agent_id=nina.id, role_ids=[role.id])
    assert permissions.has_queue_permission(session, nina, finance, "priority")
    why = explain.explain(session, actor=admin, agent=nina, queue=finance)
    priority = next(line for line in why.lines if line.permission == "priority")
    assert priority.granted
    assert [(s.via_role, s.through_rw) for s in priority.sources] == [("Finance team", True)]
    grants.update_role(
        session,
        actor=admin,
        role_id=role.id,
        name="Finance team",
        comment="",
        may_contact_customers=True,
        valid=False,
    )
    assert not permissions.has_queue_permission(session, nina, finance, "ro")
    assert not explain.explain(session, actor=admin, agent=nina, queue=finance).lines[0].granted
    assert [e.action for e in _entries(session, "role", role.id)] == ["deactivate", "permissions", "create"]


def test_the_explanation_names_the_observer_rule(session, agent, queue):
    why = explain.explain(session, actor=agent("admin"), agent=agent("observer"), queue=queue("Raw"))
    by_type = {line.permission: line for line in why.lines}
    assert by_type["ro"].granted
    assert not by_type["note"].granted
    assert by_type["note"].withheld_by == "read_only"
    assert [(s.via_role, s.through_rw) for s in by_type["note"].sources] == [(None, True)]


def test_the_admin_group_cannot_be_renamed_or_deactivated(session, agent):
    admin = agent("admin")
    group = next(g for g in grants.list_groups(session, actor=admin) if g.name == "admin")
    with pytest.raises(ValidationError):
        grants.update_group(session, actor=admin, group_id=group.id, name="root", comment="", valid=True)
    with pytest.raises(ValidationError):
        grants.update_group(session, actor=admin, group_id=group.id, name="admin", comment="", valid=False)
    assert permissions.is_admin(session, admin)


def test_the_audit_search_filters(session, agent):
    admin = agent("admin")
    grants.create_group(session, actor=admin, name="night_shift")
    agent_admin.update(session, actor=admin, agent_id=agent("bob").id, first_name="Robert")
    assert [e.object_label for e in audit.search(session, actor=admin, object_type="group").entries] == [
        "night_shift"
    ]
    assert len(audit.search(session, actor=admin, actor_name="ada").entries) == 2
    assert audit.search(session, actor=admin, actor_name="nobody").entries == []
    today = audit.search(session, actor=admin).entries[0].created_at.date()
    mine = audit.search(session, actor=admin, actor_name="ada", day_from=today, day_to=today).entries
    assert [e.action for e in mine] == ["update", "create"]
    yesterday = today - timedelta(days=1)
    assert audit.search(session, actor=admin, actor_name="ada", day_to=yesterday).entries == []
    assert (
        audit.search(session, actor=admin, actor_name="ada", day_from=today + timedelta(days=1)).entries == []
    )
    assert {"agent", "group"} <= set(audit.object_types(session, actor=admin))
