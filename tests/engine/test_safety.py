"""Diagrams cannot run code: hostile expressions are refused at deploy time and at run time.

SpiffWorkflow hands conditions, timers, scripts, service-task parameters and pre/post
scripts to ``eval``/``exec`` unless its script engine is replaced.  These tests put known
escapes (``__subclasses__`` walks, ``__import__``, module attribute walks) and 10^8-element
values into every place a diagram can hold an expression and check that:

* ``deploy`` refuses each one with a :class:`ProcessValidationError` naming the place;
* a hostile diagram that bypasses deploy, or a harmless one fed hostile task data, fails at
  run time with a clear error, runs nothing (a canary file stays absent) and leaves the
  stored instance as it was;
* a workflow restored from JSON runs with the safe engine again.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from desk.actor import SYSTEM
from desk.article.models import Article
from desk.ticket import service as tickets
from engine import definitions, expressions, runtime, serialization
from engine.errors import ProcessError, ProcessValidationError, UnsafeExpression
from engine.models import HumanTask, ProcessInstance, ProcessVersion
from engine.parser import content_hash, parse_document
from engine.scripting import SafeEnvironment, TicketflowScriptEngine

NAMESPACES = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
)

# Known escapes from restricted ``eval`` setups, and values of 10^8 elements.
HOSTILE = {
    "subclasses": "().__class__.__base__.__subclasses__()",
    "import": "__import__('os')",
    "random._os": "random._os",
    "uuid.os": "uuid.os",
    "list*10**8": "[0] * 10**8",
    "str*10**8": "'x' * 10**8",
    "list(range)": "list(range(10**8))",
    "ljust": "'x'.ljust(10**8)",
    "nested": "[[0] * 10000] * 10000",
    "format width": "'%0100000000d' % 1",
}

SAFE = {
    "preScript": "pre_ran = 1",
    "postScript": "post_ran = 1",
    "condition": "True",
    "script": "script_ran = 1",
    "parameter": "'fine'",
    "timer": '"PT1H"',
}
SCRIPT_PLACES = {"preScript", "postScript", "script"}
# How a ProcessValidationError names each place (see engine.parser._where).
PLACE_NAMES = {
    "preScript": "preScript of ask",
    "postScript": "postScript of ask",
    "condition": "conditionExpression of flow_yes",
    "script": "script of run_script",
    "parameter": "parameter 'text' of note",
    "timer": "timeDuration of wait",
}


def diagram(process_id: str = "hostile", **slots: str) -> str:
    """start → go → ask (pre/post script) → gateway → script → service task → timer → end.

    Every place holding an expression or a script is filled from ``slots`` (safe otherwise).
    """
    s = {**SAFE, **slots}
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NAMESPACES} id="d_{process_id}" targetNamespace="t">
  <bpmn:process id="{process_id}" name="Hostile" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="go" name="Go"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="ask" name="Ask">
      <bpmn:extensionElements>
        <spiffworkflow:preScript>{escape(s["preScript"])}</spiffworkflow:preScript>
        <spiffworkflow:postScript>{escape(s["postScript"])}</spiffworkflow:postScript>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="gw" default="flow_no">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>flow_yes</bpmn:outgoing>
      <bpmn:outgoing>flow_no</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:scriptTask id="run_script" name="Script">
      <bpmn:incoming>flow_yes</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>{escape(s["script"])}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:serviceTask id="note" name="Note">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="add_note" resultVariable="note_id">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="text" type="str" value={quoteattr(s["parameter"])}/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:intermediateCatchEvent id="wait" name="Wait">
      <bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>{escape(s["timer"])}</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end_yes"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_no"><bpmn:incoming>flow_no</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="go"/>
    <bpmn:sequenceFlow id="f2" sourceRef="go" targetRef="ask"/>
    <bpmn:sequenceFlow id="f3" sourceRef="ask" targetRef="gw"/>
    <bpmn:sequenceFlow id="flow_yes" sourceRef="gw" targetRef="run_script">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escape(s["condition"])}
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="flow_no" sourceRef="gw" targetRef="end_no"/>
    <bpmn:sequenceFlow id="f4" sourceRef="run_script" targetRef="note"/>
    <bpmn:sequenceFlow id="f5" sourceRef="note" targetRef="wait"/>
    <bpmn:sequenceFlow id="f6" sourceRef="wait" targetRef="end_yes"/>
  </bpmn:process>
</bpmn:definitions>
"""


