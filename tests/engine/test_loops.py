"""Loops of any length: SpiffWorkflow's task-tree depth limit never ends an instance silently.

SpiffWorkflow's task iterator stops at depth 1000 and every round of a loop deepens the tree,
so without :mod:`engine.compaction` a user-task loop is saved as *completed* after ~500 rounds
with its task still READY.  These tests drive loops past that point through the engine API
and check what an agent would see: the task is still open, the instance still running, the
rounds all counted; a loop that never waits is stopped with a readable message; a diagram
too large to be read is refused with a message naming the limit.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from core import config
from core.db import session_scope, utcnow
from desk.actor import SYSTEM
from desk.demo import seed_demo
from desk.queue.models import Queue
from desk.ticket import service as tickets
from engine import compaction, definitions, runtime, serialization
from engine.errors import ProcessError, ProcessValidationError
from engine.models import HumanTask, ProcessInstance
from engine.parser import MAX_ELEMENTS_PER_PROCESS, parse_document
from engine.scripting import TicketflowScriptEngine
from engine.tasks import fire_due_timers_now
from tests.engine.conftest import one_task, open_tasks
from tests.engine.test_safety import ENDLESS, NAMESPACES
from tests.engine.test_timer_sweep import sweep_db  # noqa: F401 (a fixture)

# Ask → count the round → ask again until someone answers ``finished``.
ASK_AGAIN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NAMESPACES} id="d_loop" targetNamespace="t">
  <bpmn:process id="ask_again" name="Ask again" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="ask" name="Ask the customer">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="again.schema.json"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>again</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:scriptTask id="count" name="Count">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>rounds = value_of('rounds', 0) + 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="more" default="again">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>again</bpmn:outgoing><bpmn:outgoing>done</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>done</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ask"/>
    <bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="count"/>
    <bpmn:sequenceFlow id="f3" sourceRef="count" targetRef="more"/>
    <bpmn:sequenceFlow id="again" sourceRef="more" targetRef="ask"/>
    <bpmn:sequenceFlow id="done" sourceRef="more" targetRef="end">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">value_of('finished', False)
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
  </bpmn:process>
</bpmn:definitions>
"""
FORMS = {"again.schema.json": {"type": "object", "properties": {"finished": {"type": "boolean"}}}}


def chain(length: int) -> str:
    """One process: start → ``length`` script tasks in a row → end."""
    parts = ['<bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>']
    for i in range(length):
        source = "start" if i == 0 else f"t{i - 1}"
        parts.append(
            f'<bpmn:scriptTask id="t{i}"><bpmn:incoming>f{i}</bpmn:incoming>'
            f"<bpmn:outgoing>f{i + 1}</bpmn:outgoing><bpmn:script>n = {i}</bpmn:script></bpmn:scriptTask>"
            f'<bpmn:sequenceFlow id="f{i}" sourceRef="{source}" targetRef="t{i}"/>'
        )
    parts.append(
        f'<bpmn:endEvent id="end"><bpmn:incoming>f{length}</bpmn:incoming></bpmn:endEvent>'
        f'<bpmn:sequenceFlow id="f{length}" sourceRef="t{length - 1}" targetRef="end"/>'
    )
    return (
        f'<bpmn:definitions {NAMESPACES} id="d_chain" targetNamespace="t">'
        f'<bpmn:process id="chain" isExecutable="true">{"".join(parts)}</bpmn:process>'
        "</bpmn:definitions>"
    )


def stored_workflow(instance: ProcessInstance):  # type: ignore[no-untyped-def]
    return serialization.loads(instance.workflow_json, TicketflowScriptEngine())


def test_a_user_task_loop_of_1000_rounds_keeps_its_task_open_in_memory():
    # The engine API's own steps (engine_steps compacts) and a save/load every round, as the
    # runtime does, without the database: 1000 rounds are 3000 levels without compaction.
    parsed = parse_document(ASK_AGAIN, forms=FORMS)
    workflow = BpmnWorkflow(parsed.parser.get_spec("ask_again"), {}, script_engine=TicketflowScriptEngine())
    runtime.run_step(lambda: runtime.engine_steps(workflow))
    for _ in range(1000):
        (ask,) = workflow.get_tasks(state=TaskState.READY, manual=True)
        ask.run()
        runtime.run_step(lambda current=workflow: runtime.engine_steps(current))
        workflow = serialization.loads(serialization.dumps(workflow), TicketflowScriptEngine())
    assert not workflow.is_completed()
    (ask,) = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert ask.task_spec.bpmn_name == "Ask the customer"
    assert ask.data["rounds"] == 1000
    assert compaction.max_depth(workflow) < compaction.COMPACT_AT_DEPTH
    assert len(workflow.tasks) < 200


