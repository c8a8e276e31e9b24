"""The service-level rules on the service levels page: create, edit, 422 with the typed values,
CSRF, moving up and down, and the audit trail."""

from __future__ import annotations

from sqlalchemy import select

from desk.customer.models import CustomerCompany
from desk.sla import rules
from desk.sla import service as sla
from desk.sla.models import ServiceLevelRule


def one(session, name: str) -> ServiceLevelRule | None:
    session.expire_all()
    return session.scalars(select(ServiceLevelRule).where(ServiceLevelRule.name == name)).one_or_none()


def test_an_admin_creates_and_edits_a_rule(client, login, post_form, session, agent, queue):
    gold = sla.create_level(session, actor=agent("admin"), name="Gold", first_response_minutes=60)
    silver = sla.create_level(session, actor=agent("admin"), name="Silver", first_response_minutes=120)
    acme = session.scalars(select(CustomerCompany).where(CustomerCompany.customer_id == "ACME")).one()
    hardware = queue("1st level")
    login("admin")
    listing = client.get("/admin/service-levels")
    assert listing.status_code == 200
    assert "No rule yet" in listing.text
    form = client.get("/admin/service-levels/rules/new").text
    assert "ACME Corp." in form  # the companies to choose from
    assert "very high" in form  # the priorities by name
    created = post_form(
        "/admin/service-levels/rules/new",
        data={
            "name": "ACME very high",
            "level_id": str(gold.id),
            "queue_id": str(hardware.id),
            "include_subqueues": "on",
            "priorities": ["4", "5"],
            "customer_company_id": str(acme.id),
            "email_domain": "@ACME.example",
        },
    )
    assert created.status_code == 303, created.text
    rule = one(session, "ACME very high")
    assert rule is not None
    assert (rule.level_id, rule.priority_list, rule.customer_company_id) == (gold.id, [4, 5], acme.id)
    assert rule.email_domain == "acme.example"
    listing = client.get("/admin/service-levels").text
    assert ">ACME very high</a>" in listing
    assert (
        "Queue 1st level and below; Priority high, very high; Company ACME Corp.; "
        "Customer address @acme.example" in listing
    )

    url = f"/admin/service-levels/rules/{rule.id}"
    edit = client.get(url).text
    assert 'value="4" checked' in edit
    changed = post_form(url, data={"name": "ACME phone", "level_id": str(silver.id), "channel": "phone"})
    assert changed.status_code == 303, changed.text
    rule = one(session, "ACME phone")
    assert (rule.level_id, rule.channel, rule.priority_list, rule.queue_id) == (silver.id, "phone", [], None)
    assert rule.valid is False  # the "active" box was not ticked
    page = client.get(url).text
    assert "ACME very high" in page  # the audit trail shows the old name
    assert "Inactive" in client.get("/admin/service-levels").text
    silver_page = client.get(f"/admin/service-levels/{silver.id}").text
    assert f'href="/admin/service-levels/rules/{rule.id}">ACME phone</a>' in silver_page
    assert "No rule chooses this level." in client.get(f"/admin/service-levels/{gold.id}").text


def test_bad_input_is_422_with_field_errors_and_the_typed_values(client, login, post_form, session, agent):
    gold = sla.create_level(session, actor=agent("admin"), name="Gold", first_response_minutes=60)
    login("admin")
    nothing = post_form(
        "/admin/service-levels/rules/new", data={"name": "Everything", "level_id": str(gold.id)}
    )
    assert nothing.status_code == 422
    assert "a rule needs a condition" in nothing.text
    assert 'value="Everything"' in nothing.text
    bad = post_form(
        "/admin/service-levels/rules/new",
        data={
            "name": "Typed name",
            "level_id": "99999999999",
            "queue_id": "abc",
            "priorities": ["5", "9"],
            "channel": "pigeon",
            "email_domain": "not a domain",
        },
    )
    assert bad.status_code == 422
    assert "choose one of the list" in bad.text
    assert 'value="not a domain"' in bad.text
    assert 'value="5" checked' in bad.text
    assert one(session, "Typed name") is None
    assert client.get("/admin/service-levels/rules/99999999999").status_code == 404
    assert client.get("/admin/service-levels/rules/12345").status_code == 404


def test_a_post_without_csrf_is_refused(client, login, session, agent):
    gold = sla.create_level(session, actor=agent("admin"), name="Gold", first_response_minutes=60)
    login("admin")
    forged = client.post(
        "/admin/service-levels/rules/new",
        data={"name": "No token", "level_id": str(gold.id), "priorities": "5"},
    )
    assert forged.status_code == 400
    assert one(session, "No token") is None


def test_only_administrators_open_the_rule_pages(client, login):
    login("alice")
    assert client.get("/admin/service-levels/rules/new").status_code == 403


def test_rules_move_up_and_down(client, login, post_form, session, agent):
    admin = agent("admin")
    gold = sla.create_level(session, actor=admin, name="Gold", first_response_minutes=60)
    for name, priority in (("First", 5), ("Second", 4), ("Third", 3)):
        rules.create_rule(session, actor=admin, name=name, level_id=gold.id, priorities=[priority])
    second = one(session, "Second")
    login("admin")
    moved = post_form(
        "/admin/service-levels", f"/admin/service-levels/rules/{second.id}/move", {"direction": "up"}
    )
    assert moved.status_code == 303
    assert [r.name for r in rules.list_rules(session)] == ["Second", "First", "Third"]
    post_form("/admin/service-levels", f"/admin/service-levels/rules/{second.id}/move", {"direction": "down"})
    post_form("/admin/service-levels", f"/admin/service-levels/rules/{second.id}/move", {"direction": "down"})
    session.expire_all()
    assert [r.name for r in rules.list_rules(session)] == ["First", "Third", "Second"]
    listing = client.get("/admin/service-levels").text
    assert listing.index(">First</a>") < listing.index(">Third</a>") < listing.index(">Second</a>")
    sideways = post_form(
        "/admin/service-levels", f"/admin/service-levels/rules/{second.id}/move", {"direction": "sideways"}
    )
    assert sideways.status_code == 422
