"""Every loop of the shipped processes, run as often as a ticket's people run it.

Once a loop has deepened the task tree to ``COMPACT_AT_DEPTH`` levels, :mod:`engine.compaction`
cuts out the finished trunk; a loop through a call activity (a consultation, an
authorization, an external specialist) also drops the finished sub-workflows.  The
consultation loop crashed the fourth time round ("A task with id … was not found"): dropping a
compacted call activity's sub-workflow looked up the call activity it had just removed.
Each test here drives one loop 25 times through the use cases (``flows``) on the real
``bpmn/`` files and checks what the ticket's people see: the right open task for the right
agent, every round's notes and mails, the ticket's state, the process still closing the
ticket at the end; and that the stored instance stays flat.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from desk.actor import SYSTEM
from desk.agent.models import Agent
from desk.outbox.models import OutboxMessage
from engine import compaction, definitions, position
from engine.models import HumanTask, ProcessInstance
from flows import customer_message, process_migration, state, tasks
from flows.drafts import ArticleDraft
from tests.processes.support import (
    BPMN_DIR,
    fire_due_timer,
    new_agent,
    notes,
    one_task,
    open_tasks,
    reach_pending_time,
    round_trip,
    workflow_of,
)
from tests.processes.test_spec_storage import STATE_LIMIT

ROUNDS = 25
# A loop through a call activity keeps the finished sub-workflows of its last rounds (the 20
# kept levels hold three, ~6 KB each; the ticket page shows their steps' data): 34-41 KB.
CALLED_STATE_LIMIT = 45_000
# Once the tree is deep enough to be compacted (by the fifth round of any loop), a round
# replaces an older one: the remaining rounds may add this much in all (growing ids).
LATE_GROWTH_LIMIT = 1_000
SPECIALIST = "printer.guru@vendor.example"
TOKEN = re.compile(r"\[Req#([0-9a-f]{12})\]")


@dataclass
class Desk:
    """The people and the ticket's instance one loop is driven with."""

    session: Any
    people: dict[str, Agent]
    instance: ProcessInstance

    def do(self, login: str, name: str, **form: Any) -> None:
        """``login`` claims and completes the open task ``name`` through the use cases."""
        task = one_task(self.session, self.instance, name)
        actor = self.people[login]
        tasks.claim(self.session, actor=actor, task_id=task.id)
        tasks.complete(self.session, actor=actor, task_id=task.id, data=form)

    def customer_replies(self, text: str) -> None:
        ticket = self.instance.ticket
        draft = ArticleDraft(channel="email", subject=f"Re: {ticket.title}", body_text=text)
        customer_message.customer_message(
            self.session, actor=ticket.customer_user, ticket=ticket, draft=draft, rejectable=False
        )


def consultation(desk: Desk, n: int) -> None:
    desk.do("bob", "Work", action="consult", consultation_question=f"Question {n}?")
    desk.do("consultant", "Consult", note=f"Answer {n}.", outcome="return")


def consultation_passed_on(desk: Desk, n: int) -> None:
    # The loop inside the called process: one consultant passes on to the other and back.
    desk.do("consultant", "Consult", note=f"Partial answer {n}.", outcome="pass_on", next_consultant="carla")
    desk.do("carla", "Consult", note=f"More {n}.", outcome="pass_on", next_consultant="consultant")


def authorization(desk: Desk, n: int) -> None:
    desk.do("bob", "Work", action="authorize", authorization_request=f"Refund {n} EUR")
    desk.do("authorizer", "Authorize", decision="approve", comment=f"Fine {n}.")


def external_specialist(desk: Desk, n: int) -> None:
    desk.do(
        "bob",
        "Work",
        action="external",
        specialist_email=SPECIALIST,
        specialist_question=f"Known issue {n}?",
    )
    mail = desk.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.ticket_id == desk.instance.ticket.id, OutboxMessage.to_addr == SPECIALIST)
        .order_by(OutboxMessage.id.desc())
    ).first()
    token = TOKEN.search(mail.article.subject).group(1)
    draft = ArticleDraft(channel="email", subject=f"Re: {mail.article.subject}", body_text=f"Yes {n}.")
    customer_message.third_party_message(
        desk.session, ticket=desk.instance.ticket, draft=draft, request_token=token
    )