@pytest.mark.slow
def test_a_user_task_loop_past_the_old_limit_keeps_its_task_open(session, deploy, start):
    # Three levels a round: without compaction this instance was saved as "completed" with
    # its task READY after about 330 rounds.
    deploy(ASK_AGAIN, FORMS)
    instance = start("ask_again")
    for _ in range(400):
        runtime.complete_task(session, actor=SYSTEM, task_id=one_task(session, instance).id)

    session.refresh(instance)
    assert instance.status == "running"
    assert instance.error is None
    task = one_task(session, instance)
    assert task.name == "Ask the customer"
    completed = session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.state == "completed")
    ).all()
    assert len(completed) == 400
    workflow = stored_workflow(instance)
    (ready,) = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert ready.data["rounds"] == 400
    # The stored tree stays shallow: far from SpiffWorkflow's limit of 1000 levels.
    assert compaction.max_depth(workflow) < compaction.COMPACT_AT_DEPTH

    # And the loop still ends when it is told to.
    runtime.complete_task(session, actor=SYSTEM, task_id=task.id, data={"finished": True})
    session.refresh(instance)
    assert instance.status == "completed"
    assert open_tasks(session, instance) == []


def test_a_loop_without_a_wait_state_is_stopped_with_a_readable_message(
    session, deploy, start, monkeypatch, budget_ms
):
    # 3000 steps are 1500 rounds: deeper than SpiffWorkflow's limit, which used to end the
    # loop silently as "completed" after about 500 rounds.
    monkeypatch.setattr(runtime, "MAX_ENGINE_STEPS", 3000)
    budget_ms(600_000)  # the step cap is under test, not the clock
    deploy(ENDLESS)
    instance = start("endless")
    session.commit()
    go = one_task(session, instance, "Go")
    with pytest.raises(ProcessError) as stopped:
        runtime.complete_task(session, actor=SYSTEM, task_id=go.id)
    assert stopped.value.message == "the process ran 3000 steps without waiting for anyone; it loops"
    session.rollback()
    session.refresh(instance)
    assert instance.status == "running"  # not "completed": the agent's task is still there
    assert one_task(session, instance, "Go").id == go.id


def test_an_instance_the_engine_lost_track_of_is_not_saved_as_completed(
    session, deploy, start, monkeypatch, budget_ms
):
    # Without compaction SpiffWorkflow stops seeing the loop at depth 1000 and calls the
    # workflow completed with the gateway still READY: the check after the advance refuses.
    monkeypatch.setattr(compaction, "COMPACT_AT_DEPTH", 10**9)
    monkeypatch.setattr(runtime, "MAX_ENGINE_STEPS", 5000)
    budget_ms(600_000)
    deploy(ENDLESS)
    instance = start("endless")
    session.commit()
    with pytest.raises(ProcessError) as stopped:
        runtime.complete_task(session, actor=SYSTEM, task_id=one_task(session, instance, "Go").id)
    assert "reported itself finished with steps still open" in stopped.value.message
    session.rollback()
    session.refresh(instance)
    assert instance.status == "running"
    assert [t.name for t in open_tasks(session, instance)] == ["Go"]


def test_13000_chained_tasks_are_refused_naming_the_limit(session):
    with pytest.raises(ProcessValidationError) as refused:
        definitions.deploy(session, actor=SYSTEM, bpmn_xml=chain(13000))
    assert refused.value.problems == [
        f"process chain has 26003 elements; at most {MAX_ELEMENTS_PER_PROCESS} are allowed "
        "per process (split it into call activities)"
    ]


def test_a_chain_too_long_to_follow_is_refused_without_a_raw_recursion_error(session):
    with pytest.raises(ProcessValidationError) as refused:
        definitions.deploy(session, actor=SYSTEM, bpmn_xml=chain(900))
    (problem,) = refused.value.problems
    assert problem.startswith("process chain: the flow is too long to follow")
    assert "Recursion" not in refused.value.message


def test_a_long_chain_within_the_limits_runs_to_its_end(session, deploy, start):
    deploy(chain(300))
    instance = start("chain")
    session.refresh(instance)
    assert instance.status == "completed"
    assert stored_workflow(instance).data["n"] == 299


