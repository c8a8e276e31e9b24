"""Working without the mouse (issue 12): the shortcut help, and S1→S5 walked with the keyboard only.

These tests touch the page through ``page.keyboard`` alone (Tab, Enter, arrows, typing and the
shortcut keys) and ``page.goto`` for the first page of an agent; they read the page to decide
the next key, but never click.  The tickets are set up as in ``test_scenarios.py``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.db import session_scope
from desk.actor import SYSTEM
from desk.agent.models import Agent
from desk.article import service as articles
from desk.demo import DEMO_PASSWORD
from desk.outbox.models import OutboxMessage
from desk.template.models import StandardTemplate
from desk.ticket.models import Ticket
from engine.models import HumanTask
from tests.e2e.conftest import screenshot
from tests.e2e.test_scenarios import new_ticket  # noqa: F401 (the fixture, shared)

pytestmark = pytest.mark.slow

MAX_TABS = 120
# What the focused element is, for deciding the next key.
FOCUSED = """() => {
  const e = document.activeElement;
  if (!e) { return {}; }
  return {tag: e.tagName, name: e.getAttribute("name") || "", type: e.getAttribute("type") || "",
          value: e.value === undefined ? "" : String(e.value), text: (e.textContent || "").trim(),
          checked: !!e.checked, id: e.id || ""};
}"""


def focused(page: Any) -> dict[str, Any]:
    """The focused element's tag, name, type, value, text and id."""
    return dict(page.evaluate(FOCUSED))


def tab_to(page: Any, **wanted: str) -> dict[str, Any]:
    """Press Tab until the focused element has the ``wanted`` properties (``text`` may be a part)."""
    for _ in range(MAX_TABS):
        now = focused(page)
        if all(
            (value in now.get(key, "")) if key == "text" else now.get(key) == value
            for key, value in wanted.items()
        ):
            return now
        page.keyboard.press("Tab")
    raise AssertionError(f"no element with {wanted} reachable by Tab; last: {focused(page)}")


