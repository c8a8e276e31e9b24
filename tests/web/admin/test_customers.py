"""Customer and company admin pages: list and search, create, edit, deactivate, the company's tickets."""

from __future__ import annotations

import re

from sqlalchemy import select

from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.audit.models import AuditEntry
from desk.customer.models import CustomerCompany, CustomerUser
from tests.web.conftest import csrf_token_in, sign_in


def _company(session, customer_id: str) -> CustomerCompany:
    return session.scalars(select(CustomerCompany).where(CustomerCompany.customer_id == customer_id)).one()


def _rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in body.split("</tr>")[:-1]]


def test_the_list_searches_by_name_email_login_and_company(client, login):
    login("admin")
    page = client.get("/admin/customers")
    assert page.status_code == 200
    assert len(_rows(page.text)) == 4
    by_company = client.get("/admin/customers", query_string={"q": "globex"})
    assert [row.split()[0] for row in _rows(by_company.text)] == ["ivan.petrov@globex.example"]
    by_name = client.get("/admin/customers", query_string={"q": "Dora Donor"})
    assert [row.split()[0] for row in _rows(by_name.text)] == ["donor@citizen.example"]
    nothing = client.get("/admin/customers", query_string={"q": "nobody-like-this"})
    assert "No customers found." in nothing.text


def test_create_with_bad_input_is_422_with_errors_next_to_the_fields_and_the_values_kept(
    client, login, post_form, session
):
    login("admin")
    refused = post_form(
        "/admin/customers/new",
        data={"email": "not-an-address", "login": "two words", "first_name": "Mia", "language": "de"},
    )
    assert refused.status_code == 422
    assert 'id="field-email-error">not an e-mail address<' in refused.text
    assert 'id="field-login-error">a login is one word<' in refused.text
    assert 'value="Mia"' in refused.text
    assert 'value="not-an-address"' in refused.text
    acme = _company(session, "ACME")
    created = post_form(
        "/admin/customers/new",
        data={
            "email": "mia@acme.example",
            "first_name": "Mia",
            "last_name": "Miller",
            "language": "de",
            "company_id": str(acme.id),
            "sees_company_tickets": "on",
        },
    )
    assert created.status_code == 303
    mia = session.scalars(select(CustomerUser).where(CustomerUser.email == "mia@acme.example")).one()
    assert (mia.login, mia.language, mia.company_id, mia.sees_company_tickets) == (
        "mia@acme.example",
        "de",
        acme.id,
        True,
    )
    edit = client.get(created.headers["Location"])
    assert "Mia Miller" in edit.text
    assert "Changes" in edit.text
    assert ">create<" in edit.text


def test_edit_deactivate_reactivate_and_password_show_in_the_audit_trail(
    client, login, post_form, customer, session
):
    login("admin")
    john = customer("john.doe@acme.example")
    url = f"/admin/customers/{john.id}"
    saved = post_form(
        url,
        data={
            "email": john.email,
            "login": john.login,
            "first_name": "Johnny",
            "last_name": "Doe",
            "language": "ru",
            "company_id": str(john.company_id),
        },
    )
    assert saved.status_code == 303
    session.expire_all()
    assert (john.first_name, john.language, john.sees_company_tickets) == ("Johnny", "ru", False)
    assert post_form(url, f"{url}/valid", data={"valid": "0"}).status_code == 303
    session.expire_all()
    assert not john.valid
    assert session.get(CustomerUser, john.id) is not None
    short = post_form(url, f"{url}/password", data={"password": "short"})
    assert short.status_code == 422
    assert "at least 8 characters" in short.text
    assert post_form(url, f"{url}/password", data={"password": "long enough now"}).status_code == 303
    page = client.get(url)
    assert "This customer is deactivated" in page.text
    assert "Reactivate" in page.text
    trail = page.text.split('id="audit-trail-title"', 1)[1]
    for action in ("update", "deactivate", "set_password"):
        assert f">{action}<" in trail
    assert "Johnny" in trail
    assert "long enough now" not in page.text
    actions = session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.object_type == "customer_user", AuditEntry.object_id == john.id
        )
    ).all()
    assert sorted(actions) == ["deactivate", "set_password", "update"]


def test_an_unknown_company_id_in_the_form_is_a_field_error(client, login, post_form, customer):
    login("admin")
    john = customer("john.doe@acme.example")
    refused = post_form(
        f"/admin/customers/{john.id}", data={"email": john.email, "language": "en", "company_id": "999999"}
    )
    assert refused.status_code == 422
    assert "no such company" in refused.text