# The endless loop behind a timer: nobody is waiting for a reply when it runs.
TIMED_ENDLESS = ENDLESS.replace(
    """<bpmn:userTask id="go" name="Go"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>""",
    """<bpmn:intermediateCatchEvent id="go" name="An hour later">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>""",
).replace('id="endless"', 'id="timed_endless"')


@pytest.mark.slow
def test_a_loop_started_by_a_timer_marks_its_instance_failed_with_the_message(
    sweep_db,  # noqa: F811 (the imported fixture)
    monkeypatch,
    budget_ms,
):
    assert TIMED_ENDLESS != ENDLESS
    monkeypatch.setattr(runtime, "MAX_ENGINE_STEPS", 3000)
    budget_ms(600_000)
    with session_scope(sweep_db) as session:
        seed_demo(session)
        definitions.deploy(session, actor=SYSTEM, bpmn_xml=TIMED_ENDLESS)
        raw = session.scalars(select(Queue).where(Queue.name == "Raw")).one()
        ticket = tickets.create_ticket(session, actor=SYSTEM, title="Looping", queue=raw)
        instance = runtime.start(session, actor=SYSTEM, ticket=ticket, process_id="timed_endless")
        instance_id, due = instance.id, instance.next_timer_due
    assert due is not None

    with time_machine.travel(due + timedelta(minutes=1), tick=False):
        assert fire_due_timers_now() == []  # it failed: not advanced

    with session_scope(sweep_db) as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance.status == "error"
        assert instance.error == "the process ran 3000 steps without waiting for anyone; it loops"
        assert instance.next_timer_due is None  # not retried for ever


@pytest.fixture
def budget_ms(monkeypatch):
    """Set ``TICKETFLOW_ENGINE_BUDGET_MS`` for one test."""

    def set_budget(value: int) -> None:
        monkeypatch.setenv("TICKETFLOW_ENGINE_BUDGET_MS", str(value))
        config.get_settings.cache_clear()

    yield set_budget
    monkeypatch.delenv("TICKETFLOW_ENGINE_BUDGET_MS", raising=False)
    config.get_settings.cache_clear()


def test_a_loop_is_stopped_by_the_time_budget_before_the_step_cap(
    session, deploy, start, monkeypatch, budget_ms
):
    monkeypatch.setattr(runtime, "MAX_ENGINE_STEPS", 10**7)
    budget_ms(300)
    deploy(ENDLESS)
    instance = start("endless")
    session.commit()
    go = one_task(session, instance, "Go")
    with pytest.raises(ProcessError) as stopped:
        runtime.complete_task(session, actor=SYSTEM, task_id=go.id)
    assert stopped.value.message == (
        "the process ran for more than 300 ms without waiting for anyone; it was stopped"
    )
    session.rollback()
    assert one_task(session, instance, "Go").id == go.id


def test_the_time_budget_is_a_setting():
    base = {"TICKETFLOW_SECRET_KEY": "test"}
    assert config.Settings.from_env(base).engine_budget_ms == 10_000
    assert config.Settings.from_env({**base, "TICKETFLOW_ENGINE_BUDGET_MS": "250"}).engine_budget_ms == 250
    with pytest.raises(config.ConfigurationError):
        config.Settings.from_env({**base, "TICKETFLOW_ENGINE_BUDGET_MS": "0"})


# A loop whose every round splits in parallel and joins, with a boundary timer on its user
# task and a ``ticket_closed`` event subprocess: what compaction must not break.
RICH = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NAMESPACES} id="d" targetNamespace="t">
<bpmn:message id="closed" name="ticket_closed"/>
<bpmn:process id="rich" isExecutable="true">
<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:parallelGateway id="split">
  <bpmn:incoming>f1</bpmn:incoming>
  <bpmn:incoming>again</bpmn:incoming>
  <bpmn:outgoing>a1</bpmn:outgoing>
  <bpmn:outgoing>b1</bpmn:outgoing>
  </bpmn:parallelGateway>
<bpmn:userTask id="ask" name="Ask">
  <bpmn:incoming>a1</bpmn:incoming>
  <bpmn:outgoing>a2</bpmn:outgoing>
  </bpmn:userTask>
<bpmn:boundaryEvent id="late" attachedToRef="ask">
  <bpmn:outgoing>lt</bpmn:outgoing>
  <bpmn:timerEventDefinition>
  <bpmn:timeDuration>PT1H</bpmn:timeDuration>
  </bpmn:timerEventDefinition>
  </bpmn:boundaryEvent>
<bpmn:userTask id="remind" name="Remind">
  <bpmn:incoming>lt</bpmn:incoming>
  <bpmn:outgoing>lt2</bpmn:outgoing>
  </bpmn:userTask>