def sign_in_by_keyboard(page: Any, base: str, login: str) -> None:
    """The sign-in form with the keyboard: Tab to the fields, type, Enter."""
    page.goto(f"{base}/login")
    tab_to(page, name="login")
    page.keyboard.type(login)
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "password"
    page.keyboard.type(DEMO_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")


def press(page: Any, *keys: str, navigates: bool = False) -> None:
    """Press the keys one after the other (a navigation expected after the last one)."""
    for key in keys[:-1]:
        page.keyboard.press(key)
    if navigates:
        with page.expect_navigation():
            page.keyboard.press(keys[-1])
        page.wait_for_load_state("networkidle")
    else:
        page.keyboard.press(keys[-1])


def open_from_inbox(page: Any, title: str) -> None:
    """``g i`` to the inbox, ``j`` down the rows to the ticket titled ``title``, Enter."""
    press(page, "g", "i", navigates=True)
    for _ in range(30):
        page.keyboard.press("j")
        if title in focused(page)["text"]:
            break
    else:
        raise AssertionError(f"{title!r} is not in the inbox")
    press(page, "Enter", navigates=True)
    assert page.locator("h1", has_text=title).count() == 1


def choose(page: Any, value: str) -> None:
    """Choose ``value`` in the focused radio group or select with the arrow keys."""
    now = focused(page)
    if now["type"] == "radio" and not now["checked"]:
        page.keyboard.press("Space")
    for _ in range(40):
        now = focused(page)
        if now["value"] == value and (now["type"] != "radio" or now["checked"]):
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{value!r} cannot be chosen in {now}")


def complete_task(page: Any, task: str, **fields: str) -> None:
    """Fill the task's form field by field (Tab, arrows, typing) and send it with Enter."""
    page.keyboard.press("t")  # to the open task's form
    for name, value in fields.items():
        now = tab_to(page, name=name)
        if now["type"] == "radio" or now["tag"] == "SELECT":
            choose(page, value)
        else:
            page.keyboard.type(value)
    tab_to(page, tag="BUTTON", text="Complete")
    assert focused(page)["text"] == "Complete"
    press(page, "Enter", navigates=True)


def _open_tasks(factory: Any, ticket_id: int) -> list[str]:
    with session_scope(factory) as session:
        query = select(HumanTask.name).where(HumanTask.ticket_id == ticket_id, HumanTask.state == "open")
        return list(session.scalars(query))


def test_question_mark_opens_the_shortcut_help_and_escape_closes_it(page, live_server):
    sign_in_by_keyboard(page, live_server, "secretary")
    help_dialog = page.locator("dialog#shortcut-help")
    assert not help_dialog.is_visible()
    page.keyboard.press("?")
    assert help_dialog.is_visible()
    assert help_dialog.get_by_text("Next row").is_visible()
    screenshot(page, "shortcut-help-en")
    page.keyboard.press("Escape")
    assert not help_dialog.is_visible()

    # Typing a "?" into a field types it; the help stays shut.
    page.keyboard.press("/")
    page.keyboard.type("why?")
    assert not help_dialog.is_visible()
    assert focused(page)["value"] == "why?"


def test_s1_to_s5_with_the_keyboard_only(browser, live_server, e2e_factory, new_ticket):  # noqa: F811
    # S1: two mails became tickets with a Triage task each.
    faq_id, faq_number = new_ticket("Keyboard: how do I reset my password?")
    lag_id, _ = new_ticket("Keyboard: replication lag")
    secretary = browser.new_context(locale="en-US", viewport={"width": 1366, "height": 900}).new_page()
    sign_in_by_keyboard(secretary, live_server, "secretary")
    open_from_inbox(secretary, "Keyboard: how do I reset my password?")

    # S2: the customer writes again; the inbox marks the ticket unread until it is opened.
    with session_scope(e2e_factory) as session:
        ticket = session.get(Ticket, faq_id)
        articles.add_article(
            session,
            actor=SYSTEM,
            ticket=ticket,
            channel="email",
            sender_type="customer",
            visible_for_customer=True,
            subject=f"Re: [Ticket#{faq_number}]",
            body_text="Any news?",
            from_addr="john.doe@acme.example",
        )
    press(secretary, "g", "i", navigates=True)
    row = secretary.locator("tr[data-list-row]", has_text="Keyboard: how do I reset my password?")
    assert row.locator(".badge--unread").count() == 1
    open_from_inbox(secretary, "Keyboard: how do I reset my password?")

    # S3: the template answer, sent, and the ticket closed by the triage decision.
    press(secretary, "r")
    tab_to(secretary, id="template-select")
    choose(secretary, _template_id(e2e_factory, "Password reset"))
    tab_to(secretary, tag="BUTTON", text="Use template")
    secretary.keyboard.press("Enter")
    expect(secretary.locator("#reply-body")).to_have_value(re.compile(faq_number))
    tab_to(secretary, tag="BUTTON", text="Send reply")
    press(secretary, "Enter", navigates=True)
    assert secretary.get_by_text("Your reply was sent to the customer.").count() == 1
    complete_task(secretary, "Triage", decision="close")
    with session_scope(e2e_factory) as session:
        assert session.get(Ticket, faq_id).state.type == "closed"
        mail = session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == faq_id)).all()
        assert any(faq_number in m.article.subject for m in mail)

    # S4: triage moves the other ticket to 2nd level.
    open_from_inbox(secretary, "Keyboard: replication lag")
    complete_task(secretary, "Triage", decision="move", target_queue="2nd level")
    with session_scope(e2e_factory) as session:
        assert session.get(Ticket, lag_id).queue.name == "2nd level"
    assert _open_tasks(e2e_factory, lag_id) == ["Work"]

    # S5: bob asks the consultant, who answers and returns the ticket to bob.
    bob = browser.new_context(locale="en-US", viewport={"width": 1366, "height": 900}).new_page()
    sign_in_by_keyboard(bob, live_server, "bob")
    open_from_inbox(bob, "Keyboard: replication lag")
    complete_task(bob, "Work", action="consult", consultation_question="Is this lag normal?")
    assert _open_tasks(e2e_factory, lag_id) == ["Consult"]

    consultant = browser.new_context(locale="en-US", viewport={"width": 1366, "height": 900}).new_page()
    sign_in_by_keyboard(consultant, live_server, "consultant")
    open_from_inbox(consultant, "Keyboard: replication lag")
    complete_task(consultant, "Consult", note="Normal during backups.", outcome="return")
    assert _open_tasks(e2e_factory, lag_id) == ["Work"]
    with session_scope(e2e_factory) as session:
        work = session.scalars(
            select(HumanTask).where(HumanTask.ticket_id == lag_id, HumanTask.state == "open")
        ).one()
        assert work.candidate_agent_id == session.scalars(select(Agent.id).where(Agent.login == "bob")).one()
    open_from_inbox(bob, "Keyboard: replication lag")


def _template_id(factory: Any, name: str) -> str:
    with session_scope(factory) as session:
        return str(session.scalars(select(StandardTemplate.id).where(StandardTemplate.name == name)).one())


def test_rows_are_ticked_with_x_and_moved_in_bulk_by_keyboard(page, live_server, e2e_factory, new_ticket):  # noqa: F811
    ids = [new_ticket(f"Bulkkey printer {n}")[0] for n in range(3)]
    sign_in_by_keyboard(page, live_server, "secretary")
    page.goto(f"{live_server}/search?words=Bulkkey")
    press(page, "j", "x", "j", "j", "x")  # the first and the third row
    assert page.locator("[data-bulk-item]:checked").count() == 2
    screenshot(page, "search-bulk-en")
    tab_to(page, tag="BUTTON", text="Move")
    press(page, "Enter", navigates=True)
    assert page.get_by_text("2 tickets were moved to 1st level.").count() == 1
    screenshot(page, "bulk-result-en")
    with session_scope(e2e_factory) as session:
        queues = {session.get(Ticket, i).title: session.get(Ticket, i).queue.name for i in ids}
    moved = sorted(title for title, queue in queues.items() if queue == "1st level")
    assert len(moved) == 2

    # "Select all" is a checkbox like the others: Space ticks every row.
    page.goto(f"{live_server}/search?words=Bulkkey")
    tab_to(page, tag="INPUT", type="checkbox")
    page.keyboard.press("Space")
    assert page.locator("[data-bulk-item]:checked").count() == 3
