"""Task forms as an agent meets them (issue 12, forms): choices beside their labels, pickers of
allowed values checked on the server, typed text kept on every refusal, titles instead of raw
values, dates, required marks, and where the agent lands after completing a step."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import render_template
from sqlalchemy import select

from core.errors import ValidationError
from desk.agent import service as agents
from desk.permission import service as permissions
from desk.queue import service as queues
from desk.ticket.models import Ticket
from engine.forms import PickerContext, picker_choices
from flows import tasks as task_flows
from tests.web import test_inbox
from tests.web.conftest import csrf_token_in
from tests.web.test_inbox import task_of
from web.tickets import taskforms

started = test_inbox.started  # the fixture: deployed processes, triage started

APP_CSS = Path(__file__).resolve().parents[2] / "web" / "static" / "app.css"
OPTION = re.compile(r'<option value="([^"]*)"')


def _select(html: str, name: str) -> str:
    match = re.search(rf'<select id="task-\d+-{name}" name="{name}".*?</select>', html, re.S)
    assert match, f"no select for {name}"
    return match.group(0)


def _field_block(html: str, name: str) -> str:
    """The markup of one field of a task form (label, control, help and error)."""
    match = re.search(rf'<div class="field[^"]*" data-field="{name}">(.*?)\n        </div>', html, re.S)
    assert match, f"no field {name}"
    return match.group(1)


def _post_triage(client, ticket: Ticket, task_id: int, headers=None, **data):
    page = client.get(f"/tickets/{ticket.id}").text
    return client.post(
        f"/tasks/{task_id}/complete", data={"csrf_token": csrf_token_in(page), **data}, headers=headers or {}
    )


# --- radios and checkboxes ------------------------------------------------------------------


def test_every_radio_sits_inside_its_label_and_the_css_does_not_stretch_it(client, login, started):
    login("secretary")
    html = client.get(f"/tickets/{started['I forgot my password'].id}").text

    radios = re.findall(r'<input type="radio" name="decision"', html)
    assert len(radios) == 4
    assert len(re.findall(r'<label class="choice"><input type="radio" name="decision"', html)) == 4
    css = APP_CSS.read_text()
    # The text-input rule (full width, 44 px high) must not reach radios and checkboxes.
    assert not re.search(r"(^|\n)\.field input\s*\{", css)
    assert '.field input:not([type="radio"]):not([type="checkbox"])' in css
    # The 44 px target is the label, the control keeps its own size.
    choice_rule = re.search(r"\.choice, \.field \.choice[^{]*\{([^}]*)\}", css)
    assert choice_rule
    assert "min-height: 2.75rem" in choice_rule.group(1)


# --- pickers ------------------------------------------------------------------------------


def test_the_target_queue_offers_exactly_the_queues_the_agent_may_move_to(
    client, login, session, agent, started
):
    ticket = started["I forgot my password"]
    secretary = agent("secretary")
    login("secretary")

    html = client.get(f"/tickets/{ticket.id}").text

    offered = [v for v in OPTION.findall(_select(html, "target_queue")) if v]
    expected = sorted(
        q.name
        for q in permissions.queues_with(session, secretary, "move_into")
        if q.valid and q.name != "Raw"
    )
    assert offered == expected
    assert "2nd level" in offered
    assert "Raw" not in offered  # the ticket's own queue
    assert "Board::Treasurer" not in offered  # no move_into there


@pytest.mark.parametrize("forged", ["Board::Treasurer", "no such queue", "QUEUE_ID"])
def test_a_forged_target_queue_is_a_field_error(client, login, session, queue, started, forged):
    ticket = started["I forgot my password"]
    task = task_of(session, ticket)
    login("secretary")
    value = str(queue("2nd level").id) if forged == "QUEUE_ID" else forged

    response = _post_triage(client, ticket, task.id, decision="move", target_queue=value)

    assert response.status_code == 422
    block = _field_block(response.text, "target_queue")
    assert re.search(
        r'class="field__error" id="task-\d+-target_queue-error">choose one of the offered values<', block
    )
    session.expire_all()
    assert ticket.queue.name == "Raw"
    assert task.state == "open"


def test_the_api_path_checks_the_picker_too(session, agent, started):
    ticket = started["I forgot my password"]
    task = task_of(session, ticket)

    with pytest.raises(ValidationError) as refused:
        task_flows.complete(
            session,
            actor=agent("secretary"),
            task_id=task.id,
            data={"decision": "move", "target_queue": "Board::Treasurer"},
        )

    assert refused.value.errors == {"target_queue": ["choose one of the offered values"]}
    # A queue name still works, as before the picker (and as API clients send it).
    task_flows.complete(
        session,
        actor=agent("secretary"),
        task_id=task.id,
        data={"decision": "move", "target_queue": "2nd level"},
    )
    assert ticket.queue.name == "2nd level"


def test_picker_kinds_offer_allowed_values(session, agent, started):
    ticket = started["I forgot my password"]
    context = PickerContext(session, agent("secretary"), ticket)

    states = [v for v, _ in picker_choices(context, {"x-ticketflow-picker": "state"})]
    agents_offered = [v for v, _ in picker_choices(context, {"x-ticketflow-picker": "agent"})]
    consultants = [
        v for v, _ in picker_choices(context, {"x-ticketflow-picker": "agent", "x-agents-role": "consultant"})
    ]

    assert "open" in states
    assert "merged" not in states
    assert "secretary" in agents_offered
    assert "observer" not in agents_offered  # observers work on nothing
    assert set(consultants) <= set(agents_offered)
    assert "secretary" not in consultants


# --- typed text survives ------------------------------------------------------------------


def test_the_triage_form_with_an_invalid_choice_comes_back_with_the_typed_text_htmx(
    client, login, session, started
):
    ticket = started["I forgot my password"]
    task = task_of(session, ticket)
    login("secretary")

    response = _post_triage(
        client,
        ticket,
        task.id,
        headers={"HX-Request": "true"},
        decision="explode",
        question="Which account name do you use?",
    )

    assert response.status_code == 422
    assert "<html" not in response.text  # the task's block alone, for htmx to swap
    assert response.text.lstrip().startswith(f'<div class="task" id="task-{task.id}">')
    question = _field_block(response.text, "question")
    assert "Which account name do you use?</textarea>" in question
    decision = _field_block(response.text, "decision")
    assert re.search(r'id="task-\d+-decision-error">[^<]*explode', decision)
    assert 'aria-invalid="true"' in decision
    session.expire_all()
    assert task.state == "open"


def test_the_triage_form_with_an_invalid_choice_comes_back_with_the_typed_text_plain(
    client, login, session, started
):
    ticket = started["I forgot my password"]
    task = task_of(session, ticket)
    login("secretary")

    response = _post_triage(
        client,
        ticket,
        task.id,
        decision="explode",
        question="Which account name do you use?",
        reminder_days="5",
    )

    assert response.status_code == 422
    assert "<html" in response.text  # the whole page, without JavaScript
    assert "Which account name do you use?</textarea>" in _field_block(response.text, "question")
    assert 'value="5"' in _field_block(response.text, "reminder_days")
    assert re.search(r'id="task-\d+-decision-error">[^<]*explode', _field_block(response.text, "decision"))


def test_a_task_claimed_meanwhile_comes_back_with_the_typed_text(client, login, session, agent, started):
    ticket = started["I forgot my password"]
    task = task_of(session, ticket)
    login("secretary")
    page = client.get(f"/tickets/{ticket.id}").text
    task_flows.claim(session, actor=agent("admin"), task_id=task.id)
    session.flush()

    response = client.post(
        f"/tasks/{task.id}/complete",
        data={
            "csrf_token": csrf_token_in(page),
            "decision": "ask_customer",
            "question": "Your login, please?",
        },
    )

    assert response.status_code == 422
    assert "claimed by" in response.text
    assert "Your login, please?</textarea>" in response.text


# --- choices, dates, required marks, help texts ---------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {
        "size": {
            "title": "Hoop size",
            "type": "string",
            "enum": ["s", "m", "l"],
            "x-enum-titles": ["Small (40 cm)", "Medium (60 cm)", "Large (80 cm)"],
        },
        "kind": {
            "title": "Kind",
            "type": "string",
            "oneOf": [{"const": "gift", "title": "A gift"}, {"const": "loan", "title": "A loan"}],
        },
        "due": {
            "title": "Due on",
            "type": "string",
            "format": "date",
            "description": "The day it is needed.",
        },
        "call_at": {"title": "Call at", "type": "string", "format": "date-time"},
        "paid": {"title": "Paid", "type": "boolean"},
    },
    "required": ["size", "due"],
}


def _render(app, fields) -> str:
    item = SimpleNamespace(
        task=SimpleNamespace(id=7, name="Check"),
        fields=fields,
        form_description="",
        may_work=True,
        claimed_by=None,
        claimed_by_other=False,
        errors=[],
    )
    with app.test_request_context("/"):
        return render_template(
            "tickets/_task.html",
            item=item,
            ticket=SimpleNamespace(id=1, queue=SimpleNamespace(time_accounting="off")),
        )


def test_enum_titles_dates_required_marks_and_help_texts(app):
    html = _render(app, taskforms.fields_of(SCHEMA))

    size = _field_block(html, "size")
    assert re.search(r'value="m" required> <span>Medium \(60 cm\)</span>', size)
    assert '<span class="required" aria-hidden="true">*</span>' in size
    assert re.search(r'value="loan"> <span>A loan</span>', _field_block(html, "kind"))
    due = _field_block(html, "due")
    assert 'type="date"' in due
    assert 'required aria-required="true"' in due
    assert 'aria-describedby="task-7-due-help"' in due
    assert '<p class="field__help muted small" id="task-7-due-help">The day it is needed.</p>' in due
    assert 'type="datetime-local"' in _field_block(html, "call_at")
    assert '<span class="required"' not in _field_block(html, "call_at")
    assert '<label class="choice"><input type="checkbox" id="task-7-paid" name="paid">' in html


def test_submitted_dates_become_json_and_bad_ones_are_field_errors(app):
    from werkzeug.datastructures import MultiDict

    with app.test_request_context("/"):
        data = taskforms.parse_submission(
            SCHEMA, MultiDict({"size": "m", "due": "2026-12-24", "call_at": "2026-12-24T09:30"})
        )
        assert data == {"size": "m", "due": "2026-12-24", "call_at": "2026-12-24T09:30:00Z", "paid": False}
        with pytest.raises(ValidationError) as bad:
            taskforms.parse_submission(SCHEMA, MultiDict({"due": "24.12.2026", "call_at": "soon"}))
    assert set(bad.value.errors) == {"due", "call_at"}


def test_display_value_shows_titles_not_raw_values(app):
    with app.test_request_context("/"):
        assert taskforms.display_value(SCHEMA, "size", "l") == "Large (80 cm)"
        assert taskforms.display_value(SCHEMA, "kind", "gift") == "A gift"
        assert taskforms.display_value(SCHEMA, "paid", True) == "yes"
        assert taskforms.display_value(SCHEMA, "size", "xxl") == "xxl"  # unknown: as it is
        assert taskforms.display_value(SCHEMA, "call_at", "2026-12-24T09:30:00Z") == "2026-12-24 09:30 UTC"


# --- after the step ---------------------------------------------------------------------------


@pytest.fixture
def hidden_queue(session, agent):
    """A queue the secretary may move tickets into but not read."""
    admin = agent("admin")
    group = agents.create_group(session, actor=admin, name="hidden")
    created = queues.create_queue(session, actor=admin, name="Hidden desk", group=group)
    agents.grant_group(session, actor=admin, agent=agent("secretary"), group=group, permissions=["move_into"])
    session.flush()
    return created


def test_a_step_that_moves_the_ticket_out_of_reach_lands_in_the_inbox(
    client, login, session, started, hidden_queue
):
    ticket = started["I forgot my password"]
    task = task_of(session, ticket)
    login("secretary")

    response = _post_triage(client, ticket, task.id, decision="move", target_queue="Hidden desk")

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/inbox")
    inbox = client.get("/inbox").text
    assert f"Ticket {ticket.number} moved to Hidden desk; it is out of your queues." in inbox
    session.expire_all()
    assert ticket.queue.name == "Hidden desk"


def test_htmx_completion_answers_with_the_redirect(client, login, session, started, hidden_queue):
    ticket = started["I forgot my password"]
    task = task_of(session, ticket)
    login("secretary")

    response = _post_triage(
        client, ticket, task.id, headers={"HX-Request": "true"}, decision="move", target_queue="Hidden desk"
    )

    assert response.status_code == 204
    assert response.headers["HX-Redirect"].endswith("/inbox")


def test_complete_and_next_opens_the_next_task_of_the_queue(client, login, session, started):
    ticket = started["I forgot my password"]
    task = task_of(session, ticket)
    printer = started["Printer on 3rd floor jams"]
    next_task = task_of(session, printer)
    login("secretary")

    response = _post_triage(client, ticket, task.id, decision="close", then="next")

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/tickets/{printer.id}#task-{next_task.id}")
    page = client.get(response.headers["Location"]).text
    assert "The task “Triage” is done." in page


def test_complete_and_next_without_a_next_task_goes_to_the_inbox(client, login, session, started):
    first, second = started["I forgot my password"], started["Printer on 3rd floor jams"]
    login("secretary")
    _post_triage(client, second, task_of(session, second).id, decision="close")

    response = _post_triage(client, first, task_of(session, first).id, decision="close", then="next")

    assert response.status_code == 303
    assert "/inbox?queue=" in response.headers["Location"]
    assert "No more open tasks in this queue." in client.get(response.headers["Location"]).text


def test_completed_form_values_read_as_titles(session, started):
    triage = session.scalars(select(Ticket).where(Ticket.title == "I forgot my password")).one()
    schema = task_of(session, triage).instance.forms["triage.schema.json"]
    assert taskforms.display_value(schema, "decision", "move") == "Move it to another queue"


# --- a searched picker (customer users) and the other kinds in a form of one's own -------------

PICKER_DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="pickers" name="Pickers" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l1" name="Ticket queue"><bpmn:flowNodeRef>who</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="who" name="Who called">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="who.schema.json"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="who"/>
    <bpmn:sequenceFlow id="f2" sourceRef="who" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
PICKER_FORMS = {
    "who.schema.json": {
        "type": "object",
        "properties": {
            "caller": {"title": "Caller", "type": "string", "x-ticketflow-picker": "customer"},
            "next_state": {"title": "Then", "type": "string", "x-ticketflow-picker": "state"},
        },
        "required": ["caller"],
    }
}


@pytest.fixture
def picker_task(session, queue, customer):
    from desk.actor import SYSTEM
    from desk.ticket import service as ticket_service
    from engine import definitions, runtime

    definitions.deploy(session, actor=SYSTEM, bpmn_xml=PICKER_DIAGRAM, forms=PICKER_FORMS)
    ticket = ticket_service.create_ticket(
        session,
        actor=SYSTEM,
        title="Who was it?",
        queue=queue("Raw"),
        customer_user=customer("john.doe@acme.example"),
    )
    runtime.start(session, actor=SYSTEM, ticket=ticket, process_id="pickers")
    session.flush()
    return ticket, task_of(session, ticket, "Who called")


def test_a_customer_picker_searches_and_the_server_checks_the_login(
    client, login, session, customer, picker_task
):
    ticket, task = picker_task
    john = customer("john.doe@acme.example")
    login("secretary")

    page = client.get(f"/tickets/{ticket.id}").text
    caller = _field_block(page, "caller")
    assert 'type="search"' in caller
    assert f'hx-get="/tasks/{task.id}/pickers/caller"' in caller
    assert 'value="merged"' not in _select(page, "next_state")

    found = client.get(f"/tasks/{task.id}/pickers/caller", query_string={"caller": "john.doe"}).text
    assert f'<option value="{john.login}">' in found
    assert client.get(f"/tasks/{task.id}/pickers/nothing").status_code == 404

    refused = client.post(
        f"/tasks/{task.id}/complete",
        data={"csrf_token": csrf_token_in(page), "caller": "nobody-at-all", "next_state": "open"},
    )
    assert refused.status_code == 422
    assert re.search(r'id="task-\d+-caller-error">choose one of the offered values<', refused.text)
    assert 'value="nobody-at-all"' in _field_block(refused.text, "caller")  # typed text kept

    done = client.post(
        f"/tasks/{task.id}/complete",
        data={"csrf_token": csrf_token_in(page), "caller": john.login, "next_state": "open"},
    )
    assert done.status_code == 303
    session.expire_all()
    assert task.state == "completed"


def test_a_picker_search_is_for_the_tasks_candidates_only(client, login, picker_task):
    _ticket, task = picker_task
    login("alice")  # no rw on Raw: no candidate of its tasks

    assert client.get(f"/tasks/{task.id}/pickers/caller").status_code in (403, 404)
