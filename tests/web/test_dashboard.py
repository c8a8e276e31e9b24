"""The dashboard lists the tickets an agent may read, newest first, page by page."""

from __future__ import annotations

import re

import pytest

from desk.actor import SYSTEM
from desk.ticket import service as tickets
from web.dashboard import views as dashboard_views

DEMO_TITLES = (
    "Donation: a basketball hoop",
    "Refund for double invoice",
    "Printer on 3rd floor jams",
    "I forgot my password",
)


def titles_on(html: str) -> list[str]:
    """The ticket titles of a dashboard page, in the order shown."""
    return re.findall(r'<td class="tickets__title"[^>]*>([^<]*)</td>', html)


@pytest.mark.smoke  # also on SQLite, the embedded database of `make demo`
def test_the_secretary_sees_the_help_desk_tickets_but_not_the_clubs(client, login):
    login("secretary")

    html = client.get("/").text

    assert titles_on(html) == [
        "Refund for double invoice",
        "Printer on 3rd floor jams",
        "I forgot my password",
    ]
    assert "Raw" in html
    assert "Finance" in html


def test_the_accountant_sees_only_board_treasurer(client, login, session, queue):
    tickets.create_ticket(
        session, actor=SYSTEM, title="Receipt for the new nets", queue=queue("Board::Treasurer")
    )
    session.flush()
    login("accountant")

    html = client.get("/").text

    assert titles_on(html) == ["Receipt for the new nets"]
    assert "I forgot my password" not in html
    assert "Board::Treasurer" in html


def test_an_agent_without_tickets_sees_a_friendly_empty_list(client, login):
    login("accountant")

    html = client.get("/").text

    assert titles_on(html) == []
    assert "No tickets yet." in html


def test_each_row_shows_number_queue_state_priority_and_lock(client, login, session, queue, agent):
    ticket = tickets.create_ticket(
        session, actor=SYSTEM, title="VPN drops every hour", queue=queue("1st level"), priority=4
    )
    tickets.lock(session, actor=agent("alice"), ticket=ticket)
    session.flush()
    login("secretary")

    html = client.get("/").text

    assert titles_on(html)[0] == "VPN drops every hour"  # the newest comes first
    row = html.split("VPN drops every hour", 1)[1].split("</tr>", 1)[0]
    assert "1st level" in row
    assert ticket.state.name in row
    assert "4 high" in row
    assert "locked by Alice First" in row
    assert ticket.number in html.split("VPN drops every hour", 1)[0].rsplit("<tr>", 1)[1]
    other_row = html.split("Printer on 3rd floor jams", 1)[1].split("</tr>", 1)[0]
    assert "unlocked" in other_row


def test_titles_are_escaped(client, login, session, queue):
    tickets.create_ticket(session, actor=SYSTEM, title="<script>alert(1)</script>", queue=queue("Raw"))
    session.flush()
    login("secretary")

    html = client.get("/").text

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_pages_go_from_newest_to_oldest(client, login, monkeypatch):
    monkeypatch.setattr(dashboard_views, "PAGE_SIZE", 2)
    login("admin")

    first = client.get("/").text
    second = client.get("/?page=2").text
    third = client.get("/?page=3").text

    assert titles_on(first) == list(DEMO_TITLES[:2])
    assert 'href="/?page=2"' in first
    assert 'rel="prev"' not in first
    assert titles_on(second) == list(DEMO_TITLES[2:])
    assert 'href="/?page=1"' in second
    assert titles_on(third) == []
    assert "There are no more tickets." in third


@pytest.mark.parametrize("page", ["abc", "0", "-3", "", "1.5", "99999999999999999999999"])
def test_a_strange_page_number_never_breaks_the_dashboard(client, login, page):
    login("admin")

    response = client.get(f"/?page={page}")

    assert response.status_code == 200


def test_a_nul_in_the_page_number_is_refused_by_the_input_policy(client, login):
    login("admin")

    response = client.get("/?page=%00")

    assert response.status_code == 422
    assert "page" in response.text