def specialist_silent(desk: Desk, n: int) -> None:
    # The loop inside external_specialist: no answer by the reminder, bob waits again.
    fire_due_timer(desk.session, desk.instance)
    desk.do("bob", "No answer from the specialist", next_step="wait_again")


def ask_customer_at_work(desk: Desk, n: int) -> None:
    desk.do("bob", "Work", action="ask_customer", question=f"Which model {n}?")
    desk.customer_replies(f"Model {n}.")


def customer_silent_at_work(desk: Desk, n: int) -> None:
    desk.do("bob", "Work", action="ask_customer", question=f"Which model {n}?", reminder_days=1)
    assert reach_pending_time(desk.session, desk.instance.ticket) == "process"


def reopened_after_resolve(desk: Desk, n: int) -> None:
    desk.do("bob", "Work", action="resolve")
    desk.customer_replies(f"Still broken {n}.")


def ask_customer_at_triage(desk: Desk, n: int) -> None:
    desk.do("secretary", "Triage", decision="ask_customer", question=f"Which floor {n}?")
    desk.customer_replies(f"Floor {n}.")


@dataclass(frozen=True)
class Loop:
    """One loop kind: how to get to its start, one round, and where a round leaves the ticket."""

    prepare: Callable[[Desk], None]
    round: Callable[[Desk, int], None]
    step: str  # the task open after each round
    worker: str  # whose it is
    notes_per_round: tuple[str, ...] = ()
    mails_per_round: int = 0
    state_limit: int = STATE_LIMIT


def at_work(desk: Desk) -> None:
    desk.do("secretary", "Triage", decision="move", target_queue="2nd level")


def at_consult(desk: Desk) -> None:
    at_work(desk)
    desk.do("bob", "Work", action="consult", consultation_question="Who knows?")


def at_no_answer(desk: Desk) -> None:
    at_work(desk)
    desk.do("bob", "Work", action="external", specialist_email=SPECIALIST, specialist_question="Anyone?")


LOOPS = {
    "consultation": Loop(
        at_work,
        consultation,
        "Work",
        "bob",
        ("Question for the consultant", "Consultation"),
        state_limit=CALLED_STATE_LIMIT,
    ),
    "consultation passed on": Loop(
        at_consult,
        consultation_passed_on,
        "Consult",
        "consultant",
        ("Consultation", "Consultation"),
        state_limit=CALLED_STATE_LIMIT,
    ),
    "authorization": Loop(at_work, authorization, "Work", "bob", state_limit=CALLED_STATE_LIMIT),
    "external specialist": Loop(
        at_work, external_specialist, "Work", "bob", mails_per_round=1, state_limit=CALLED_STATE_LIMIT
    ),
    "specialist silent": Loop(
        at_no_answer,
        specialist_silent,
        "",
        "bob",
        ("Reminder: external specialist",),
        state_limit=CALLED_STATE_LIMIT,
    ),
    "ask the customer at work": Loop(at_work, ask_customer_at_work, "Work", "bob", mails_per_round=1),
    "customer silent at work": Loop(
        at_work, customer_silent_at_work, "Work", "bob", ("Reminder",), mails_per_round=1
    ),
    "reopened after resolve": Loop(at_work, reopened_after_resolve, "Work", "bob"),
    "ask the customer at triage": Loop(
        lambda desk: None, ask_customer_at_triage, "Triage", "", mails_per_round=1
    ),
}


@pytest.fixture
def people(session, agent) -> dict[str, Agent]:
    found = {login: agent(login) for login in ("bob", "consultant", "authorizer", "secretary")}
    found["carla"] = new_agent(session, "carla", roles=["consultant"])
    return found


def _bytes(instance: ProcessInstance) -> int:
    return len(instance.workflow_json.encode())


def _mails(session: Any, instance: ProcessInstance) -> int:
    return len(
        session.scalars(select(OutboxMessage.id).where(OutboxMessage.ticket_id == instance.ticket.id)).all()
    )