def in_place(place: str, payload: str) -> str:
    """The payload as an expression, or as the value of an assignment in a script place."""
    return f"value = {payload}" if place in SCRIPT_PLACES else payload


def test_the_template_itself_deploys(session):
    versions = definitions.deploy(session, actor=SYSTEM, bpmn_xml=diagram("harmless"))
    assert [v.process_id for v in versions] == ["harmless"]


# --- (a) refused at deploy time ----------------------------------------------------------


@pytest.mark.parametrize("payload", list(HOSTILE.values()), ids=list(HOSTILE))
@pytest.mark.parametrize("place", list(PLACE_NAMES))
def test_deploy_refuses_hostile_expressions_and_names_the_place(session, place, payload):
    before = definitions.version_count(session)
    with pytest.raises(ProcessValidationError) as refused:
        definitions.deploy(session, actor=SYSTEM, bpmn_xml=diagram(**{place: in_place(place, payload)}))
    problems = refused.value.problems
    assert len(problems) == 1, problems
    assert PLACE_NAMES[place] in problems[0], problems
    assert "(line " in problems[0]
    assert definitions.version_count(session) == before


@pytest.mark.parametrize(
    "script",
    [
        "import os",
        "from os import system",
        "exec('x = 1')",
        "eval('1')",
        "open('/etc/passwd')",
        "x = 1\ndel x",
        "for i in [1]: x = i",
        "def f(): pass",
        "x: int = 1",
        "x += 1",
        "a.b = 1",
        "_hidden = 1",
        "x = y = 1",
        "x = (lambda: 1)()",
        "x = [i for i in [1]]",
        "x = f'{1}'",
    ],
)
def test_deploy_refuses_scripts_that_are_not_plain_assignments(session, script):
    with pytest.raises(ProcessValidationError, match="script of run_script"):
        definitions.deploy(session, actor=SYSTEM, bpmn_xml=diagram(script=script))


def test_a_conditional_event_and_a_correlation_are_checked_too(session):
    conditional = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NAMESPACES} id="d" targetNamespace="t">
  <bpmn:process id="conditional" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="until">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:conditionalEventDefinition>
        <bpmn:condition xsi:type="bpmn:tFormalExpression">__import__('os')</bpmn:condition>
      </bpmn:conditionalEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="until"/>
    <bpmn:sequenceFlow id="f2" sourceRef="until" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
    with pytest.raises(ProcessValidationError, match="condition of until"):
        definitions.deploy(session, actor=SYSTEM, bpmn_xml=conditional)

    correlated = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NAMESPACES} id="d" targetNamespace="t">
  <bpmn:collaboration id="c">
    <bpmn:participant id="p" processRef="correlated"/>
    <bpmn:correlationKey name="k"><bpmn:correlationPropertyRef>cp</bpmn:correlationPropertyRef>
    </bpmn:correlationKey>
  </bpmn:collaboration>
  <bpmn:correlationProperty id="cp" name="cp">
    <bpmn:correlationPropertyRetrievalExpression messageRef="m">
      <bpmn:formalExpression>().__class__.__base__</bpmn:formalExpression>
    </bpmn:correlationPropertyRetrievalExpression>
  </bpmn:correlationProperty>
  <bpmn:message id="m" name="m"/>
  <bpmn:process id="correlated" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="reply">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:messageEventDefinition id="md" messageRef="m"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="reply"/>
    <bpmn:sequenceFlow id="f2" sourceRef="reply" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
    with pytest.raises(ProcessValidationError, match=r"messagePath of cp .*__base__"):
        definitions.deploy(session, actor=SYSTEM, bpmn_xml=correlated)


# --- (b) refused at run time ---------------------------------------------------------------


def store_unvalidated(session, xml: str, process_id: str = "hostile") -> ProcessVersion:
    """Store a document the way deploy would, but without validating it (a bypass)."""
    latest = definitions.latest_version(session, process_id)
    version = ProcessVersion(
        process_id=process_id,
        name=process_id,
        version=(latest.version + 1) if latest else 1,
        bpmn_xml=xml,
        forms={},
        calls=[],
        content_hash=content_hash(xml, {}),
    )
    session.add(version)
    session.flush()
    return version


