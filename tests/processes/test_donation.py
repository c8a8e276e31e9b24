"""S10, the sports club: a donated basketball hoop goes through parallel steps of five teams.

The diagram is the real ``bpmn/donation.bpmn`` with the real forms, deployed as a designer
would; every task is completed by the agent the scenario names, through the runtime.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFound, PermissionDenied, ValidationError
from desk.actor import SYSTEM
from desk.agent.models import Agent
from desk.history.models import History
from desk.outbox.models import OutboxMessage
from desk.permission import service as permissions
from desk.ticket import service as tickets
from engine import definitions, runtime, serialization
from engine.models import HumanTask, ProcessInstance
from engine.scripting import SafeEnvironment, TicketflowScriptEngine

ROOT = Path(__file__).resolve().parents[2]
# A non-candidate is refused; the task endpoints may also answer "not found" to reveal nothing.
NOT_FOR_YOU = (PermissionDenied, NotFound)
BPMN = ROOT / "bpmn" / "donation.bpmn"
FORMS = ROOT / "bpmn" / "forms"

ASK_SIZE = "Ask the donor for the hoop's size"
ASK_FOOTBALL = "Is a hoop across the football pitch acceptable?"
BOARD = "Approve the donation and write a thank-you letter"
RECEIPT = "Issue the donation receipt"
ARTICLE = "Write the article"
YOUTH = "Contribute the youth section"

CLUB = ("chair", "accountant", "clubdesk", "equipment", "coach", "press")


# --- helpers ---------------------------------------------------------------------------


def open_tasks(session: Session, instance: ProcessInstance) -> dict[str, HumanTask]:
    """The instance's open inbox tasks by name."""
    session.flush()
    rows = session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.state == "open")
    ).all()
    by_name = {row.name: row for row in rows}
    assert len(by_name) == len(rows), f"two open tasks share a name: {[r.name for r in rows]}"
    return by_name


def candidates(session: Session, task: HumanTask, agents: dict[str, Agent]) -> set[str]:
    """Logins of the club agents who may work on ``task``."""
    return {login for login, a in agents.items() if runtime.is_candidate(session, a, task)}


def round_trip(instance: ProcessInstance) -> Any:
    """Load the stored workflow, check the safe engine is set, and serialize it again unchanged."""
    workflow = serialization.loads(instance.workflow_json, TicketflowScriptEngine())
    assert isinstance(workflow.script_engine, TicketflowScriptEngine)
    assert isinstance(workflow.script_engine.environment, SafeEnvironment)
    assert json.loads(serialization.dumps(workflow)) == json.loads(instance.workflow_json)
    return workflow


def mails_to_donor(session: Session, ticket: Any) -> list[tuple[str, str, int | None]]:
    """(subject without the ticket hook, body, author) of the mails that went to the donor."""
    session.flush()
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id).order_by(OutboxMessage.id)
    ).all()
    result = []
    for row in rows:
        article = row.article
        assert article is not None
        assert row.to_addr == "donor@citizen.example"
        assert (article.channel, article.is_visible_for_customer) == ("email", True)
        result.append((article.subject.split("] ", 1)[-1], article.body_text, article.created_by_agent_id))
    return result


def letters(session: Session, ticket: Any) -> list[str]:
    """Bodies of the thank-you letters mailed to the donor."""
    return [body for subject, body, _ in mails_to_donor(session, ticket) if subject == "Thank-you letter"]


def ready_names(workflow: Any) -> set[str]:
    from SpiffWorkflow.util.task import TaskState

    return {t.task_spec.bpmn_name for t in workflow.get_tasks(state=TaskState.READY, manual=True)}


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture
def club(agent: Callable[[str], Agent]) -> dict[str, Agent]:
    return {login: agent(login) for login in CLUB}


@pytest.fixture
def donation(
    session: Session, queue: Callable[[str], Any], customer: Callable[[str], Any]
) -> ProcessInstance:
    """The donor's offer as a ticket in General, with the deployed donation process started."""
    versions = definitions.deploy(
        session, actor=SYSTEM, bpmn_xml=BPMN.read_text(), forms=definitions.read_forms(FORMS)
    )
    assert [v.process_id for v in versions] == ["donation"]
    ticket = tickets.create_ticket(
        session,
        actor=SYSTEM,
        title="Donation: a basketball hoop",
        queue=queue("General"),
        customer_user=customer("donor@citizen.example"),
    )
    return runtime.start(session, actor=SYSTEM, ticket=ticket, process_id="donation")


def _through_the_questions(session: Session, club: dict[str, Agent], donation: ProcessInstance) -> None:
    tasks = open_tasks(session, donation)
    runtime.complete_task(
        session,
        actor=club["equipment"],
        task_id=tasks[ASK_SIZE].id,
        data={"hoop_size": "3.05 m high, 180 x 105 cm board", "equipment_comment": "fits the shed"},
    )
    runtime.complete_task(
        session,
        actor=club["coach"],
        task_id=tasks[ASK_FOOTBALL].id,
        data={"pitch_acceptable": True, "football_comment": "behind the north goal"},
    )


