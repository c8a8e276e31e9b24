"""Standard BPMN that SpiffWorkflow refuses as written, or that needs our reading (issue 13):
implicit splits, sub-processes without start events, empty form file names, data objects,
process inputs and outputs, data stores per process and per ticket, and readable refusals
for non-executable processes, service tasks without operator and unresolved associations."""

from __future__ import annotations

import pytest

from desk.actor import SYSTEM
from desk.ticket import service as tickets
from desk.ticket.models import Ticket
from engine import runtime
from engine.errors import ProcessValidationError
from engine.parser import parse_document
from tests.engine.conftest import one_task, open_tasks
from tests.engine.test_corpus_bpmn import REPR

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
%s
</bpmn:definitions>"""

LANE = """<bpmn:laneSet id="ls"><bpmn:lane id="l1" name="Ticket queue">%s</bpmn:lane></bpmn:laneSet>"""


def refs(*ids: str) -> str:
    return "".join(f"<bpmn:flowNodeRef>{i}</bpmn:flowNodeRef>" for i in ids)


def problems_of(xml: str, **kwargs: object) -> list[str]:
    with pytest.raises(ProcessValidationError) as refused:
        parse_document(xml, **kwargs)  # type: ignore[arg-type]
    for problem in refused.value.problems:
        assert not REPR.search(problem), problem
    return list(refused.value.problems)


IMPLICIT_SPLIT = (
    HEAD
    % f"""
<bpmn:process id="implicit_split" isExecutable="true">
  {LANE % refs("check", "notify", "fix")}
  <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:userTask id="check" name="Check the request">
    <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing>
  </bpmn:userTask>
  <bpmn:userTask id="notify" name="Notify the owner"><bpmn:incoming>f2</bpmn:incoming>
    <bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
  <bpmn:userTask id="fix" name="Fix it"><bpmn:incoming>f3</bpmn:incoming>
    <bpmn:outgoing>f5</bpmn:outgoing></bpmn:userTask>
  <bpmn:endEvent id="e1"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
  <bpmn:endEvent id="e2"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="check"/>
  <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="notify"/>
  <bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="fix"/>
  <bpmn:sequenceFlow id="f4" sourceRef="notify" targetRef="e1"/>
  <bpmn:sequenceFlow id="f5" sourceRef="fix" targetRef="e2"/>
</bpmn:process>"""
)


def test_a_task_with_two_outgoing_flows_starts_both(session, deploy, start):
    deploy(IMPLICIT_SPLIT)
    instance = start("implicit_split")
    runtime.complete_task(session, actor=SYSTEM, task_id=one_task(session, instance).id, data={})
    assert sorted(t.name for t in open_tasks(session, instance)) == ["Fix it", "Notify the owner"]
    for task in open_tasks(session, instance):
        runtime.complete_task(session, actor=SYSTEM, task_id=task.id, data={})
    assert instance.status == "completed"


def test_conditional_flows_out_of_a_task_take_the_true_ones_or_the_default(session, deploy, start):
    xml = IMPLICIT_SPLIT.replace(
        '<bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="notify"/>',
        '<bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="notify">'
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">urgent</bpmn:conditionExpression>'
        "</bpmn:sequenceFlow>",
    ).replace(
        '<bpmn:userTask id="check" name="Check the request">',
        '<bpmn:userTask id="check" name="Check the request" default="f3">',
    )
    deploy(xml)
    quiet = start("implicit_split", data={"urgent": False})
    runtime.complete_task(session, actor=SYSTEM, task_id=one_task(session, quiet).id, data={})
    assert [t.name for t in open_tasks(session, quiet)] == ["Fix it"]
    loud = start("implicit_split", data={"urgent": True})
    runtime.complete_task(session, actor=SYSTEM, task_id=one_task(session, loud).id, data={})
    assert [t.name for t in open_tasks(session, loud)] == ["Notify the owner"]


SUB_WITHOUT_START = (
    HEAD
    % f"""
<bpmn:process id="sub_without_start" isExecutable="true">
  {LANE % refs("sub", "inner_a", "inner_b", "after")}
  <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:subProcess id="sub" name="Collect">
    <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    <bpmn:userTask id="inner_a" name="Collect the invoice"/>
    <bpmn:userTask id="inner_b" name="Collect the receipt"/>
  </bpmn:subProcess>
  <bpmn:userTask id="after" name="Book it"><bpmn:incoming>f2</bpmn:incoming>
    <bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
  <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sub"/>
  <bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="after"/>
  <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="e"/>
</bpmn:process>"""
)


def test_a_sub_process_without_start_event_starts_every_element_without_incoming_flow(session, deploy, start):
    deploy(SUB_WITHOUT_START)
    instance = start("sub_without_start")
    names = sorted(t.name for t in open_tasks(session, instance))
    assert names == ["Collect the invoice", "Collect the receipt"]
    for task in open_tasks(session, instance):
        runtime.complete_task(session, actor=SYSTEM, task_id=task.id, data={})
    assert one_task(session, instance).name == "Book it"


def test_an_empty_ui_schema_file_name_is_no_form(session, deploy, start):
    xml = (
        HEAD
        % f"""
<bpmn:process id="empty_ui" isExecutable="true">
  {LANE % refs("ask")}
  <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:userTask id="ask" name="Ask">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="formJsonSchemaFilename" value="ask.schema.json"/>
      <spiffworkflow:property name="formUiSchemaFilename" value=""/>
    </spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
  </bpmn:userTask>
  <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="ask"/>
  <bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="e"/>
