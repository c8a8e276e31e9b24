"""Customer administration services: create, edit, (de)activate, passwords, search, company tickets.

Every change leaves one audit entry naming only what changed; non-administrators are refused
before any rule about the input is looked at.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import NotFound, PermissionDenied, ValidationError
from core.security import verify_password
from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.audit import service as audit
from desk.customer import admin as customer_admin
from desk.customer.models import CustomerCompany, CustomerUser
from desk.ticket.models import Ticket


def _company(session, customer_id: str) -> CustomerCompany:
    return session.scalars(select(CustomerCompany).where(CustomerCompany.customer_id == customer_id)).one()


def test_create_checks_every_field_at_once_and_audits_the_new_customer(session, agent):
    admin = agent("admin")
    with pytest.raises(ValidationError) as refused:
        customer_admin.create_customer(
            session, actor=admin, email="not-an-address", login="two words", language="fr", company_id=999_999
        )
    assert set(refused.value.errors) == {"email", "login", "language", "company_id"}
    acme = _company(session, "ACME")
    created = customer_admin.create_customer(
        session,
        actor=admin,
        email=" Mia.Miller@Acme.Example ",
        first_name="Mia",
        last_name="Miller",
        language="de",
        company_id=acme.id,
        password="a long secret",
    )
    assert (created.login, created.email, created.company, created.language) == (
        "mia.miller@acme.example",
        "mia.miller@acme.example",
        acme,
        "de",
    )
    assert verify_password(created.password_hash, "a long secret")
    [entry] = audit.entries_for(session, object_type="customer_user", object_id=created.id)
    assert (entry.action, entry.actor_name) == ("create", "Ada Admin (admin)")
    assert entry.new["company"] == "ACME"
    assert "password_hash" not in entry.new_values


def test_an_address_or_login_of_another_customer_is_a_field_error(session, agent):
    with pytest.raises(ValidationError) as refused:
        customer_admin.create_customer(session, actor=agent("admin"), email="JOHN.DOE@acme.example")
    assert refused.value.errors["email"] == ["another customer has the address 'john.doe@acme.example'"]
    assert refused.value.errors["login"] == ["another customer has the login 'john.doe@acme.example'"]


def test_update_audits_only_the_changed_fields(session, agent, customer):
    john = customer("john.doe@acme.example")
    globex = _company(session, "GLOBEX")
    changed = customer_admin.update_customer(
        session,
        actor=agent("admin"),
        customer=john,
        email=john.email,
        login=john.login,
        first_name="Johnny",
        last_name=john.last_name,
        language="hu",
        company_id=globex.id,
        sees_company_tickets=False,
    )
    assert changed
    assert john.company == globex
    [entry] = audit.entries_for(session, object_type="customer_user", object_id=john.id)
    assert entry.old == {
        "first_name": "John",
        "language": "en",
        "company": "ACME",
        "sees_company_tickets": True,
    }
    assert entry.new == {
        "first_name": "Johnny",
        "language": "hu",
        "company": "GLOBEX",
        "sees_company_tickets": False,
    }
    # The same values again change nothing and record nothing.
    assert not customer_admin.update_customer(
        session,
        actor=agent("admin"),
        customer=john,
        email=john.email,
        login=john.login,
        first_name="Johnny",
        last_name=john.last_name,
        language="hu",
        company_id=globex.id,
        sees_company_tickets=False,
    )
    assert len(audit.entries_for(session, object_type="customer_user", object_id=john.id)) == 1


def test_deactivate_and_reactivate_never_delete_and_password_is_audited_without_value(
    session, agent, customer
):
    admin = agent("admin")
    jane = customer("jane.roe@acme.example")
    assert customer_admin.set_customer_valid(session, actor=admin, customer=jane, valid=False)
    assert not customer_admin.set_customer_valid(session, actor=admin, customer=jane, valid=False)
    assert session.get(CustomerUser, jane.id) is not None
    assert not jane.valid
    assert customer_admin.set_customer_valid(session, actor=admin, customer=jane, valid=True)
    with pytest.raises(ValidationError):
        customer_admin.set_customer_password(session, actor=admin, customer=jane, password="short")
    customer_admin.set_customer_password(session, actor=admin, customer=jane, password="brand new secret")
    assert verify_password(jane.password_hash, "brand new secret")
    entries = audit.entries_for(session, object_type="customer_user", object_id=jane.id)
    assert [e.action for e in entries] == ["set_password", "reactivate", "deactivate"]
    assert entries[0].old_values == "{}"
    assert entries[0].new_values == "{}"


def test_search_finds_by_name_email_login_and_company_with_pages(session, agent):
    admin = agent("admin")

    def logins(**kwargs) -> list[str]:
        return [c.login for c in customer_admin.search_customers(session, actor=admin, **kwargs).items]

    assert logins(words="ivan petrov") == ["ivan.petrov@globex.example"]
    assert logins(words="ROE@") == ["jane.roe@acme.example"]
    assert logins(words="acme corp") == ["jane.roe@acme.example", "john.doe@acme.example"]
    assert logins(words="globex") == ["ivan.petrov@globex.example"]
    assert logins(words="100%_") == []
    first = customer_admin.search_customers(session, actor=admin, page_size=3)
    second = customer_admin.search_customers(session, actor=admin, page=2, page_size=3)
    assert first.has_next
    assert len(first.items) == 3
    assert not {c.id for c in first.items} & {c.id for c in second.items}


def test_company_create_edit_deactivate_are_audited(session, agent):
    admin = agent("admin")
    with pytest.raises(ValidationError) as refused:
        customer_admin.create_company(session, actor=admin, customer_id="ACME", name="")
    assert set(refused.value.errors) == {"customer_id", "name"}
    initech = customer_admin.create_company(
        session, actor=admin, customer_id="INITECH", name="Initech", city="Austin"
    )
    assert customer_admin.update_company(
        session,
        actor=admin,
        company=initech,
        customer_id="INITECH",
        name="Initech Inc.",
        street="",
        city="Austin",
        country="US",
        comment="",
    )
    assert customer_admin.set_company_valid(session, actor=admin, company=initech, valid=False)
    entries = audit.entries_for(session, object_type="customer_company", object_id=initech.id)
    assert [e.action for e in entries] == ["deactivate", "update", "create"]
    assert entries[1].old == {"name": "Initech", "country": ""}
    assert entries[1].new == {"name": "Initech Inc.", "country": "US"}


def test_company_tickets_are_only_those_the_administrator_may_read(session, agent):
    acme = _company(session, "ACME")
    everything = customer_admin.company_tickets(session, actor=agent("admin"), company=acme)
    titles = {t.title for t in everything.items}
    assert titles == {"I forgot my password", "Refund for double invoice"}
    # An administrator who reads only Raw sees only the Raw ticket of ACME, not Finance's.
    narrow = agents.create_agent(session, actor=SYSTEM, login="narrow-admin", password=None)
    agents.grant_group(
        session, actor=SYSTEM, agent=narrow, group=agents.get_group(session, name="admin"), permissions=["rw"]
    )
    agents.grant_group(
        session, actor=SYSTEM, agent=narrow, group=agents.get_group(session, name="raw"), permissions=["ro"]
    )
    seen = customer_admin.company_tickets(session, actor=narrow, company=acme)
    assert [t.title for t in seen.items] == ["I forgot my password"]
    assert all(isinstance(t, Ticket) and t.customer_company_id == acme.id for t in seen.items)


@pytest.mark.parametrize("login", ["observer", "alice"])
def test_non_administrators_are_refused_before_the_input_is_checked(session, agent, customer, login):
    actor = agent(login)
    john = customer("john.doe@acme.example")
    calls = [
        lambda: customer_admin.create_customer(session, actor=actor, email="bad"),
        lambda: customer_admin.update_customer(
            session,
            actor=actor,
            customer=john,
            email="bad",
            login="",
            first_name="",
            last_name="",
            language="xx",
            company_id=None,
            sees_company_tickets=True,
        ),
        lambda: customer_admin.set_customer_valid(session, actor=actor, customer=john, valid=False),
        lambda: customer_admin.set_customer_password(session, actor=actor, customer=john, password="x"),
        lambda: customer_admin.search_customers(session, actor=actor, words="\x00"),
        lambda: customer_admin.create_company(session, actor=actor, customer_id="", name=""),
        lambda: customer_admin.get_customer(session, actor=actor, customer_id=0),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    assert john.valid


def test_unknown_ids_are_not_found(session, agent):
    with pytest.raises(NotFound):
        customer_admin.get_customer(session, actor=agent("admin"), customer_id=2**40)
    with pytest.raises(NotFound):
        customer_admin.get_company(session, actor=agent("admin"), company_id=0)


def test_ids_beyond_32_bits_are_field_errors_or_match_nothing(session, agent, customer):
    admin = agent("admin")
    with pytest.raises(ValidationError) as refused:
        customer_admin.create_customer(session, actor=admin, email="big@id.example", company_id=2**40)
    assert refused.value.errors == {"company_id": ["no such company"]}
    assert customer_admin.search_customers(session, actor=admin, company_id=2**40).items == []
    assert customer_admin.search_customers(session, actor=admin, company_id=-1).items == []
