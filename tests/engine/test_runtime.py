"""The runtime on a small diagram: tasks, forms, messages, timers, serialization."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from core.db import utcnow
from core.errors import NotFound, PermissionDenied, ValidationError
from desk.actor import SYSTEM
from engine import runtime, serialization
from engine.errors import TaskAlreadyDone
from tests.engine.conftest import one_task, open_tasks

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:message id="customer_replied" name="customer_replied"/>
  <bpmn:process id="mini" name="Mini" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l1" name="Ticket queue"><bpmn:flowNodeRef>ask</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="ask" name="Ask the customer">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="ask.schema.json"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:eventBasedGateway id="wait"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f4</bpmn:outgoing></bpmn:eventBasedGateway>
    <bpmn:intermediateCatchEvent id="reply" name="Customer replied">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:messageEventDefinition id="m1" messageRef="customer_replied"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="reminder" name="No answer">
      <bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing>
      <bpmn:timerEventDefinition id="t1">
        <bpmn:timeDuration>"PT2H"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:serviceTask id="move" name="Move to 2nd level">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="move_queue" resultVariable="moved_to">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="queue" type="str" value="'2nd level'"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f7</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:serviceTask id="note" name="Note the silence">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="add_note">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="text" type="str" value="'No answer from the customer: ' + question"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f6</bpmn:incoming><bpmn:outgoing>f8</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end1"><bpmn:incoming>f7</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end2"><bpmn:incoming>f8</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ask"/>
    <bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="wait"/>
    <bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="reply"/>
    <bpmn:sequenceFlow id="f4" sourceRef="wait" targetRef="reminder"/>
    <bpmn:sequenceFlow id="f5" sourceRef="reply" targetRef="move"/>
    <bpmn:sequenceFlow id="f6" sourceRef="reminder" targetRef="note"/>
    <bpmn:sequenceFlow id="f7" sourceRef="move" targetRef="end1"/>
    <bpmn:sequenceFlow id="f8" sourceRef="note" targetRef="end2"/>
  </bpmn:process>
</bpmn:definitions>
"""

FORMS = {
    "ask.schema.json": {
        "type": "object",
        "properties": {"question": {"type": "string", "minLength": 3}},
        "required": ["question"],
        "additionalProperties": False,
    }
}


@pytest.fixture
def mini(deploy, start):
    deploy(DIAGRAM, FORMS)
    return start("mini")


def test_a_started_process_puts_its_first_task_in_the_ticket_queue(session, mini):
    task = one_task(session, mini)
    assert task.name == "Ask the customer"
    assert task.follows_ticket_queue
    assert task.form == "ask.schema.json"
    assert mini.status == "running"
    assert serialization.stored_version(mini.workflow_json) == serialization.SERIALIZER_VERSION


def test_invalid_form_data_gives_field_errors_and_changes_nothing(session, agent, mini):
    task = one_task(session, mini)
    before = mini.workflow_json
    with pytest.raises(ValidationError) as short:
        runtime.complete_task(session, actor=agent("secretary"), task_id=task.id, data={"question": "x"})
    assert "question" in short.value.errors
    with pytest.raises(ValidationError) as extra:
        runtime.complete_task(
            session,
            actor=agent("secretary"),
            task_id=task.id,
            data={"question": "Which printer?", "admin": True},
        )
    assert "_form" in extra.value.errors
    assert mini.workflow_json == before
    assert one_task(session, mini).state == "open"


def test_only_candidates_complete_a_task(session, agent, mini):
    task = one_task(session, mini)
    # The observer and alice may read Raw but are no candidates: refused, told nothing more.
    for login in ("observer", "alice"):
        with pytest.raises(PermissionDenied) as refused:
            runtime.complete_task(
                session, actor=agent(login), task_id=task.id, data={"question": "Which one?"}
            )
        assert task.name not in refused.value.message
    # Agents who may not read the ticket do not learn that the task exists.
    for login in ("accountant", "trainee"):
        with pytest.raises(NotFound, match="no such task"):
            runtime.complete_task(
                session, actor=agent(login), task_id=task.id, data={"question": "Which one?"}
            )