# --- the scenario ----------------------------------------------------------------------


def test_the_donation_runs_through_every_team_with_parallel_steps(session, club, donation):
    ticket = donation.ticket

    # 1. General thanks the donor at once (an auto-reply) and hands the ticket to Equipment.
    acks = session.scalars(
        select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id).order_by(OutboxMessage.id)
    ).all()
    assert len(acks) == 2  # the thanks, and Equipment's question about the size
    assert acks[0].to_addr == "donor@citizen.example"
    assert acks[0].auto_submitted == "auto-replied"
    assert ticket.number in acks[0].article.subject
    assert ticket.queue.name == "Equipment"
    [_, (subject, question, author)] = mails_to_donor(session, ticket)
    assert subject == "The size of your basketball hoop"
    assert "size" in question
    assert author is None  # the process's own question, from the club's address

    # 2. Both questions are open at the same time, each for its own team only.
    tasks = open_tasks(session, donation)
    assert set(tasks) == {ASK_SIZE, ASK_FOOTBALL}
    assert candidates(session, tasks[ASK_SIZE], club) == {"equipment"}
    assert candidates(session, tasks[ASK_FOOTBALL], club) == {"coach"}
    with pytest.raises(NOT_FOR_YOU):
        runtime.complete_task(
            session, actor=club["coach"], task_id=tasks[ASK_SIZE].id, data={"hoop_size": "big"}
        )
    with pytest.raises(NOT_FOR_YOU):
        runtime.complete_task(
            session,
            actor=club["equipment"],
            task_id=tasks[ASK_FOOTBALL].id,
            data={"pitch_acceptable": True},
        )
    # Football answers about a ticket that sits in Equipment: it can read it.
    assert permissions.can_read_ticket(session, club["coach"], ticket)
    assert ready_names(round_trip(donation)) == {ASK_SIZE, ASK_FOOTBALL}

    # Football answers first: the other question stays open, the board has nothing yet.
    runtime.complete_task(
        session,
        actor=club["coach"],
        task_id=tasks[ASK_FOOTBALL].id,
        data={"pitch_acceptable": True, "football_comment": "behind the north goal"},
    )
    assert set(open_tasks(session, donation)) == {ASK_SIZE}
    assert tasks[ASK_SIZE].state == "open"
    assert ticket.queue.name == "Equipment"
    assert ready_names(round_trip(donation)) == {ASK_SIZE}

    # The join waits for both; then the board gets the ticket and its task.
    runtime.complete_task(
        session,
        actor=club["equipment"],
        task_id=tasks[ASK_SIZE].id,
        data={"hoop_size": "3.05 m high, 180 x 105 cm board"},
    )
    assert ticket.queue.name == "Board"
    tasks = open_tasks(session, donation)
    assert set(tasks) == {BOARD}
    assert candidates(session, tasks[BOARD], club) == {"chair"}
    workflow = round_trip(donation)
    (board_task,) = [t for t in workflow.get_tasks() if t.task_spec.bpmn_name == BOARD]
    # Both branches' answers reached the board: distinct keys, nothing lost at the join.
    assert board_task.data["hoop_size"] == "3.05 m high, 180 x 105 cm board"
    assert board_task.data["pitch_acceptable"] is True
    assert board_task.data["football_comment"] == "behind the north goal"

    # 3. The accountant may not decide for the board; the board approves with a letter.
    with pytest.raises(NOT_FOR_YOU):
        runtime.complete_task(
            session,
            actor=club["accountant"],
            task_id=tasks[BOARD].id,
            data={"board_decision": "approve", "thank_you_letter": "Thanks!"},
        )
    with pytest.raises(ValidationError) as no_letter:
        runtime.complete_task(
            session, actor=club["chair"], task_id=tasks[BOARD].id, data={"board_decision": "approve"}
        )
    assert "thank_you_letter" in no_letter.value.errors
    runtime.complete_task(
        session,
        actor=club["chair"],
        task_id=tasks[BOARD].id,
        data={"board_decision": "approve", "thank_you_letter": "Dear Dora, thank you for the hoop!"},
    )
    # The letter reaches the donor by mail, written by the chair.
    assert letters(session, ticket) == ["Dear Dora, thank you for the hoop!"]
    assert mails_to_donor(session, ticket)[-1][2] == club["chair"].id

    # 4. The treasurer issues the receipt, in Board::Treasurer, which the accountant sees.
    assert ticket.queue.name == "Board::Treasurer"
    tasks = open_tasks(session, donation)
    assert set(tasks) == {RECEIPT}
    assert candidates(session, tasks[RECEIPT], club) == {"accountant"}
    with pytest.raises(NOT_FOR_YOU):
        runtime.complete_task(
            session, actor=club["chair"], task_id=tasks[RECEIPT].id, data={"receipt_number": "X"}
        )
    assert ready_names(round_trip(donation)) == {RECEIPT}
    runtime.complete_task(
        session,
        actor=club["accountant"],
        task_id=tasks[RECEIPT].id,
        data={"receipt_number": "DR-2026-001", "receipt_value": 450},
    )
    subject, receipt, author = mails_to_donor(session, ticket)[-1]
    assert subject == "Your donation receipt"
    assert "DR-2026-001" in receipt
    assert "450" in receipt
    assert author == club["accountant"].id

    # 5. Press writes the article in parallel with Youth.
    assert ticket.queue.name == "PR::Press"
    tasks = open_tasks(session, donation)
    assert set(tasks) == {ARTICLE, YOUTH}
    assert candidates(session, tasks[ARTICLE], club) == {"press"}
    assert candidates(session, tasks[YOUTH], club) == {"coach"}
    assert permissions.can_read_ticket(session, club["coach"], ticket)
    assert ready_names(round_trip(donation)) == {ARTICLE, YOUTH}
    runtime.complete_task(
        session,
        actor=club["press"],
        task_id=tasks[ARTICLE].id,
        data={"article_title": "A hoop for the club", "article_text": "Thanks to a generous donor …"},
    )
    assert set(open_tasks(session, donation)) == {YOUTH}
    assert donation.status == "running"
    assert ticket.state.type != "closed"
    assert ready_names(round_trip(donation)) == {YOUTH}
    runtime.complete_task(
        session,
        actor=club["coach"],
        task_id=tasks[YOUTH].id,
        data={"youth_section": "Our U12 team cannot wait to try it."},
    )

    # The end: closed successfully, nothing left in anyone's inbox.
    assert open_tasks(session, donation) == {}
    assert donation.status == "completed"
    assert ticket.state.name == "closed successful"
    assert ticket.queue.name == "PR::Press"
    assert round_trip(donation).is_completed()
    moves = session.scalars(
        select(History.new_value)
        .where(History.ticket_id == ticket.id, History.type == "Move")
        .order_by(History.id)
    ).all()
    assert moves == ["Equipment", "Board", "Board::Treasurer", "PR::Press"]