@pytest.fixture
def new_ticket(session, queue, customer):
    def make():
        return tickets.create_ticket(
            session,
            actor=SYSTEM,
            title="safety",
            queue=queue("Raw"),
            customer_user=customer("john.doe@acme.example"),
        )

    return make


def open_task(session, instance: ProcessInstance, name: str) -> HumanTask:
    session.flush()
    return session.scalars(
        select(HumanTask).where(
            HumanTask.instance_id == instance.id, HumanTask.name == name, HumanTask.state == "open"
        )
    ).one()


def assert_refused_and_unchanged(session, instance: ProcessInstance, task_name: str, data=None) -> str:
    """Completing ``task_name`` fails clearly; nothing of the instance was saved."""
    session.commit()  # the state before: a savepoint the failed attempt is rolled back to
    task = open_task(session, instance, task_name)
    before = (instance.workflow_json, instance.version, instance.status)
    with pytest.raises((ProcessError, UnsafeExpression)) as failed:
        runtime.complete_task(session, actor=SYSTEM, task_id=task.id, data=data or {})
    # Not saved, even before the caller rolls back.
    assert (instance.workflow_json, instance.version, instance.status) == before
    session.rollback()
    stored = session.get(ProcessInstance, instance.id)
    session.refresh(stored)
    assert (stored.workflow_json, stored.version, stored.status) == before
    assert open_task(session, stored, task_name).id == task.id
    return failed.value.message


REASONS = ("not allowed", "not available", "not valid", "only named functions")


def canary_payloads(canary: Path) -> dict[str, str]:
    """Expressions that would leave ``canary`` behind if anything evaluated them with eval."""
    return {
        **HOSTILE,
        "system": f"__import__('os').system('touch {canary}')",
        "subclasses+call": "[c for c in ().__class__.__base__.__subclasses__()"
        " if c.__name__ == 'Popen'][0](['touch', '" + str(canary) + "'])",
    }


@pytest.mark.parametrize("place", list(PLACE_NAMES))
def test_a_hostile_diagram_that_bypassed_deploy_fails_at_run_time(session, new_ticket, place, tmp_path):
    canary = tmp_path / "pwned"
    for number, (name, payload) in enumerate(canary_payloads(canary).items()):
        process_id = f"hostile_{place.lower()}_{number}"
        xml = diagram(process_id, **{place: in_place(place, payload)})
        with pytest.raises(ProcessValidationError):
            parse_document(xml)  # deploy would refuse it…
        store_unvalidated(session, xml, process_id)  # …so it is stored behind deploy's back
        instance = runtime.start(session, actor=SYSTEM, ticket=new_ticket(), process_id=process_id)
        if place == "preScript":  # runs when "Ask" becomes ready, i.e. when "Go" is completed
            message = assert_refused_and_unchanged(session, instance, "Go")
        else:
            runtime.complete_task(session, actor=SYSTEM, task_id=open_task(session, instance, "Go").id)
            message = assert_refused_and_unchanged(session, instance, "Ask")
        assert any(word in message for word in REASONS), (name, message)
        assert not canary.exists(), name


def test_a_raw_script_that_bypassed_deploy_runs_nothing(session, new_ticket, tmp_path):
    canary = tmp_path / "pwned"
    xml = diagram("raw_script", script=f"import os\nos.system('touch {canary}')")
    store_unvalidated(session, xml, "raw_script")
    instance = runtime.start(session, actor=SYSTEM, ticket=new_ticket(), process_id="raw_script")
    runtime.complete_task(session, actor=SYSTEM, task_id=open_task(session, instance, "Go").id)
    message = assert_refused_and_unchanged(session, instance, "Ask")
    assert "only assign" in message
    assert not canary.exists()


def test_an_unknown_operator_that_bypassed_deploy_fails_at_run_time(session, new_ticket):
    xml = diagram("ghost_operator").replace('id="add_note"', 'id="format_disk"')
    store_unvalidated(session, xml, "ghost_operator")
    instance = runtime.start(session, actor=SYSTEM, ticket=new_ticket(), process_id="ghost_operator")
    runtime.complete_task(session, actor=SYSTEM, task_id=open_task(session, instance, "Go").id)
    message = assert_refused_and_unchanged(session, instance, "Ask")
    assert "unknown operator 'format_disk'" in message


DATA_FORM = {
    "data.schema.json": {
        "type": "object",
        "properties": {"times": {"type": "integer"}, "text": {"type": "string", "maxLength": 200}},
        "required": ["times", "text"],
        "additionalProperties": False,
    }
}


