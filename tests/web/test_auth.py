"""Signing in and out: CSRF, wrong and inactive accounts, redirects, sessions."""

from __future__ import annotations

import pytest

from core.security import hash_password
from desk.demo import DEMO_PASSWORD
from tests.web.conftest import csrf_token_in


def signed_in(client) -> bool:
    """True when the dashboard opens instead of redirecting to the sign-in page."""
    return client.get("/").status_code == 200


def test_the_sign_in_page_has_a_csrf_token_and_labelled_fields(client):
    page = client.get("/login")

    assert page.status_code == 200
    html = page.text
    assert csrf_token_in(html)
    assert '<meta name="csrf-token" content="' in html
    assert '<label for="login">Login</label>' in html
    assert 'id="login" name="login"' in html
    assert '<label for="password">Password</label>' in html
    assert 'id="password" name="password" type="password"' in html
    assert 'autocomplete="current-password"' in html


@pytest.mark.smoke  # also on SQLite, the embedded database of `make demo`
def test_signing_in_without_a_csrf_token_is_refused_with_a_friendly_page(client):
    response = client.post("/login", data={"login": "alice", "password": DEMO_PASSWORD})

    assert response.status_code == 400
    assert "This form has expired" in response.text
    assert "Traceback" not in response.text
    assert not signed_in(client)


def test_signing_in_with_a_forged_csrf_token_is_refused(client):
    client.get("/login")
    response = client.post(
        "/login", data={"login": "alice", "password": DEMO_PASSWORD, "csrf_token": "forged"}
    )

    assert response.status_code == 400
    assert not signed_in(client)


def test_a_wrong_password_shows_an_error_and_does_not_sign_in(client, login):
    response = login("alice", "not-the-password")

    assert response.status_code == 200
    assert "The login or the password is not correct" in response.text
    assert 'value="alice"' in response.text  # the login is kept, the password is not
    assert "not-the-password" not in response.text
    assert not signed_in(client)


def test_an_unknown_login_gets_the_same_answer_as_a_wrong_password(client, login):
    response = login("nobody-by-that-name")

    assert response.status_code == 200
    assert "The login or the password is not correct" in response.text
    assert not signed_in(client)


def test_an_inactive_agent_cannot_sign_in(client, login, session, agent):
    agent("bob").active = False
    session.flush()

    response = login("bob")

    assert "The login or the password is not correct" in response.text
    assert not signed_in(client)


def test_an_empty_form_asks_for_both_fields(client):
    page = client.get("/login")
    response = client.post(
        "/login", data={"login": "", "password": "", "csrf_token": csrf_token_in(page.text)}
    )

    assert response.status_code == 200
    assert "Please enter your login." in response.text
    assert "Please enter your password." in response.text
    assert 'aria-invalid="true" aria-describedby="login-error"' in response.text


def test_a_login_with_a_nul_byte_is_a_form_error_not_a_server_error(client, login):
    response = login("ali\x00ce")

    assert response.status_code == 200
    assert "That is not a valid login." in response.text
    assert not signed_in(client)


@pytest.mark.smoke  # also on SQLite, the embedded database of `make demo`
def test_the_right_password_leads_to_the_dashboard(client, login):
    response = login("alice")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "Alice First" in dashboard.text  # the header names who is signed in
    assert "Sign out" in dashboard.text


def test_the_dashboard_sends_a_visitor_to_the_sign_in_page_and_back(client, login):
    response = client.get("/?page=2")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/?page%3D2"

    signed = login("alice", next_url="/?page=2")

    assert signed.headers["Location"] == "/?page=2"


def test_htmx_requests_of_a_visitor_are_told_to_load_the_sign_in_page(client):
    response = client.get("/", headers={"HX-Request": "true"})

    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "javascript:alert(1)",
        "https:/evil.example",
        "/\t/evil.example",
        "evil.example",
    ],
)
def test_next_pointing_elsewhere_is_not_followed(login, target):
    response = login("alice", next_url=target)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_a_signed_in_agent_opening_the_sign_in_page_goes_to_the_dashboard(client, login):
    login("alice")

    response = client.get("/login", query_string={"next": "https://evil.example/"})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_sign_out_by_get_does_not_exist(client, login):
    login("alice")

    response = client.get("/logout")

    assert response.status_code == 405
    assert "That action is not available here" in response.text
    assert "POST" in response.headers["Allow"]
    assert signed_in(client)


def test_sign_out_without_the_token_is_refused(client, login):
    login("alice")

    response = client.post("/logout")

    assert response.status_code == 400
    assert signed_in(client)


@pytest.mark.smoke  # also on SQLite, the embedded database of `make demo`
def test_sign_out_with_the_token_signs_out(client, login):
    login("alice")
    dashboard = client.get("/")

    response = client.post("/logout", data={"csrf_token": csrf_token_in(dashboard.text)})

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "You are signed out." in client.get("/login").text
    assert not signed_in(client)


def test_htmx_sends_the_token_as_a_header_which_is_accepted(client, login):
    login("alice")
    page = client.get("/").text
    meta_token = page.split('<meta name="csrf-token" content="', 1)[1].split('"', 1)[0]

    response = client.post("/logout", headers={"X-CSRFToken": meta_token, "HX-Request": "true"})

    assert response.status_code == 302
    assert not signed_in(client)


def test_app_js_puts_the_meta_token_into_the_htmx_header(client):
    script = client.get("/static/app.js")

    assert script.status_code == 200
    assert "htmx:configRequest" in script.text
    assert 'meta[name="csrf-token"]' in script.text
    assert '"X-CSRFToken"' in script.text


def test_a_deactivated_agent_is_signed_out_on_the_next_request(client, login, session, agent):
    login("alice")
    assert signed_in(client)

    agent("alice").active = False
    session.flush()

    assert not signed_in(client)


def test_changing_the_password_ends_other_sessions(client, login, session, agent):
    login("alice")
    assert signed_in(client)

    agent("alice").password_hash = hash_password("a-brand-new-password")
    session.flush()

    assert not signed_in(client)


def test_the_session_cookie_is_http_only_and_same_site(client):
    response = client.get("/login")

    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # only in production, which is served over HTTPS