def test_the_board_declines_and_the_ticket_closes_unsuccessful(session, club, donation):
    _through_the_questions(session, club, donation)
    board = open_tasks(session, donation)[BOARD]
    round_trip(donation)
    runtime.complete_task(
        session,
        actor=club["chair"],
        task_id=board.id,
        data={"board_decision": "decline", "board_comment": "No room for it."},
    )
    ticket = donation.ticket
    assert donation.status == "completed"
    assert open_tasks(session, donation) == {}
    assert ticket.state.name == "closed unsuccessful"
    assert ticket.queue.name == "Board"
    assert round_trip(donation).is_completed()
    assert letters(session, ticket) == []
    done = session.scalars(
        select(HumanTask.name).where(HumanTask.instance_id == donation.id, HumanTask.state == "completed")
    ).all()
    assert sorted(done) == sorted([ASK_SIZE, ASK_FOOTBALL, BOARD])


def test_deploying_the_donation_twice_keeps_one_version(session):
    xml = BPMN.read_text()
    forms = definitions.read_forms(FORMS)
    first = definitions.deploy(session, actor=SYSTEM, bpmn_xml=xml, forms=forms)
    again = definitions.deploy(session, actor=SYSTEM, bpmn_xml=xml, forms=forms)
    assert [v.id for v in again] == [v.id for v in first]
    assert set(first[0].forms) == {
        "donation_hoop_size.schema.json",
        "donation_pitch.schema.json",
        "donation_board.schema.json",
        "donation_receipt.schema.json",
        "donation_article.schema.json",
        "donation_youth.schema.json",
    }
    for name, schema in first[0].forms.items():
        assert schema["additionalProperties"] is False, name


def test_the_diagram_can_be_drawn():
    """Every flow node and flow has a shape or edge (bpmn-js needs the DI to render)."""
    from lxml import etree

    root = etree.fromstring(BPMN.read_bytes())
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
    elements = {
        e.get("id")
        for e in root.iterfind("bpmn:process/*", ns)
        if etree.QName(e).localname not in ("laneSet", "documentation")
    }
    lanes = {e.get("id") for e in root.iterfind(".//bpmn:lane", ns)}
    drawn = {e.get("bpmnElement") for e in root.iter("{*}BPMNShape", "{*}BPMNEdge")}
    inner = {
        e.get("id")
        for e in root.iterfind("bpmn:process/bpmn:subProcess/*", ns)
        if etree.QName(e).localname != "documentation"
    }
    assert elements | inner | lanes | {"donation_participant"} == drawn