def data_diagram(**slots: str) -> str:
    """The template, with a form on "Go" whose values the later expressions use."""
    return diagram("fed", **slots).replace(
        '<bpmn:userTask id="go" name="Go">',
        '<bpmn:userTask id="go" name="Go"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="formJsonSchemaFilename" value="data.schema.json"/>'
        "</spiffworkflow:properties></bpmn:extensionElements>",
    )


@pytest.mark.parametrize(
    ("place", "expression"),
    [
        ("script", "padding = 'x' * times"),
        ("script", "padding = [0] * times"),
        ("script", "padding = [[0] * 1000] * times"),
        ("condition", "len([0] * times) > 0"),
        ("parameter", "text * times"),
        ("timer", "'PT' + str(len(text * times)) + 'S'"),
        ("postScript", "padding = times * [text]"),
    ],
)
def test_a_deployed_diagram_fed_hostile_data_fails_at_run_time(session, new_ticket, place, expression):
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=data_diagram(**{place: expression}), forms=DATA_FORM)
    instance = runtime.start(session, actor=SYSTEM, ticket=new_ticket(), process_id="fed")
    go = open_task(session, instance, "Go")
    runtime.complete_task(session, actor=SYSTEM, task_id=go.id, data={"times": 10**8, "text": "ab"})
    message = assert_refused_and_unchanged(session, instance, "Ask")
    assert "not allowed" in message


def test_hostile_text_in_task_data_is_data_not_code(session, new_ticket, tmp_path):
    canary = tmp_path / "pwned"
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=data_diagram(parameter="text"), forms=DATA_FORM)
    instance = runtime.start(session, actor=SYSTEM, ticket=new_ticket(), process_id="fed")
    hostile = f"__import__('os').system('touch {canary}')"
    runtime.complete_task(
        session,
        actor=SYSTEM,
        task_id=open_task(session, instance, "Go").id,
        data={"times": 1, "text": hostile},
    )
    runtime.complete_task(session, actor=SYSTEM, task_id=open_task(session, instance, "Ask").id)
    notes = session.scalars(
        select(Article.body_text).where(Article.ticket_id == instance.ticket_id, Article.channel == "note")
    ).all()
    assert notes == [hostile]
    assert not canary.exists()
    assert instance.status == "running"  # waiting for its timer
    assert instance.next_timer_due is not None


# --- the engine after deserialization -------------------------------------------------------


def spiff_workflow(xml: str, process_id: str) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(xml.encode())
    return BpmnWorkflow(
        parser.get_spec(process_id),
        parser.get_subprocess_specs(process_id),
        script_engine=TicketflowScriptEngine(),
    )


def test_a_loaded_workflow_has_the_safe_engine_again(tmp_path):
    canary = tmp_path / "pwned"
    xml = diagram("loaded", condition=f"__import__('os').system('touch {canary}') == 0")
    workflow = spiff_workflow(xml, "loaded")
    workflow.do_engine_steps()
    text = serialization.dumps(workflow)

    # SpiffWorkflow alone restores its default engine, which evals: why loads() must set ours.
    plain = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG)).deserialize_json(
        serialization.dumps_full(workflow)
    )
    assert not isinstance(plain.script_engine.environment, SafeEnvironment)

    loaded = serialization.loads(text, TicketflowScriptEngine())
    assert type(loaded.script_engine) is TicketflowScriptEngine
    assert type(loaded.script_engine.environment) is SafeEnvironment
    for _ in range(2):  # "Go", then "Ask" (whose completion evaluates the hostile condition)
        (task,) = loaded.get_tasks(state=TaskState.READY, manual=True)
        if task.task_spec.bpmn_id == "ask":
            task.run()
            with pytest.raises(SpiffWorkflowException) as failed:
                loaded.do_engine_steps()
            cause = failed.value.__context__
            assert isinstance(cause, UnsafeExpression)
        else:
            task.run()
            loaded.do_engine_steps()
    assert not canary.exists()


def test_the_runtime_loads_every_instance_with_the_safe_engine(session, new_ticket):
    store_unvalidated(session, diagram("engine_check"), "engine_check")
    instance = runtime.start(session, actor=SYSTEM, ticket=new_ticket(), process_id="engine_check")
    workflow = serialization.loads(instance.workflow_json, TicketflowScriptEngine())
    assert isinstance(workflow.script_engine.environment, SafeEnvironment)
    assert [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True)] == ["go"]


