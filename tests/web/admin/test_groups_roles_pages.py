"""Groups, roles, the role matrix, the admin dashboard, the navigation and the audit list."""

from __future__ import annotations

import re

from sqlalchemy import select

from desk.agent.models import Group, Role, RoleGroupPermission
from desk.outbox.models import OutboxMessage


def _id(page: str, pattern: str) -> str:
    found = re.search(pattern, page)
    assert found, pattern
    return found.group(1)


def test_a_group_is_created_renamed_and_deactivated_never_deleted(client, login, post_form, session):
    login("admin")
    created = post_form("/admin/groups", data={"name": "night_shift", "comment": "after 22:00"})
    assert created.status_code == 303
    group = session.scalars(select(Group).where(Group.name == "night_shift")).one()
    renamed = post_form(
        f"/admin/groups/{group.id}", data={"name": "late_shift", "comment": "after 22:00", "valid": ""}
    )
    assert renamed.status_code == 303
    session.refresh(group)
    assert (group.name, group.valid) == ("late_shift", False)
    page = client.get(f"/admin/groups/{group.id}").text
    assert "name</span>: night_shift → late_shift" in page
    assert "deactivate" in page
    listing = client.get("/admin/groups").text
    assert "late_shift" in listing


def test_a_duplicate_or_empty_group_name_is_422_with_the_typed_value(client, login, post_form):
    login("admin")
    response = post_form("/admin/groups", data={"name": "finance", "comment": "typed comment"})
    assert response.status_code == 422
    assert "a group named &#39;finance&#39; exists already" in response.text
    assert 'value="typed comment"' in response.text
    empty = post_form("/admin/groups", data={"name": "  "})
    assert empty.status_code == 422
    assert 'id="group-name-error"' in empty.text


def test_the_admin_group_keeps_its_name(client, login, post_form, session):
    login("admin")
    admin_group = session.scalars(select(Group).where(Group.name == "admin")).one()
    response = post_form(f"/admin/groups/{admin_group.id}", data={"name": "root", "valid": "on"})
    assert response.status_code == 422
    assert "the admin group cannot be renamed or deactivated" in response.text
    assert 'value="root"' in response.text


def test_a_role_gets_its_matrix_from_checkboxes(client, login, post_form, session):
    login("admin")
    created = post_form("/admin/roles", data={"name": "Finance team", "may_contact_customers": "on"})
    assert created.status_code == 303
    role = session.scalars(select(Role).where(Role.name == "Finance team")).one()
    url = f"/admin/roles/{role.id}"
    page = client.get(url).text
    finance = _id(page, r'name="perm-(\d+)-rw"\s+aria-label="finance: ')
    raw = _id(page, r'name="perm-(\d+)-ro"\s+aria-label="raw: ')
    saved = post_form(url, f"{url}/permissions", {f"perm-{finance}-rw": "on", f"perm-{raw}-ro": "on"})
    assert saved.status_code == 303
    rows = session.execute(
        select(RoleGroupPermission.group_id, RoleGroupPermission.permission).where(
            RoleGroupPermission.role_id == role.id
        )
    ).all()
    assert sorted((str(g), p) for g, p in rows) == sorted([(finance, "rw"), (raw, "ro")])
    page = client.get(url).text
    assert re.search(rf'name="perm-{finance}-rw" checked', page)
    assert not re.search(rf'name="perm-{finance}-ro" checked', page)
    assert "finance</span>: — → rw" in page
    group_page = client.get(f"/admin/groups/{finance}").text
    assert 'Finance team: <span class="mono">rw</span>' in group_page


def test_the_dashboard_counts_with_links(client, login, session):
    login("admin")
    page = client.get("/admin/").text
    counts = dict(re.findall(r'id="count-(\w+)">.*?admin-counts__value[^>]*>(\d+)<', page, re.S))
    assert set(counts) == {"agents", "queues", "open_tickets", "failed_mails", "outbox_failures", "processes"}
    assert counts["agents"] == "14"
    session.add(
        OutboxMessage(
            from_addr="a@helpdesk.example",
            to_addr="b@example.org",
            subject="x",
            body_text="y",
            message_id="<dash@test>",
            status="failed",
        )
    )
    session.flush()
    page = client.get("/admin/").text
    counts = dict(re.findall(r'id="count-(\w+)">.*?admin-counts__value[^>]*>(\d+)<', page, re.S))
    assert int(counts["outbox_failures"]) >= 1
    assert 'href="/admin/agents"' in page
    assert 'href="/admin/mail/failed"' in page


def test_the_header_has_one_administration_link_and_every_admin_page_the_sub_navigation(client, login):
    login("admin")
    inbox = client.get("/inbox").text
    assert inbox.count('href="/admin/"') == 1
    assert ">Administration<" in inbox
    assert 'href="/admin/mailboxes"' not in inbox
    for url in ("/admin/", "/admin/agents", "/admin/roles", "/admin/mail/failed", "/admin/audit"):
        page = client.get(url).text
        nav = page.split('class="tabs admin-nav"', 1)[1].split("</nav>", 1)[0]
        for label in ("Dashboard", "Agents", "Groups", "Roles", "Mailboxes", "Failed mail", "Audit"):
            assert f">{label}<" in nav, (url, label)
        assert nav.count('aria-current="page"') == 1, url


def test_the_audit_list_filters_by_type_actor_and_day(client, login, post_form):
    login("admin")
    post_form("/admin/groups", data={"name": "audit_me"})
    page = client.get("/admin/audit", query_string={"type": "group", "actor": "ada"}).text
    assert "audit_me" in page
    none = client.get("/admin/audit", query_string={"type": "group", "actor": "nobody"}).text
    assert "audit_me" not in none
    bad = client.get("/admin/audit", query_string={"from": "yesterday"})
    assert bad.status_code == 422
    assert 'id="audit-from-error"' in bad.text
    assert 'value="yesterday"' in bad.text
