"""The agent administration pages, as an administrator uses them in the browser."""

from __future__ import annotations

import re

from sqlalchemy import select

from core.security import verify_password
from desk.agent import service as agents
from desk.agent.models import Agent, ApiToken
from desk.outbox.models import OutboxMessage
from mail.outbound.compose import compose
from tests.web.conftest import csrf_token_in, sign_in


def _agent(session, login: str) -> Agent:
    return session.scalars(select(Agent).where(Agent.login == login)).one()


def test_an_administrator_creates_an_agent_and_sees_the_trail(client, login, post_form, session):
    login("admin")
    response = post_form(
        "/admin/agents/new",
        data={
            "login": "nina",
            "first_name": "Nina",
            "last_name": "Nagy",
            "email": "nina@helpdesk.example",
            "language": "hu",
            "may_contact_customers": "on",
            "password": "nina-secret-42",
        },
    )
    assert response.status_code == 303
    nina = _agent(session, "nina")
    assert (nina.full_name, nina.language, nina.read_only) == ("Nina Nagy", "hu", False)
    page = client.get(response.headers["Location"]).text
    assert "Nina Nagy" in page
    assert "Changes" in page
    assert "Ada Admin (admin)" in page
    assert "create" in page
    assert "nina-secret-42" not in page


def test_bad_input_comes_back_with_errors_next_to_the_fields(client, login, post_form, session):
    login("admin")
    response = post_form(
        "/admin/agents/new",
        data={"login": "two words", "email": "not-an-address", "first_name": "Typed", "language": "en"},
    )
    assert response.status_code == 422
    page = response.text
    assert 'id="agent-login-error"' in page
    assert 'id="agent-email-error"' in page
    assert 'value="Typed"' in page
    assert 'value="not-an-address"' in page
    assert session.scalar(select(Agent).where(Agent.login == "two words")) is None


def test_editing_records_only_the_changed_fields(client, login, post_form, session):
    login("admin")
    alice = _agent(session, "alice")
    response = post_form(
        f"/admin/agents/{alice.id}",
        data={
            "first_name": "Alice",
            "last_name": "Erste",
            "email": alice.email,
            "language": "de",
            "may_contact_customers": "on",
        },
    )
    assert response.status_code == 303
    session.refresh(alice)
    assert (alice.last_name, alice.language) == ("Erste", "de")
    trail = client.get(f"/admin/agents/{alice.id}").text
    assert re.search(r"last_name</span>: First → Erste", trail)
    assert re.search(r"language</span>: en → de", trail)
    assert "first_name</span>" not in trail


def test_deactivating_signs_the_agent_out_and_reactivating_lets_them_back(
    app, client, login, post_form, session
):
    alice = _agent(session, "alice")
    other = app.test_client()
    sign_in(other, "alice")
    assert other.get("/inbox").status_code == 200

    login("admin")
    response = post_form(f"/admin/agents/{alice.id}", f"/admin/agents/{alice.id}/active", {"active": "0"})
    assert response.status_code == 303
    assert other.get("/inbox").status_code == 302
    assert sign_in(other, "alice").status_code == 200  # the form again: refused
    assert "Inactive" in client.get(f"/admin/agents/{alice.id}").text

    post_form(f"/admin/agents/{alice.id}", f"/admin/agents/{alice.id}/active", {"active": "1"})
    assert sign_in(other, "alice").status_code == 302
    assert other.get("/inbox").status_code == 200


def test_bulk_deactivation_lists_what_happened_to_each(client, login, post_form, session):
    login("admin")
    ids = [_agent(session, name).id for name in ("alice", "bob", "admin")]
    response = post_form(
        "/admin/agents", "/admin/agents/bulk", {"action": "deactivate", "agent_ids": [str(i) for i in ids]}
    )
    assert response.status_code == 200
    page = response.text
    assert "alice: changed" in page
    assert "bob: changed" in page
    assert "admin: refused — you cannot deactivate yourself" in page
    assert not _agent(session, "bob").active
    assert _agent(session, "admin").active


def test_the_list_searches_filters_and_pages(client, login, session):
    login("admin")
    found = client.get("/admin/agents", query_string={"q": "arthur"}).text
    assert ">authorizer</a>" in found
    assert ">alice</a>" not in found
    consultant_role = client.get("/admin/roles").text
    role_id = re.search(r'href="/admin/roles/(\d+)">consultant<', consultant_role).group(1)
    by_role = client.get("/admin/agents", query_string={"role": role_id}).text
    assert ">consultant</a>" in by_role
    assert ">bob</a>" not in by_role
    for number in range(30):
        agents.create_agent(session, actor=_agent(session, "admin"), login=f"zz{number:02}", password=None)
    session.flush()
    first = client.get("/admin/agents").text
    assert 'rel="next"' in first
    second = client.get("/admin/agents", query_string={"page": 2}).text
    assert ">zz29</a>" in second
    assert ">alice</a>" not in second


def test_setting_a_password_works_and_a_short_one_is_refused(app, client, login, post_form, session):
    login("admin")
    bob = _agent(session, "bob")
    short = post_form(f"/admin/agents/{bob.id}", f"/admin/agents/{bob.id}/password", {"password": "short"})
    assert short.status_code == 422
    assert "at least 8 characters" in short.text
    done = post_form(
        f"/admin/agents/{bob.id}", f"/admin/agents/{bob.id}/password", {"password": "bob-new-pass-1"}
    )
    assert done.status_code == 303
    session.refresh(bob)
    assert verify_password(bob.password_hash, "bob-new-pass-1")
    assert sign_in(app.test_client(), "bob", "bob-new-pass-1").status_code == 302


