"""``/api/v1/admin/customers`` and ``/api/v1/admin/companies``: the admin services over the API."""

from __future__ import annotations

from sqlalchemy import select

from desk.audit import service as audit
from desk.customer.models import CustomerCompany, CustomerUser
from tests.api.conftest import assert_error


def test_list_search_create_and_update_customers(admin_api, session):
    found = admin_api.get("/admin/customers", query_string={"q": "acme"})
    assert found.status_code == 200
    assert [c["login"] for c in found.get_json()] == ["jane.roe@acme.example", "john.doe@acme.example"]
    assert "password" not in found.get_json()[0]
    assert found.get_json()[0]["has_password"] is True

    acme = session.scalars(select(CustomerCompany).where(CustomerCompany.customer_id == "ACME")).one()
    created = admin_api.post(
        "/admin/customers",
        json={"email": "Lea@acme.example", "first_name": "Lea", "language": "hu", "company_id": acme.id},
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["login"], body["email"], body["language"], body["company_id"], body["valid"]) == (
        "lea@acme.example",
        "lea@acme.example",
        "hu",
        acme.id,
        True,
    )
    lea = session.get(CustomerUser, body["id"])
    assert lea is not None
    assert lea.first_name == "Lea"

    changed = admin_api.patch(f"/admin/customers/{lea.id}", json={"last_name": "Lind", "valid": False})
    assert changed.status_code == 200
    assert (changed.get_json()["last_name"], changed.get_json()["valid"]) == ("Lind", False)
    session.expire_all()
    assert (lea.last_name, lea.valid, lea.first_name) == ("Lind", False, "Lea")
    actions = [e.action for e in audit.entries_for(session, object_type="customer_user", object_id=lea.id)]
    assert actions == ["deactivate", "update", "create"]


def test_invalid_customer_input_is_422_with_field_errors(admin_api):
    nul = assert_error(admin_api.post("/admin/customers", json={"email": "x\u0000"}), 422)
    assert list(nul["errors"]) == ["email"]
    bad = assert_error(
        admin_api.post("/admin/customers", json={"email": "x@y.example", "language": "fr"}), 422
    )
    assert list(bad["errors"]) == ["language"]
    clash = assert_error(admin_api.post("/admin/customers", json={"email": "john.doe@acme.example"}), 422)
    assert "another customer has the address" in clash["errors"]["email"][0]
    assert_error(admin_api.patch("/admin/customers/999999", json={"first_name": "x"}), 404, "not_found")


def test_companies_list_create_update(admin_api, session):
    created = admin_api.post("/admin/companies", json={"customer_id": "INITECH", "name": "Initech"})
    assert created.status_code == 201
    company_id = created.get_json()["id"]
    assert (
        admin_api.patch(f"/admin/companies/{company_id}", json={"city": "Austin", "valid": False}).status_code
        == 200
    )
    company = session.get(CustomerCompany, company_id)
    assert company is not None
    assert (company.city, company.valid, company.name) == ("Austin", False, "Initech")
    listed = admin_api.get("/admin/companies", query_string={"valid": "false"}).get_json()
    assert [c["customer_id"] for c in listed] == ["INITECH"]
    dup = assert_error(admin_api.post("/admin/companies", json={"customer_id": "ACME", "name": "x"}), 422)
    assert "customer_id" in dup["errors"]


def test_non_administrators_get_403_before_the_body_is_validated(api_as, session):
    for login in ("alice", "observer"):
        api = api_as(login)
        assert_error(api.get("/admin/customers"), 403, "permission_denied")
        assert_error(api.post("/admin/customers", json={"email": "not valid", "nonsense": 1}), 403)
        assert_error(api.patch("/admin/companies/1", json={"valid": "nope"}), 403)
    assert session.scalar(select(CustomerUser).where(CustomerUser.email == "not valid")) is None
