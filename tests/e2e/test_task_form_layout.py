"""The triage form in Chromium: radios beside their labels, a refused completion swapped in by
htmx with the typed text and the error beside the field, then completed with the queue picker."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import session_scope
from desk.ticket.models import Ticket
from tests.e2e.conftest import screenshot, sign_in

pytestmark = pytest.mark.slow


def _ticket_id(factory, title: str) -> int:
    with session_scope(factory) as session:
        return session.scalars(select(Ticket.id).where(Ticket.title == title)).one()


def test_radios_sit_beside_their_labels_and_a_refusal_keeps_the_typed_text(page, live_server, e2e_factory):
    ticket_id = _ticket_id(e2e_factory, "I forgot my password")
    sign_in(page, live_server, "secretary")
    page.goto(f"{live_server}/tickets/{ticket_id}")
    form = page.locator("div.task:has(h3:text-is('Triage')) form.task-form")

    for value in ("close", "move", "work"):
        radio = form.locator(f"input[name=decision][value={value}]")
        text = form.locator(f"label.choice:has(input[value={value}]) > span")
        box, label = radio.bounding_box(), text.bounding_box()
        assert box is not None
        assert label is not None
        assert box["width"] <= 30
        assert box["height"] <= 30
        # Beside the text, on its line: a little gap to the right, vertically inside the text's box.
        assert 0 <= label["x"] - (box["x"] + box["width"]) <= 20
        middle = box["y"] + box["height"] / 2
        assert label["y"] - 4 <= middle <= label["y"] + label["height"] + 4
    # The label is the touch target: at least 44 px high.
    choice = form.locator("label.choice:has(input[value=move])").bounding_box()
    assert choice is not None
    assert choice["height"] >= 43.5
    screenshot(page, "task-form-triage-en")

    form.locator("textarea[name=question]").fill("Which account do you mean?")
    form.locator("input[name=decision][value=move]").check()
    form.get_by_role("button", name="Complete", exact=True).click()

    error = page.locator("div.task [data-field=target_queue] .field__error")
    error.wait_for()
    assert "required" in error.inner_text()
    form = page.locator("div.task:has(h3:text-is('Triage')) form.task-form")
    assert form.locator("textarea[name=question]").input_value() == "Which account do you mean?"
    assert form.locator("input[name=decision][value=move]").is_checked()

    form.locator("select[name=target_queue]").select_option("2nd level")
    form.get_by_role("button", name="Complete", exact=True).click()
    page.wait_for_url(f"{live_server}/tickets/{ticket_id}")
    page.wait_for_load_state("networkidle")
    assert "The task “Triage” is done." in page.locator(".notices").inner_text()
    with session_scope(e2e_factory) as session:
        assert session.get(Ticket, ticket_id).queue.name == "2nd level"