# --- documents that are not acceptable ------------------------------------------------------


def simple(body: str, *, extra: str = "", process_id: str = "simple") -> str:
    """start → ``body`` (an element with id "t") → end."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NAMESPACES} id="d" targetNamespace="t">
  {extra}
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    {body}
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="t"/>
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def service(operator: str, **params: str) -> str:
    parameters = "".join(
        f'<spiffworkflow:parameter id="{k}" type="str" value={quoteattr(v)}/>' for k, v in params.items()
    )
    return f"""<bpmn:serviceTask id="t" name="Service"><bpmn:extensionElements>
      <spiffworkflow:serviceTaskOperator id="{operator}">
        <spiffworkflow:parameters>{parameters}</spiffworkflow:parameters>
      </spiffworkflow:serviceTaskOperator></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>"""


def user_task_with_form(form: str) -> str:
    return f"""<bpmn:userTask id="t" name="Form"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="formJsonSchemaFilename" value="{form}"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>"""


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:documentation>&lol9;</bpmn:documentation>
</bpmn:definitions>
"""

VALID_BODY = (
    '<bpmn:task id="t"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:task>'
)

BAD_DOCUMENTS = {
    "billion laughs": (BILLION_LAUGHS, {}, "DTD or entities"),
    "billion laughs in UTF-16": (
        BILLION_LAUGHS.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>').encode(
            "utf-16"
        ),
        {},
        "DTD or entities",
    ),
    "external DTD behind a long comment": (
        '<?xml version="1.0"?>\n<!--'
        + "x" * 5000
        + '-->\n<!DOCTYPE definitions SYSTEM "http://127.0.0.1:9/evil.dtd">\n'
        + simple(VALID_BODY).split("\n", 1)[1],
        {},
        "DTD or entities",
    ),
    "invalid XML": ("<bpmn:definitions xmlns:bpmn='x'><unclosed>", {}, "not well-formed XML"),
    "not BPMN": ("<html><body>hello</body></html>", {}, "not BPMN"),
    "no process": (
        f'<bpmn:definitions {NAMESPACES} id="d" targetNamespace="t"/>',
        {},
        "defines no process",
    ),
    "schema violation": (simple('<bpmn:frobnicate id="t"/>'), {}, "frobnicate"),
    "unknown operator": (
        simple(service("format_disk", device="'/dev/sda'")),
        {},
        "serviceTaskOperator 'format_disk' of t (line 7): unknown operator 'format_disk'",
    ),
    "missing operator parameter": (
        simple(service("move_queue")),
        {},
        "operator move_queue needs parameter 'queue'",
    ),
    "unknown operator parameter": (
        simple(service("move_queue", queue="'Raw'", force="True")),
        {},
        "operator move_queue has no parameter 'force'",
    ),
    "missing form": (
        simple(user_task_with_form("nope.schema.json")),
        {},
        "'nope.schema.json' is not supplied",
    ),
    "invalid JSON Schema": (
        simple(user_task_with_form("bad.schema.json")),
        {"bad.schema.json": {"type": "nonsense"}},
        "bad.schema.json: not a valid JSON Schema",
    ),
    "unknown called process": (
        simple(
            '<bpmn:callActivity id="t" calledElement="ghost_process">'
            "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:callActivity>"
        ),
        {},
        "calls unknown process 'ghost_process'",
    ),
    "business rule task without decision": (
        simple(
            '<bpmn:businessRuleTask id="t"><bpmn:incoming>f1</bpmn:incoming>'
            "<bpmn:outgoing>f2</bpmn:outgoing></bpmn:businessRuleTask>"
        ),
        {},
        "a business rule task names no decision",
    ),
}


@pytest.mark.parametrize(("document", "forms", "expected"), BAD_DOCUMENTS.values(), ids=list(BAD_DOCUMENTS))
def test_unacceptable_documents_are_clear_validation_errors(session, document, forms, expected):
    before = definitions.version_count(session)
    with pytest.raises(ProcessValidationError) as refused:
        definitions.deploy(session, actor=SYSTEM, bpmn_xml=document, forms=forms)
    assert any(expected in problem for problem in refused.value.problems), refused.value.problems
    assert "bpmn" in refused.value.errors
    assert definitions.version_count(session) == before


