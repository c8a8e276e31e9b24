"""The ticket page of a ticket whose process looped long enough to be compacted.

:mod:`engine.compaction` cuts the steps of a loop's old rounds out of the stored workflow,
while their ``HumanTask`` rows stay; the page used to look each of them up in the workflow
and failed on the first one no longer kept.
"""

from __future__ import annotations

import html as html_lib
import re

from sqlalchemy import select

from desk.actor import SYSTEM
from engine.models import HumanTask
from flows import tasks
from tests.web import test_inbox
from tests.web.test_ticket_view_page import TRIAGE_MOVE, open_task

started = test_inbox.started  # the fixture: deployed processes, triage started
ROUNDS = 25


def test_the_page_shows_every_step_after_25_consultations(client, login, session, started):
    ticket = started["I forgot my password"]
    tasks.complete(session, actor=SYSTEM, task_id=open_task(session, ticket, "Triage").id, data=TRIAGE_MOVE)
    for n in range(ROUNDS):
        work = open_task(session, ticket, "Work")
        tasks.complete(
            session,
            actor=SYSTEM,
            task_id=work.id,
            data={"action": "consult", "consultation_question": f"Question {n}?"},
        )
        consult = open_task(session, ticket, "Consult")
        tasks.complete(
            session, actor=SYSTEM, task_id=consult.id, data={"note": f"Answer {n}.", "outcome": "return"}
        )
    session.flush()
    completed = session.scalars(
        select(HumanTask.id).where(HumanTask.ticket_id == ticket.id, HumanTask.state == "completed")
    ).all()
    login("admin")

    response = client.get(f"/tickets/{ticket.id}")

    assert response.status_code == 200
    page = html_lib.unescape(response.text)
    assert len(completed) == 1 + 2 * ROUNDS
    for task_id in completed:
        assert f'id="step-{task_id}"' in page
    # The latest round's answer is still read from the workflow and shown with its step.
    last = re.search(rf'<article id="step-{consult.id}".*?</article>', page, re.S)
    assert last is not None
    assert f"Answer {ROUNDS - 1}." in last.group(0)
    # The process is still at Work, waiting for the agent.
    assert "Work" in page
