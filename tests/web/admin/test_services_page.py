"""The services administration page: create, rename, deactivate (with CSRF), the audit trail."""

from __future__ import annotations

from sqlalchemy import select

from desk.services.models import Service
from desk.sla import service as sla


def one(session, name: str) -> Service | None:
    session.expire_all()
    return session.scalars(select(Service).where(Service.name == name)).one_or_none()


def test_an_admin_creates_renames_and_deactivates_a_service(client, login, post_form, session, agent):
    gold = sla.create_level(session, actor=agent("admin"), name="Gold", first_response_minutes=60)
    login("admin")
    page = client.get("/admin/services")
    assert page.status_code == 200
    assert "No service yet." in page.text
    created = post_form("/admin/services", data={"name": "VPN", "service_level_id": str(gold.id)})
    assert created.status_code == 303, created.text
    vpn = one(session, "VPN")
    assert vpn is not None
    assert vpn.service_level_id == gold.id
    assert vpn.valid
    listing = client.get("/admin/services").text
    assert ">VPN</a>" in listing
    assert '<td data-label="Service level">Gold</td>' in listing

    url = f"/admin/services/{vpn.id}"
    renamed = post_form(url, data={"name": "Remote access", "service_level_id": "", "valid": "on"})
    assert renamed.status_code == 303, renamed.text
    assert one(session, "VPN") is None
    assert one(session, "Remote access").service_level_id is None
    off = post_form(url, data={"name": "Remote access"})  # the "active" box unticked
    assert off.status_code == 303
    assert one(session, "Remote access").valid is False
    edit = client.get(url).text
    assert "Remote access" in edit
    assert "VPN" in edit
    assert "Inactive" in client.get("/admin/services").text


def test_bad_input_is_422_with_the_typed_values_and_a_post_without_csrf_is_refused(
    client, login, post_form, session
):
    login("admin")
    empty = post_form("/admin/services", data={"name": "  ", "parent_id": "99999999999"})
    assert empty.status_code == 422
    assert "choose one of the list" in empty.text
    post_form("/admin/services", data={"name": "Mail"})
    clash = post_form("/admin/services", data={"name": "Mail", "comment": "typed comment"})
    assert clash.status_code == 422
    assert "a service with this name exists" in clash.text
    assert "typed comment" in clash.text
    forged = client.post("/admin/services", data={"name": "No token"})
    assert forged.status_code == 400
    assert one(session, "No token") is None
    assert client.get("/admin/services/99999999999").status_code == 404
    assert client.get("/admin/services/12345").status_code == 404


def test_only_administrators_open_the_services_page(client, login):
    login("alice")
    assert client.get("/admin/services").status_code == 403