def test_every_problem_is_reported_at_once(session):
    xml = diagram(condition="__import__('os')", timer="[0] * 10**8", parameter="uuid.os")
    with pytest.raises(ProcessValidationError) as refused:
        definitions.deploy(session, actor=SYSTEM, bpmn_xml=xml)
    problems = refused.value.problems
    assert len(problems) == 3
    for place in ("condition", "timer", "parameter"):
        assert any(PLACE_NAMES[place] in p for p in problems), problems


# --- the expression language itself ----------------------------------------------------


@pytest.mark.parametrize(
    ("source", "names", "expected"),
    [
        ("1 + 2 * 3 - 4 / 2", {}, 5.0),
        ("7 // 2, 7 % 2, -3, 2 ** 10", {}, (3, 1, -3, 1024)),
        ("a > 3 and a <= 5 and a != 4", {"a": 5}, True),
        ("not (a == 1 or b is None)", {"a": 2, "b": 0}, True),
        ("'x' in items and 'z' not in items", {"items": ["x", "y"]}, True),
        ("'yes' if approved else 'no'", {"approved": False}, "no"),
        ("request.amount * 2", {"request": {"amount": 21}}, 42),
        ("request['amount']", {"request": {"amount": 21}}, 21),
        ("request.get('missing', 'default')", {"request": {}}, "default"),
        ("sorted(request.keys())", {"request": {"b": 1, "a": 2}}, ["a", "b"]),
        ("value_of('missing', 'fallback')", {}, "fallback"),
        ("value_of('present', 'fallback')", {"present": 0}, 0),
        ("value_of('_private', 'hidden')", {"_private": "secret"}, "hidden"),
        ("name.strip().lower().startswith('ada')", {"name": "  Ada Admin "}, True),
        ("subject.split(':')[0].upper()", {"subject": "re: help"}, "RE"),
        ("text.count('a') + text.find('b')", {"text": "aab"}, 4),
        ("title.title()", {"title": "donation offer"}, "Donation Offer"),
        ("len(items) + max(items) + min(1, 2) + abs(-1)", {"items": [1, 5]}, 9),
        ("int('12') + float('0.5') + round(2.6)", {}, 15.5),
        ("str(42) + '!'", {}, "42!"),
        ("any([False, flag]) and all([True])", {"flag": True}, True),
        ("items[1:] + [3]", {"items": [1, 2]}, [2, 3]),
        ("{'a': 1}['a'] + (1, 2)[1]", {}, 3),
        ("iso_duration(days=3, hours=4)", {}, "P3DT4H0M"),
        ("'%s-%03d' % ('ticket', 7)", {}, "ticket-007"),
        ('"PT1H"', {}, "PT1H"),
        ("'x' * 10000", {}, "x" * 10000),
    ],
)
def test_allowed_expressions_evaluate(source, names, expected):
    assert expressions.evaluate(source, names) == expected


def test_now_is_utc_iso():
    assert expressions.evaluate("now()", {}).endswith("+00:00")


@pytest.mark.parametrize(
    ("source", "names", "message"),
    [
        ("().__class__", {}, "'_'"),
        ("x.__class__.__mro__", {"x": 1}, "'_'"),
        ("__builtins__", {}, "'_'"),
        ("getattr(x, 'y')", {}, "getattr() is not available"),
        ("open('/etc/passwd')", {}, "open() is not available"),
        ("x.format(1)", {"x": "{}"}, ".format() is not available"),
        ("os.path", {}, "'os' is a Python module"),
        ("os.system('true')", {}, ".system() is not available"),
        ("(x := 1)", {}, "NamedExpr"),
        ("lambda: 1", {}, "Lambda"),
        ("[a for a in b]", {"b": [1]}, "ListComp"),
        ("{a for a in b}", {"b": [1]}, "SetComp"),
        ("f'{x}'", {"x": 1}, "JoinedStr"),
        ("x.y", {"x": 1}, "not available on int"),
        ("m.os", {"m": uuid}, "modules are not allowed"),
        ("f.__globals__", {"f": len}, "'_'"),
        ("x[0](1)", {"x": [print]}, "only named functions"),
        ("10 ** 100", {}, "powers are limited"),
        ("(10 ** 9) ** 64", {}, "400 digits"),
        ("(10 ** 10) ** 2", {}, "powers are limited"),
        ("n * n", {"n": 10**300}, "digits"),
        ("'x' * n", {"n": 10**8}, "longer than"),
        ("n * [0]", {"n": 10**8}, "longer than"),
        ("[x] * 10000", {"x": "y" * 10000}, "in all"),
        ("s + s", {"s": "x" * 6000}, "longer than"),
        ("str(items)", {"items": list(range(5000))}, "longer than"),
        ("sorted(s + s)", {"s": "x" * 6000}, "longer than"),
        ("'%*d' % (n, 1)", {"n": 10**8}, "widths"),
        ("'%.100000000f' % 1.0", {}, "widths"),
        ("iso_duration(days=-1)", {}, "whole numbers"),
        ("x" * 2001, {}, "longer than 2000"),
        ("+".join(["1"] * 300), {}, "too complex"),
        ("1 +", {}, "not valid"),
        ("missing + 1", {}, "not defined"),
    ],
)
def test_refused_expressions(source, names, message):
    with pytest.raises(UnsafeExpression) as refused:
        expressions.evaluate(source, names)
    assert message in refused.value.message


