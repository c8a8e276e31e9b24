"""/api/v1/admin agents, groups and roles: the same services as the admin pages."""

from __future__ import annotations

import pytest

from desk.audit import service as audit
from desk.permission import service as permissions
from tests.api.conftest import assert_error


def test_an_administrator_creates_updates_and_deactivates_an_agent(admin_api, session, agent):
    created = admin_api.post(
        "/admin/agents",
        json={"login": "nina", "first_name": "Nina", "email": "nina@helpdesk.example", "language": "de"},
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["login"], body["language"], body["active"], body["roles"]) == ("nina", "de", True, [])
    assert "password" not in body
    nina_id = body["id"]
    changed = admin_api.patch(f"/admin/agents/{nina_id}", json={"last_name": "Nagy", "read_only": True})
    assert changed.get_json()["last_name"] == "Nagy"
    assert agent("nina").read_only
    gone = admin_api.post(f"/admin/agents/{nina_id}/deactivate")
    assert gone.get_json()["active"] is False
    listed = admin_api.get("/admin/agents", query_string={"active": "false"}).get_json()
    assert [a["login"] for a in listed["agents"]] == ["nina"]
    back = admin_api.post(f"/admin/agents/{nina_id}/reactivate")
    assert back.get_json()["active"] is True
    actions = [e.action for e in audit.entries_for(session, object_type="agent", object_id=nina_id)]
    assert actions == ["reactivate", "deactivate", "update", "create"]


def test_bad_input_is_422_naming_the_fields(admin_api):
    body = assert_error(
        admin_api.post("/admin/agents", json={"login": "x y", "email": "nope", "language": "fr"}), 422
    )
    assert "language" in body["errors"]
    body = assert_error(admin_api.post("/admin/agents", json={"login": "x y", "email": "nope"}), 422)
    assert set(body["errors"]) == {"login", "email"}


def test_a_role_with_rw_on_a_group_and_an_agent_in_it(admin_api, session, agent, queue):
    finance = queue("Finance")
    role = admin_api.post("/admin/roles", json={"name": "Finance team"}).get_json()
    granted = admin_api.request(
        "PUT",
        f"/admin/roles/{role['id']}/permissions",
        json={"grants": [{"group_id": finance.group_id, "permissions": ["rw"]}]},
    )
    assert granted.get_json() == {"grants": [{"group_id": finance.group_id, "permissions": ["rw"]}]}
    nina = admin_api.post("/admin/agents", json={"login": "nina"}).get_json()
    put = admin_api.request(
        "PUT", f"/admin/agents/{nina['id']}/permissions", json={"grants": [], "role_ids": [role["id"]]}
    )
    assert put.get_json() == {"grants": [], "role_ids": [role["id"]]}
    assert permissions.has_queue_permission(session, agent("nina"), finance, "rw")
    assert "Finance team" in [r["name"] for r in admin_api.get("/admin/roles").get_json()]
    bad = admin_api.request(
        "PUT",
        f"/admin/roles/{role['id']}/permissions",
        json={"grants": [{"group_id": finance.group_id, "permissions": ["everything"]}]},
    )
    assert_error(bad, 422)


def test_groups_are_created_and_renamed(admin_api):
    group = admin_api.post("/admin/groups", json={"name": "night_shift"}).get_json()
    renamed = admin_api.patch(f"/admin/groups/{group['id']}", json={"name": "late_shift", "valid": False})
    assert (renamed.get_json()["name"], renamed.get_json()["valid"]) == ("late_shift", False)
    assert_error(admin_api.post("/admin/groups", json={"name": "finance"}), 422)


@pytest.mark.parametrize("login", ["observer", "alice"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin/agents"),
        ("POST", "/admin/agents"),
        ("PATCH", "/admin/agents/1"),
        ("POST", "/admin/agents/1/deactivate"),
        ("PUT", "/admin/agents/1/permissions"),
        ("GET", "/admin/groups"),
        ("POST", "/admin/roles"),
        ("PUT", "/admin/roles/1/permissions"),
    ],
)
def test_everyone_else_is_refused_before_the_body_is_read(api_as, login, method, path):
    response = api_as(login).request(method, path, json={"login": "", "grants": "nonsense"})
    assert_error(response, 403)
