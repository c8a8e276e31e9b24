"""Integrations send messages to processes: ``POST /tickets/{id}/messages`` and message starts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.history.models import History
from engine import definitions, runtime, serialization
from engine.models import ProcessInstance, ProcessMessage
from engine.scripting import TicketflowScriptEngine
from tests.api.conftest import Api, assert_error

NAMESPACES = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
)

# Call the vendor, wait for the vendor's system to report, read what it said.
VENDOR = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NAMESPACES} id="d_vendor" targetNamespace="t">
  <bpmn:message id="vendor_update" name="vendor_update"/>
  <bpmn:process id="vendor_case" name="Vendor case" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait" name="Vendor reports">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:messageEventDefinition id="m1" messageRef="vendor_update">
        <bpmn:extensionElements>
          <spiffworkflow:messageVariable>vendor_report</spiffworkflow:messageVariable>
        </bpmn:extensionElements>
      </bpmn:messageEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="read" name="Read the vendor's answer">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="read"/>
    <bpmn:sequenceFlow id="f3" sourceRef="read" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

# A shop's order opens the process: its start event is the message.
ORDER = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NAMESPACES} id="d_order" targetNamespace="t">
  <bpmn:message id="order_received" name="order_received"/>
  <bpmn:process id="shop_order" name="Shop order" isExecutable="true">
    <bpmn:startEvent id="start" name="Order received">
      <bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:messageEventDefinition id="m1" messageRef="order_received"/>
    </bpmn:startEvent>
    <bpmn:userTask id="ship" name="Ship the order">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ship"/>
    <bpmn:sequenceFlow id="f2" sourceRef="ship" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def vendor_ticket(session, new_ticket):
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=VENDOR)
    ticket = new_ticket("1st level", title="Laptop under warranty")
    instance = runtime.start(
        session, actor=SYSTEM, ticket=ticket, process_id="vendor_case", data={"order_id": "A-17"}
    )
    session.flush()
    assert instance.waiting_messages == ["vendor_update"]
    return ticket, instance


def task_names(api: Api, ticket_id: int) -> list[str]:
    return [t["name"] for t in api.get(f"/tickets/{ticket_id}/tasks").get_json()]


def stored_data(instance: ProcessInstance) -> dict:
    workflow = serialization.loads(instance.workflow_json, TicketflowScriptEngine())
    (task,) = [t for t in workflow.get_tasks() if t.task_spec.bpmn_id == "read"]
    return dict(task.data)


def test_a_message_moves_the_waiting_instance_on_and_is_recorded(api_as, session, vendor_ticket):
    ticket, instance = vendor_ticket
    alice = api_as("alice")
    assert task_names(alice, ticket.id) == []

    sent = alice.post(
        f"/tickets/{ticket.id}/messages",
        json={
            "name": "vendor_update",
            "payload": {"vendor_status": "replacement shipped"},
            "correlation": {"order_id": "A-17"},
        },
    )
    assert sent.status_code == 202, sent.text
    body = sent.get_json()
    assert (body["status"], body["instance_id"], body["name"]) == ("delivered", instance.id, "vendor_update")
    assert task_names(alice, ticket.id) == ["Read the vendor's answer"]

    record = session.get(ProcessMessage, body["id"])
    assert (record.ticket_id, record.status, record.instance_id) == (ticket.id, "delivered", instance.id)
    assert record.payload == {"vendor_status": "replacement shipped"}
    assert record.correlation == {"order_id": "A-17"}
    session.refresh(instance)
    assert instance.waiting_messages == []
    assert stored_data(instance)["vendor_report"] == {"vendor_status": "replacement shipped"}
    entry = session.scalars(
        select(History).where(History.ticket_id == ticket.id, History.type == "ProcessMessage")
    ).one()
    assert (entry.new_value, entry.comment, entry.actor_name) == (
        "vendor_update",
        "delivered",
        "Alice First (alice)",
    )


@pytest.mark.parametrize(
    ("name", "correlation"),
    [("nobody_waits_for_this", {}), ("vendor_update", {"order_id": "B-99"})],
    ids=["unknown name", "other correlation"],
)
def test_a_message_nobody_waits_for_is_recorded_as_unmatched(
    api_as, session, vendor_ticket, name, correlation
):
    ticket, instance = vendor_ticket
    alice = api_as("alice")
    sent = alice.post(f"/tickets/{ticket.id}/messages", json={"name": name, "correlation": correlation})
    assert sent.status_code == 202, sent.text
    body = sent.get_json()
    assert (body["status"], body["instance_id"]) == ("unmatched", None)
    assert session.get(ProcessMessage, body["id"]).status == "unmatched"
    # The instance still waits where it was.
    session.refresh(instance)
    assert (instance.status, instance.waiting_messages) == ("running", ["vendor_update"])
    assert task_names(alice, ticket.id) == []


def test_sending_a_message_needs_rw_on_the_tickets_queue(api_as, session, vendor_ticket, customer):
    ticket, instance = vendor_ticket
    message = {"name": "vendor_update", "correlation": {"order_id": "A-17"}}
    # bob reads 1st level but may not change its tickets; the observer changes nothing.
    refused = assert_error(api_as("bob").post(f"/tickets/{ticket.id}/messages", json=message), 403)
    assert "rw" in refused["message"]
    assert_error(api_as("observer").post(f"/tickets/{ticket.id}/messages", json=message), 403)
    # A customer token, even the ticket's own customer's.
    token = agents.create_customer_token(
        session, actor=SYSTEM, customer=customer("john.doe@acme.example"), name="shop"
    )
    john = Api(api_as("alice").client, token, session)
    assert_error(john.post(f"/tickets/{ticket.id}/messages", json=message), 403)
    assert session.scalars(select(ProcessMessage).where(ProcessMessage.ticket_id == ticket.id)).all() == []
    session.refresh(instance)
    assert instance.waiting_messages == ["vendor_update"]


def test_bad_message_bodies_are_422_next_to_the_fields(api_as, vendor_ticket):
    ticket, _instance = vendor_ticket
    bad = api_as("alice").post(f"/tickets/{ticket.id}/messages", json={"name": "", "payload": [1]})
    errors = assert_error(bad, 422)["errors"]
    assert set(errors) == {"name", "payload"}


def test_a_message_start_event_starts_its_process_for_the_ticket(api_as, session, new_ticket):
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=ORDER)
    ticket = new_ticket("1st level", title="Order 4711")
    alice = api_as("alice")
    started = alice.post(
        "/processes/shop_order/messages",
        json={"ticket_id": ticket.id, "name": "order_received", "payload": {"order": "4711"}},
    )
    assert started.status_code == 202, started.text
    body = started.get_json()
    assert body["status"] == "delivered"
    instance = session.get(ProcessInstance, body["instance_id"])
    assert (instance.ticket_id, instance.process_version.process_id, instance.status) == (
        ticket.id,
        "shop_order",
        "running",
    )
    assert task_names(alice, ticket.id) == ["Ship the order"]
    record = session.get(ProcessMessage, body["id"])
    assert (record.name, record.payload) == ("order_received", {"order": "4711"})


def test_a_message_start_needs_a_start_event_for_that_message(api_as, session, new_ticket):
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=ORDER)
    ticket = new_ticket("1st level")
    alice = api_as("alice")
    wrong = alice.post("/processes/shop_order/messages", json={"ticket_id": ticket.id, "name": "refund"})
    errors = assert_error(wrong, 422)["errors"]
    assert errors == {"name": ["no start event of shop_order catches 'refund' (it catches: order_received)"]}
    missing = alice.post("/processes/no_such_process/messages", json={"ticket_id": ticket.id, "name": "x"})
    assert_error(missing, 404)
    # Rights first: bob may not start processes on 1st level tickets, whatever the message.
    assert_error(
        api_as("bob").post("/processes/no_such_process/messages", json={"ticket_id": ticket.id, "name": "x"}),
        403,
    )
    assert session.scalars(select(ProcessInstance).where(ProcessInstance.ticket_id == ticket.id)).all() == []