</bpmn:process>"""
    )
    (version,) = deploy(xml, {"ask.schema.json": {"type": "object"}})
    assert set(version.forms) == {"ask.schema.json"}
    task = one_task(session, start("empty_ui"))
    assert (task.form, task.ui_form) == ("ask.schema.json", None)


def test_a_process_marked_not_executable_is_refused_with_that_reason():
    xml = IMPLICIT_SPLIT.replace('isExecutable="true"', 'isExecutable="false"')
    assert problems_of(xml) == ['process implicit_split is not executable (isExecutable="false")']


def test_a_plain_service_task_without_operator_is_named_not_a_traceback():
    xml = (
        HEAD
        % """
<bpmn:process id="no_operator" isExecutable="true">
  <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:serviceTask id="call_crm" name="Call the CRM"><bpmn:incoming>f1</bpmn:incoming>
    <bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
  <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call_crm"/>
  <bpmn:sequenceFlow id="f2" sourceRef="call_crm" targetRef="e"/>
</bpmn:process>"""
    )
    (problem,) = problems_of(xml)
    assert "this service task has no operator" in problem
    assert "call_crm" in problem
    assert "Call the CRM" in problem


DATA = (
    HEAD
    % """
<bpmn:process id="data_io" isExecutable="true">
  <bpmn:ioSpecification id="ios">
    <bpmn:dataInput id="amount" name="amount"/>
    <bpmn:dataOutput id="total" name="total"/>
    <bpmn:inputSet id="is"><bpmn:dataInputRefs>amount</bpmn:dataInputRefs></bpmn:inputSet>
    <bpmn:outputSet id="os"><bpmn:dataOutputRefs>total</bpmn:dataOutputRefs></bpmn:outputSet>
  </bpmn:ioSpecification>
  <bpmn:dataObject id="fee"/>
  <bpmn:dataObjectReference id="fee_ref" dataObjectRef="fee"/>
  <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:scriptTask id="set_fee" name="Set the fee">
    <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    <bpmn:dataOutputAssociation id="doa"><bpmn:targetRef>fee_ref</bpmn:targetRef></bpmn:dataOutputAssociation>
    <bpmn:script>fee = 5</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:scriptTask id="add_fee" name="Add the fee">
    <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    <bpmn:dataInputAssociation id="dia"><bpmn:sourceRef>fee_ref</bpmn:sourceRef>
      <bpmn:targetRef>add_fee</bpmn:targetRef></bpmn:dataInputAssociation>
    <bpmn:script>total = amount + fee</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="set_fee"/>
  <bpmn:sequenceFlow id="f2" sourceRef="set_fee" targetRef="add_fee"/>
  <bpmn:sequenceFlow id="f3" sourceRef="add_fee" targetRef="e"/>
</bpmn:process>"""
)


def test_process_inputs_outputs_and_data_objects_run(session, deploy, start):
    deploy(DATA)
    instance = start("data_io", data={"amount": 10})
    assert instance.status == "completed"
    assert '"total": 15' in instance.workflow_json


def test_an_unresolved_data_association_names_the_reference():
    xml = DATA.replace(
        "<bpmn:sourceRef>fee_ref</bpmn:sourceRef>", "<bpmn:sourceRef>no_such_data</bpmn:sourceRef>"
    )
    (problem,) = problems_of(xml)
    assert "Cannot resolve dataInputAssociation 'no_such_data'" in problem
    assert "add_fee" in problem


def _stores(scope: str) -> str:
    return (
        HEAD
        % f"""
<bpmn:dataStore id="seen" name="Times seen">
  <bpmn:extensionElements><spiffworkflow:properties>
    <spiffworkflow:property name="scope" value="{scope}"/>
  </spiffworkflow:properties></bpmn:extensionElements>
</bpmn:dataStore>
<bpmn:process id="counting" isExecutable="true">
  {LANE % refs("look")}
  <bpmn:dataStoreReference id="seen_ref" dataStoreRef="seen"/>
  <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:scriptTask id="count" name="Count">
    <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    <bpmn:dataInputAssociation id="read"><bpmn:sourceRef>seen_ref</bpmn:sourceRef>
      <bpmn:targetRef>count</bpmn:targetRef></bpmn:dataInputAssociation>
    <bpmn:dataOutputAssociation id="write">
      <bpmn:targetRef>seen_ref</bpmn:targetRef></bpmn:dataOutputAssociation>
    <bpmn:script>seen = (seen or 0) + 1
times = seen</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:userTask id="look" name="Look"><bpmn:incoming>f2</bpmn:incoming>
    <bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
  <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="count"/>
  <bpmn:sequenceFlow id="f2" sourceRef="count" targetRef="look"/>
  <bpmn:sequenceFlow id="f3" sourceRef="look" targetRef="e"/>
</bpmn:process>"""
    )


@pytest.mark.parametrize(("scope", "second"), [("process", 1), ("ticket", 2)])
def test_a_data_store_keeps_its_value_per_process_or_per_ticket(
    session, deploy, queue, customer, scope, second
):
    deploy(_stores(scope))
    ticket: Ticket = tickets.create_ticket(
        session,
        actor=SYSTEM,
        title="stores",
        queue=queue("Raw"),
        customer_user=customer("john.doe@acme.example"),
    )
    counts = []
    for _ in range(2):
        instance = runtime.start(session, actor=SYSTEM, ticket=ticket, process_id="counting")
        task = one_task(session, instance)
        counts.append(task.instance.workflow_json.count('"times": 2') > 0)
        runtime.complete_task(session, actor=SYSTEM, task_id=task.id, data={})
        assert instance.status == "completed"
    assert counts == [False, second == 2]


def test_a_data_store_with_an_unknown_scope_is_named():
    (problem,) = problems_of(_stores("galaxy"))
    assert "data store seen: the scope must be one of process, ticket, not 'galaxy'" in problem