@pytest.mark.parametrize("kind", list(LOOPS))
def test_a_loop_run_25_times_keeps_the_ticket_working(session, people, start_process, kind):
    loop = LOOPS[kind]
    desk = Desk(session, people, start_process())
    loop.prepare(desk)
    before_notes = len(notes(session, desk.instance.ticket))
    before_mails = _mails(session, desk.instance)
    sizes = []
    for n in range(ROUNDS):
        loop.round(desk, n)
        sizes.append(_bytes(desk.instance))

    instance = desk.instance
    assert instance.status == "running"
    if loop.step:
        task = one_task(session, instance, loop.step)
        assert len(open_tasks(session, instance)) == 1
        if loop.worker:
            assert task.candidate_agent_id == people[loop.worker].id
    else:
        # Waiting for the specialist again: nothing open, the reminder and the reply awaited.
        assert open_tasks(session, instance) == []
        assert instance.waiting_messages == ["specialist_replied", "ticket_closed"]
    subjects = [subject for subject, _ in notes(session, instance.ticket)[before_notes:]]
    for subject in set(loop.notes_per_round):
        assert subjects.count(subject) >= ROUNDS * loop.notes_per_round.count(subject), subjects
    assert _mails(session, instance) - before_mails >= ROUNDS * loop.mails_per_round
    completed = session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.state == "completed")
    ).all()
    assert len(completed) >= ROUNDS
    # Flat: the tree is kept shallow and the stored state stops growing.
    assert compaction.max_depth(workflow_of(instance)) < compaction.COMPACT_AT_DEPTH + 10
    assert max(sizes) <= loop.state_limit, f"bytes after each round: {sizes}"
    assert max(sizes[5:]) - sizes[5] <= LATE_GROWTH_LIMIT, f"bytes after each round: {sizes}"
    round_trip(session, instance)
    # The ticket page reads every completed step of the instance, also those compacted away.
    where = position.position_of(instance, data_for=[t.task_guid for t in completed])
    assert where.current
    assert len(where.data) >= 1


@pytest.mark.parametrize("kind", ["consultation", "authorization", "external specialist"])
def test_after_25_rounds_the_process_still_resolves_and_closes_the_ticket(
    session, people, start_process, kind
):
    loop = LOOPS[kind]
    desk = Desk(session, people, start_process())
    loop.prepare(desk)
    for n in range(ROUNDS):
        loop.round(desk, n)

    desk.do("bob", "Work", action="resolve")
    ticket = desk.instance.ticket
    assert ticket.state.name == "pending auto close+"
    assert reach_pending_time(session, ticket) == "process"

    assert ticket.state.name == "closed successful"
    assert desk.instance.status == "completed"
    assert open_tasks(session, desk.instance) == []


@pytest.mark.parametrize("rounds", [0, ROUNDS])
def test_closing_by_hand_ends_the_process_as_well_after_many_consultations(
    session, people, start_process, rounds
):
    desk = Desk(session, people, start_process())
    at_work(desk)
    for n in range(rounds):
        consultation(desk, n)
    desk.do("bob", "Work", action="consult", consultation_question="One more?")
    assert one_task(session, desk.instance, "Consult")

    state.close(session, actor=people["bob"], ticket=desk.instance.ticket)

    session.refresh(desk.instance)
    # The close handler ran, then the engine ended the instance with its called process.
    assert desk.instance.status == "cancelled"
    assert open_tasks(session, desk.instance) == []
    assert desk.instance.ticket.state.name == "closed successful"


def test_an_instance_after_25_consultations_moves_to_a_newer_version(
    session, people, start_process, agent, tmp_path
):
    """The migration diff reads every kept task of the compacted tree and its sub-workflows."""
    desk = Desk(session, people, start_process())
    at_work(desk)
    for n in range(ROUNDS):
        consultation(desk, n)
    work = one_task(session, desk.instance, "Work")
    shutil.copytree(BPMN_DIR, tmp_path / "bpmn")
    changed = tmp_path / "bpmn" / "ticket_handling.bpmn"
    changed.write_text(changed.read_text().replace('name="Work">', 'name="Work on it">', 1))
    definitions.deploy_directory(session, actor=SYSTEM, directory=tmp_path / "bpmn")

    process_migration.migrate(session, actor=agent("admin"), ticket=desk.instance.ticket, version=2)

    assert desk.instance.process_version.version == 2
    assert one_task(session, desk.instance, "Work").id == work.id  # the same inbox row
    consultation(desk, ROUNDS)
    assert one_task(session, desk.instance, "Work on it").candidate_agent_id == people["bob"].id
