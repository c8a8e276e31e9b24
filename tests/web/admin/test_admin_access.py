"""Cross-cutting checks over every administration page of the app (everyone's, by the url_map).

* An administrator can open every GET page under /admin for every seeded object (found by
  following the links of the lists) in English, German, Russian and Hungarian: never an error.
* An observer and an agent without admin rights get 403 on every /admin URL, GET or POST
  (the POST with a valid CSRF token, so the refusal is the permission's, not the form's).
"""

from __future__ import annotations

import re
from collections import deque

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing.converters import AnyConverter, IntegerConverter

from tests.web.conftest import csrf_token_in

_HREF = re.compile(r'href="(/admin[^"#]*)"')
# Enough for every seeded object of the demo and its sub-pages; a crawl that reached it
# would mean a list links to itself without end (pages).
CRAWL_LIMIT = 1500
# What the last crawl's failing pages raised, for the assertion message.
errors: dict[str, str] = {}


def _admin_rules(app: Flask, method: str) -> list[tuple[str, dict[str, object]]]:
    """Each /admin rule that answers ``method``, as a URL with placeholder arguments."""
    urls = []
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or method not in (rule.methods or set()):
            continue
        values: dict[str, object] = {}
        for name in rule.arguments:
            converter = rule._converters[name]
            if isinstance(converter, AnyConverter):
                values[name] = sorted(converter.items)[0]
            elif isinstance(converter, IntegerConverter):
                values[name] = 1
            else:
                values[name] = "x"
        urls.append((adapter.build(rule.endpoint, values, method=method), values))
    return urls


def _crawl(client: FlaskClient, app: Flask) -> dict[str, int]:
    """Every /admin page reachable from the argument-less admin pages: URL → status."""
    start = [url for url, values in _admin_rules(app, "GET") if not values]
    assert "/admin/" in start
    seen: dict[str, int] = {}
    queue = deque(start)
    errors.clear()
    while queue:
        url = queue.popleft()
        if url in seen:
            continue
        assert len(seen) < CRAWL_LIMIT, "the admin pages link to more pages than the demo has objects"
        try:
            response = client.get(url)
        except Exception as exc:
            seen[url] = 500
            errors[url] = f"{type(exc).__name__}: {exc}"
            continue
        seen[url] = response.status_code
        if response.mimetype == "text/html":
            for found in _HREF.findall(response.text):
                link = found.replace("&amp;", "&")
                if link not in seen:
                    queue.append(link)
    return seen


def _choose_language(client: FlaskClient, language: str) -> None:
    page = client.get("/admin/")
    response = client.post(
        "/language", data={"language": language, "next": "/admin/", "csrf_token": csrf_token_in(page.text)}
    )
    assert response.status_code in (302, 303)


@pytest.mark.parametrize("language", ["en", "de", "ru", "hu"])
def test_every_admin_page_of_every_seeded_object_opens_for_an_administrator(app, client, login, language):
    login("admin")
    _choose_language(client, language)
    statuses = _crawl(client, app)
    broken = {url: errors.get(url, status) for url, status in statuses.items() if status != 200}
    assert not broken, "\n".join(f"{url}: {why}" for url, why in sorted(broken.items()))
    # The crawl reached the seeded objects' own pages, not only the lists.
    assert any(re.fullmatch(r"/admin/agents/\d+", url) for url in statuses)
    assert any(re.fullmatch(r"/admin/roles/\d+", url) for url in statuses)
    assert any(re.fullmatch(r"/admin/groups/\d+", url) for url in statuses)
    page = client.get("/admin/agents").text
    assert f'lang="{language}"' in page


@pytest.mark.parametrize("login_name", ["observer", "alice"])
def test_every_admin_url_refuses_an_observer_and_a_non_administrator(app, client, login, login_name):
    login(login_name)
    token = csrf_token_in(client.get("/inbox").text)
    gets = _admin_rules(app, "GET")
    posts = _admin_rules(app, "POST")
    assert len(gets) > 5
    assert posts
    not_refused = {}
    for url, _values in gets:
        status = client.get(url).status_code
        if status != 403:
            not_refused[f"GET {url}"] = status
    for url, _values in posts:
        status = client.post(url, data={"csrf_token": token, "name": "x", "login": "x"}).status_code
        if status != 403:
            not_refused[f"POST {url}"] = status
    assert not not_refused, not_refused
    # Nobody was told there is an administration to go to.
    assert "/admin/" not in client.get("/inbox").text


def test_the_admin_pages_ask_a_stranger_to_sign_in(app, client):
    for url, _values in _admin_rules(app, "GET"):
        response = client.get(url)
        assert response.status_code in (302, 401), url
        if response.status_code == 302:
            assert "/login" in response.headers["Location"]