<bpmn:endEvent id="lend"><bpmn:incoming>lt2</bpmn:incoming></bpmn:endEvent>
<bpmn:scriptTask id="b" name="B">
  <bpmn:incoming>b1</bpmn:incoming>
  <bpmn:outgoing>b2</bpmn:outgoing>
  <bpmn:script>b_rounds = value_of('b_rounds', 0) + 1</bpmn:script>
  </bpmn:scriptTask>
<bpmn:parallelGateway id="join">
  <bpmn:incoming>a2</bpmn:incoming>
  <bpmn:incoming>b2</bpmn:incoming>
  <bpmn:outgoing>j</bpmn:outgoing>
  </bpmn:parallelGateway>
<bpmn:exclusiveGateway id="more" default="again">
  <bpmn:incoming>j</bpmn:incoming>
  <bpmn:outgoing>again</bpmn:outgoing>
  <bpmn:outgoing>done</bpmn:outgoing>
  </bpmn:exclusiveGateway>
<bpmn:endEvent id="end"><bpmn:incoming>done</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
<bpmn:sequenceFlow id="a1" sourceRef="split" targetRef="ask"/>
<bpmn:sequenceFlow id="b1" sourceRef="split" targetRef="b"/>
<bpmn:sequenceFlow id="a2" sourceRef="ask" targetRef="join"/>
<bpmn:sequenceFlow id="b2" sourceRef="b" targetRef="join"/>
<bpmn:sequenceFlow id="lt" sourceRef="late" targetRef="remind"/>
<bpmn:sequenceFlow id="lt2" sourceRef="remind" targetRef="lend"/>
<bpmn:sequenceFlow id="j" sourceRef="join" targetRef="more"/>
<bpmn:sequenceFlow id="again" sourceRef="more" targetRef="split"/>
<bpmn:sequenceFlow id="done" sourceRef="more" targetRef="end">
  <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">value_of('finished', False)
  </bpmn:conditionExpression>
  </bpmn:sequenceFlow>
<bpmn:subProcess id="on_close" triggeredByEvent="true">
  <bpmn:startEvent id="cs" isInterrupting="false">
  <bpmn:outgoing>c1</bpmn:outgoing>
  <bpmn:messageEventDefinition id="cm" messageRef="closed"/>
  </bpmn:startEvent>
  <bpmn:scriptTask id="cnote" name="Closed">
  <bpmn:incoming>c1</bpmn:incoming>
  <bpmn:outgoing>c2</bpmn:outgoing>
  <bpmn:script>closed_seen = 1</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:endEvent id="ce"><bpmn:incoming>c2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="c1" sourceRef="cs" targetRef="cnote"/>
  <bpmn:sequenceFlow id="c2" sourceRef="cnote" targetRef="ce"/>
</bpmn:subProcess>
</bpmn:process></bpmn:definitions>
"""


def test_joins_boundary_timers_and_event_subprocesses_work_after_many_rounds():
    parsed = parse_document(RICH)
    workflow = BpmnWorkflow(
        parsed.parser.get_spec("rich"),
        parsed.parser.get_subprocess_specs("rich"),
        script_engine=TicketflowScriptEngine(),
    )
    runtime.run_step(lambda: runtime.engine_steps(workflow))
    for _ in range(400):
        (ask,) = workflow.get_tasks(state=TaskState.READY, manual=True)
        assert ask.task_spec.bpmn_id == "ask"
        ask.run()
        runtime.run_step(lambda current=workflow: runtime.engine_steps(current))
        workflow = serialization.loads(serialization.dumps(workflow), TicketflowScriptEngine())
    assert compaction.max_depth(workflow) < compaction.COMPACT_AT_DEPTH

    # The event subprocess still hears its message; the loop goes on beside it.
    closed = workflow.subprocess_specs["on_close"].task_specs["cs"].event_definition
    workflow.send_event(BpmnEvent(closed, {}))
    runtime.run_step(lambda: runtime.engine_steps(workflow))
    (ask,) = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert ask.task_spec.bpmn_id == "ask"
    assert workflow.get_tasks(spec_name="cnote", state=TaskState.COMPLETED)
    # The boundary timer of the 401st round still fires and interrupts.
    with time_machine.travel(utcnow() + timedelta(hours=2), tick=False):
        workflow.refresh_timers()
        runtime.run_step(lambda: runtime.engine_steps(workflow))
    assert [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True)] == ["remind"]
    assert not workflow.is_completed()
