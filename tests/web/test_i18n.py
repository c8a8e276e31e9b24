"""The UI speaks English, German, Russian and Hungarian, completely."""

from __future__ import annotations

import pytest

from tests.web.conftest import csrf_token_in

# The catalogs themselves (every text translated): tests/web/test_catalogs.py.


@pytest.mark.parametrize(
    ("code", "sign_out", "inbox"),
    [("de", "Abmelden", "Eingang"), ("ru", "Выйти", "Входящие"), ("hu", "Kijelentkezés", "Beérkezett")],
)
def test_switching_the_language_translates_the_pages_and_is_remembered(
    client, login, agent, code, sign_out, inbox
):
    login("alice")
    page = client.get("/")
    response = client.post(
        "/language", data={"language": code, "next": "/", "csrf_token": csrf_token_in(page.text)}
    )
    assert response.status_code == 303
    html = client.get("/").text
    assert f'<html lang="{code}">' in html
    assert sign_out in html
    assert inbox in html
    assert agent("alice").language == code  # saved for the next sign-in


def test_the_browser_language_is_used_before_anyone_chooses(client):
    html = client.get("/login", headers={"Accept-Language": "hu-HU,hu;q=0.9,en;q=0.5"}).text
    assert '<html lang="hu">' in html
    assert "Bejelentkezés" in html


def test_an_unknown_language_is_ignored_and_next_cannot_leave_the_site(client, login):
    login("alice")
    page = client.get("/")
    response = client.post(
        "/language",
        data={"language": "xx", "next": "https://evil.example/", "csrf_token": csrf_token_in(page.text)},
    )
    assert response.headers["Location"] == "/"
    assert '<html lang="en">' in client.get("/").text
