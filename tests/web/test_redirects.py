"""Every ``next`` a client names leads to a page of this site, however it is spelled.

A browser drops tabs and newlines in a ``Location``, strips leading controls and reads
backslashes as slashes; :func:`browser_reads` does the same, so an answer passes only when a
real browser would stay on our origin.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest

from tests.web.conftest import csrf_token_in
from tests.web.test_inbox import post_with_token, started, task_of  # noqa: F401 (fixture)

ORIGIN = "http://localhost"
HOSTILE_NEXT = [
    "/\t/evil.example",
    "/%09/evil.example",
    "/\n/evil.example",
    "/%0a/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/%5Cevil.example",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "https://evil.example/",
    "HTTPS:evil.example",
    "javascript:alert(1)",
    "\x00/evil.example",
    "/\x00/evil.example",
]


def browser_reads(location: str) -> str:
    """``location`` resolved against our origin the way a browser's URL parser reads it."""
    cleaned = re.sub(r"[\t\n\r]", "", location).strip("".join(chr(c) for c in range(0x21)))
    return urljoin(f"{ORIGIN}/", cleaned.replace("\\", "/"))


def assert_stays_here(response) -> None:
    if response.status_code in (400, 422):
        # Refused as input (a NUL byte in a form field): no redirect at all.
        assert "Location" not in response.headers
        return
    assert response.status_code in (302, 303), response.status_code
    location = response.headers["Location"]
    resolved = urlsplit(browser_reads(location))
    assert (resolved.scheme, resolved.netloc) == ("http", "localhost"), location
    # Not even once decoded could it be read as another host.
    assert not re.match(r"^(/|%2f|%5c|\\){2}", location, re.IGNORECASE), location


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_the_language_switch_never_leaves_the_site(client, login, target):
    login("alice")
    page = client.get("/")
    response = client.post(
        "/language", data={"language": "de", "next": target, "csrf_token": csrf_token_in(page.text)}
    )
    assert_stays_here(response)


def test_the_language_switch_still_goes_back_to_the_page(client, login):
    login("alice")
    page = client.get("/")
    response = client.post(
        "/language",
        data={"language": "de", "next": "/search?words=%C3%A9", "csrf_token": csrf_token_in(page.text)},
    )
    assert response.headers["Location"] == "/search?words=%C3%A9"


@pytest.mark.parametrize("action", ["claim", "release"])
@pytest.mark.parametrize("target", ["/%09/evil.example", "/\t/evil.example", "/\\evil.example", "/%2F/evil"])
def test_claim_and_release_never_leave_the_site(client, login, session, started, action, target):  # noqa: F811
    task = task_of(session, started["I forgot my password"])
    login("secretary")
    response = post_with_token(client, f"/tasks/{task.id}/{action}", next=target)
    assert_stays_here(response)
    assert response.headers["Location"] == "/inbox"


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_sign_in_never_leaves_the_site(client, login, target):
    response = login("alice", next_url=target)
    assert_stays_here(response)
    assert response.headers["Location"] == "/"


def test_sign_in_goes_on_to_a_page_of_this_site(client, login):
    response = login("alice", next_url="/inbox?scope=mine")
    assert response.headers["Location"] == "/inbox?scope=mine"