def test_the_reply_wakes_the_process_and_a_second_completion_names_the_first(session, agent, mini):
    task = one_task(session, mini)
    runtime.complete_task(
        session, actor=agent("secretary"), task_id=task.id, data={"question": "Which printer?"}
    )
    assert mini.waiting_messages == ["customer_replied"]
    assert mini.next_timer_due is not None
    with pytest.raises(TaskAlreadyDone, match="already completed by Sam Secretary"):
        runtime.complete_task(session, actor=agent("secretary"), task_id=task.id, data={"question": "Again?"})

    delivered = runtime.deliver_message(
        session, ticket=mini.ticket, name="customer_replied", payload={"article_id": 1}
    )

    assert delivered.status == "delivered"
    assert mini.status == "completed"
    assert mini.ticket.queue.name == "2nd level"
    assert mini.next_timer_due is None


def test_without_a_reply_the_reminder_fires_at_its_time(session, agent, mini):
    task = one_task(session, mini)
    runtime.complete_task(
        session, actor=agent("secretary"), task_id=task.id, data={"question": "Which printer?"}
    )
    due = mini.next_timer_due
    assert due - utcnow() == pytest.approx(timedelta(hours=2), abs=timedelta(minutes=1))
    assert runtime.fire_timers(session, instance_id=mini.id, now=utcnow()) is False  # not yet

    with time_machine.travel(due + timedelta(seconds=1), tick=False):
        assert runtime.fire_timers(session, instance_id=mini.id, now=utcnow()) is True

    assert mini.status == "completed"
    notes = [a.body_text for a in mini.ticket.articles if a.channel == "note"]
    assert notes == ["No answer from the customer: Which printer?"]
    assert runtime.fire_timers(session, instance_id=mini.id, now=utcnow()) is False  # idempotent


def test_a_message_nothing_waits_for_is_recorded(session, mini):
    record = runtime.deliver_message(session, ticket=mini.ticket, name="customer_replied", payload={"x": 1})
    assert record.status == "unmatched"
    assert record.instance_id is None
    assert open_tasks(session, mini)[0].name == "Ask the customer"


def test_system_can_complete_and_tasks_leave_the_inbox(session, mini):
    task = one_task(session, mini)
    runtime.complete_task(session, actor=SYSTEM, task_id=task.id, data={"question": "Which printer?"})
    assert open_tasks(session, mini) == []
    assert task.state == "completed"


BOUNDARY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d2" targetNamespace="t">
  <bpmn:process id="boundary" name="Boundary" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="answer" name="Answer within a day">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="late" name="A day passed" attachedToRef="answer" cancelActivity="true">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition id="t">
        <bpmn:timeDuration>"P1D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="escalate" name="Escalated answer">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end1"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end2"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="answer"/>
    <bpmn:sequenceFlow id="f2" sourceRef="answer" targetRef="end1"/>
    <bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="escalate"/>
    <bpmn:sequenceFlow id="f4" sourceRef="escalate" targetRef="end2"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_task_cancelled_by_a_boundary_timer_leaves_the_inbox_at_once(session, agent, deploy, start):
    deploy(BOUNDARY)
    instance = start("boundary")
    answer = one_task(session, instance)
    assert answer.name == "Answer within a day"

    with time_machine.travel(instance.next_timer_due + timedelta(seconds=1), tick=False):
        assert runtime.fire_timers(session, instance_id=instance.id, now=utcnow())

    assert answer.state == "cancelled"
    assert [t.name for t in open_tasks(session, instance)] == ["Escalated answer"]
    with pytest.raises(TaskAlreadyDone, match="cancelled by the process"):
        runtime.complete_task(session, actor=agent("secretary"), task_id=answer.id)