def test_scripts_assign_line_by_line():
    data = {"amount": 20}
    expressions.run_script("double = amount * 2\nlabel = 'x' + str(double)\npass", data)
    assert data == {"amount": 20, "double": 40, "label": "x40"}


def test_a_script_value_must_stay_small():
    data: dict[str, object] = {"row": [0] * 10000}
    with pytest.raises(UnsafeExpression, match="in all"):
        expressions.run_script("table = [row, row, row, row, row, row, row, row, row, row, row]", data)
    assert "table" not in data


def test_the_engine_evaluates_and_executes_through_the_safe_language():
    engine = TicketflowScriptEngine()
    assert isinstance(engine.environment, SafeEnvironment)
    assert engine.environment.evaluate("a + 1", {"a": 1}) == 2
    context = {"a": 1}
    engine.environment.execute("b = a + 1", context)
    assert context == {"a": 1, "b": 2}
    with pytest.raises(UnsafeExpression):
        engine.validate("__import__('os')")
    with pytest.raises(UnsafeExpression):
        engine.environment.execute("import os", {})


# --- processes that would never stop ---------------------------------------------------------

ENDLESS = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NAMESPACES} id="d" targetNamespace="t">
  <bpmn:process id="endless" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="go" name="Go"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:scriptTask id="count" name="Count">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:incoming>again</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>rounds = value_of('rounds', 0) + 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="more" default="done">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>again</bpmn:outgoing><bpmn:outgoing>done</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>done</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="go"/>
    <bpmn:sequenceFlow id="f2" sourceRef="go" targetRef="count"/>
    <bpmn:sequenceFlow id="f3" sourceRef="count" targetRef="more"/>
    <bpmn:sequenceFlow id="again" sourceRef="more" targetRef="count">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">rounds &gt; 0</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="done" sourceRef="more" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

MANY_INSTANCES = simple(
    """<bpmn:userTask id="t" name="Each">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopCardinality>times</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>""",
    process_id="many",
)


def test_a_loop_without_a_wait_state_is_stopped(session, new_ticket, monkeypatch):
    monkeypatch.setattr(runtime, "MAX_ENGINE_STEPS", 500)
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=ENDLESS)  # valid, just endless
    instance = runtime.start(session, actor=SYSTEM, ticket=new_ticket(), process_id="endless")
    message = assert_refused_and_unchanged(session, instance, "Go")
    assert "500 steps without waiting" in message


@pytest.mark.parametrize("times", [10**8, -1, "3"])
def test_a_multi_instance_task_runs_a_bounded_number_of_times(session, new_ticket, times):
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=MANY_INSTANCES)
    with pytest.raises(UnsafeExpression, match="multi-instance task runs 0 to 10000 times"):
        runtime.start(session, actor=SYSTEM, ticket=new_ticket(), process_id="many", data={"times": times})


def test_a_multi_instance_task_within_the_bound_runs(session, new_ticket):
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=MANY_INSTANCES)
    instance = runtime.start(session, actor=SYSTEM, ticket=new_ticket(), process_id="many", data={"times": 3})
    session.flush()
    names = session.scalars(select(HumanTask.name).where(HumanTask.instance_id == instance.id)).all()
    assert names == ["Each"] * 3