def test_company_pages_create_edit_and_list_customers_and_readable_tickets(client, login, post_form, session):
    narrow = agents.create_agent(session, actor=SYSTEM, login="narrow-admin", password="narrow-secret")
    agents.grant_group(
        session, actor=SYSTEM, agent=narrow, group=agents.get_group(session, name="admin"), permissions=["rw"]
    )
    agents.grant_group(
        session, actor=SYSTEM, agent=narrow, group=agents.get_group(session, name="raw"), permissions=["ro"]
    )
    session.flush()
    login("narrow-admin", "narrow-secret")
    acme = _company(session, "ACME")
    page = client.get(f"/admin/companies/{acme.id}")
    assert page.status_code == 200
    people = page.text.split('id="people-heading"', 1)[1].split("</section>", 1)[0]
    assert "John Doe" in people
    assert "Jane Roe" in people
    assert "Ivan" not in people
    tickets = page.text.split('id="tickets-heading"', 1)[1].split("</section>", 1)[0]
    assert "I forgot my password" in tickets
    assert "Refund for double invoice" not in tickets, "Finance is not readable for this administrator"
    assert re.search(r'href="/tickets/\d+"', tickets)

    refused = post_form("/admin/companies/new", data={"customer_id": "ACME", "name": "Another"})
    assert refused.status_code == 422
    assert "another company has the id" in refused.text
    assert 'value="Another"' in refused.text
    created = post_form(
        "/admin/companies/new", data={"customer_id": "INITECH", "name": "Initech", "city": "Austin"}
    )
    assert created.status_code == 303
    initech = _company(session, "INITECH")
    assert (
        post_form(
            f"/admin/companies/{initech.id}", f"/admin/companies/{initech.id}/valid", data={"valid": "0"}
        ).status_code
        == 303
    )
    listing = client.get("/admin/companies", query_string={"valid": "0"})
    assert [row.split()[0] for row in _rows(listing.text)] == ["INITECH"]
    edit = client.get(f"/admin/companies/{initech.id}")
    assert "This company is deactivated." in edit.text
    assert ">deactivate<" in edit.text


def test_forms_without_csrf_are_refused(client, login, customer):
    login("admin")
    john = customer("john.doe@acme.example")
    response = client.post(f"/admin/customers/{john.id}/valid", data={"valid": "0"})
    assert response.status_code == 400
    assert john.valid


def test_non_administrators_get_403_on_every_customer_page(app, customer):
    john = customer("john.doe@acme.example")
    for who in ("alice", "observer"):
        client = app.test_client()
        sign_in(client, who)
        token = csrf_token_in(client.get("/").text)
        for url in (
            "/admin/customers",
            f"/admin/customers/{john.id}",
            "/admin/companies",
            "/admin/customers/import",
        ):
            assert client.get(url).status_code == 403, (who, url)
        for url in (f"/admin/customers/{john.id}/valid", "/admin/customers/new", "/admin/companies/new"):
            assert client.post(url, data={"csrf_token": token, "valid": "0", "email": "x"}).status_code == 403
    assert john.valid


HOSTILE = ["", "0", "-1", "2147483648", "99999999999999999999", "x" * 5000, "ü\u202e", "' OR 1=1 --", "%_\\"]


def test_hostile_values_in_every_customer_form_and_query_are_never_a_server_error(
    client, login, customer, session
):
    login("admin")
    john = customer("john.doe@acme.example")
    acme = john.company_id
    token = csrf_token_in(client.get("/admin/customers/new").text)
    forms = [
        "/admin/customers/new",
        f"/admin/customers/{john.id}",
        f"/admin/customers/{john.id}/password",
        f"/admin/customers/{john.id}/valid",
        "/admin/companies/new",
        f"/admin/companies/{acme}",
        f"/admin/companies/{acme}/valid",
    ]
    fields = ["email", "login", "first_name", "last_name", "language", "company_id", "sees_company_tickets",
              "password", "valid", "customer_id", "name", "street", "city", "country", "comment"]  # fmt: skip
    for value in HOSTILE:
        for url in forms:
            response = client.post(url, data={"csrf_token": token, **dict.fromkeys(fields, value)})
            assert response.status_code in (303, 422), (url, value, response.status_code)
        for url in ("/admin/customers", "/admin/companies"):
            response = client.get(
                url, query_string={"q": value, "valid": value, "company": value, "page": value}
            )
            assert response.status_code == 200, (url, value)
    session.expire_all()
    assert session.get(CustomerUser, john.id) is not None