def test_a_set_password_link_is_mailed_and_works_once(app, client, login, post_form, session):
    login("admin")
    bob = _agent(session, "bob")
    response = post_form(f"/admin/agents/{bob.id}", f"/admin/agents/{bob.id}/password-link", {})
    assert response.status_code == 303
    row = session.scalars(select(OutboxMessage).where(OutboxMessage.to_addr == bob.email)).one()
    mail = compose(row, session=session)
    text = mail.get_body(("plain",)).get_content()
    assert mail["Subject"] == "Choose your password for the help desk"
    assert "login: bob" in text
    link = re.search(r"http://localhost(/password/\S+)", text).group(1)

    browser = app.test_client()
    page = browser.get(link)
    assert page.status_code == 200
    assert "Your login is bob." in page.text
    differ = browser.post(
        link, data={"password": "abc-def-ghi", "confirm": "other", "csrf_token": csrf_token_in(page.text)}
    )
    assert differ.status_code == 422
    assert "The two passwords differ." in differ.text
    chosen = browser.post(
        link,
        data={"password": "abc-def-ghi", "confirm": "abc-def-ghi", "csrf_token": csrf_token_in(page.text)},
    )
    assert chosen.status_code == 303
    assert sign_in(browser, "bob", "abc-def-ghi").status_code == 302
    again = app.test_client().get(link)
    assert again.status_code == 404
    assert "used already, has expired or is unknown" in again.text


def test_an_agent_without_address_gets_no_link(client, login, post_form, session):
    login("admin")
    nomail = agents.create_agent(session, actor=_agent(session, "admin"), login="nomail", password=None)
    session.flush()
    response = post_form(f"/admin/agents/{nomail.id}", f"/admin/agents/{nomail.id}/password-link", {})
    assert response.status_code == 422
    assert "the agent has no e-mail address" in response.text
    assert (
        session.scalars(select(OutboxMessage).where(OutboxMessage.subject.like("Choose your%"))).all() == []
    )


def test_revoking_a_token_on_the_page_stops_it(client, login, post_form, session):
    bob = _agent(session, "bob")
    token = agents.create_token(session, actor=bob, agent=bob, name="build server")
    row = session.scalars(select(ApiToken).where(ApiToken.agent_id == bob.id)).one()
    login("admin")
    page = client.get(f"/admin/agents/{bob.id}").text
    assert "build server" in page
    response = post_form(f"/admin/agents/{bob.id}", f"/admin/agents/{bob.id}/tokens/{row.id}/revoke", {})
    assert response.status_code == 303
    session.expire_all()
    assert agents.authenticate_token(session, token=token) is None
    assert "revoked" in client.get(f"/admin/agents/{bob.id}").text


def test_the_permission_matrix_and_roles_are_saved_from_checkboxes(client, login, post_form, session):
    login("admin")
    trainee = _agent(session, "trainee")
    page = client.get(f"/admin/agents/{trainee.id}/permissions").text
    boxes = dict(re.findall(r'name="(perm-\d+-\w+)"( checked)?', page))
    checked = [name for name, mark in boxes.items() if mark]
    assert checked  # the trainee's own grants are ticked
    authorizer_id = re.search(r'name="role_ids" value="(\d+)"> authorizer', page).group(1)
    finance = re.search(r'name="perm-(\d+)-ro"\s+aria-label="finance: ', page).group(1)
    data = {name: "on" for name in checked} | {f"perm-{finance}-ro": "on", "role_ids": authorizer_id}
    response = post_form(f"/admin/agents/{trainee.id}/permissions", data=data)
    assert response.status_code == 303
    session.expire_all()
    trainee = _agent(session, "trainee")
    assert [role.name for role in trainee.roles] == ["authorizer"]
    why = client.get(f"/admin/agents/{trainee.id}/why").text
    assert "What can Tom Trainee do, and why?" in why
    finance_queue = re.search(r'<option value="(\d+)"[^>]*>Finance<', why).group(1)
    why = client.get(f"/admin/agents/{trainee.id}/why", query_string={"queue": finance_queue}).text
    row_ro = why.split('id="why-ro"')[1].split("</tr>")[0]
    assert "granted directly" in row_ro
    assert "through the role authorizer" in row_ro
    row_note = why.split('id="why-note"')[1].split("</tr>")[0]
    assert "through the role authorizer" in row_note
    assert "granted directly" not in row_note
    row_rw = why.split('id="why-rw"')[1].split("</tr>")[0]
    assert ">no<" in row_rw


def test_ids_and_numbers_out_of_range_are_not_found_never_an_error(client, login):
    login("admin")
    for url in ("/admin/agents/99999999999", "/admin/roles/99999999999", "/admin/groups/99999999999"):
        response = client.get(url)
        assert response.status_code == 404, url
    listing = client.get("/admin/agents", query_string={"role": "99999999999", "page": "99999999999"})
    assert listing.status_code == 200
    # An id that cannot exist filters nothing; a page beyond any number is the first.
    assert ">alice</a>" in listing.text


def test_a_bulk_action_that_is_neither_is_422_and_changes_nobody(client, login, post_form, session):
    login("admin")
    bob = _agent(session, "bob")
    response = post_form(
        "/admin/agents", "/admin/agents/bulk", {"action": "delete", "agent_ids": [str(bob.id)]}
    )
    assert response.status_code == 422
    assert 'id="bulk-action-error">choose activate or deactivate<' in response.text
    session.refresh(bob)
    assert bob.active
