"""The inbox shows each agent the open tasks their lanes, roles and queues give them."""

from __future__ import annotations

import pytest

from core.errors import PermissionDenied
from desk.actor import SYSTEM
from desk.ticket import service as tickets
from engine import inbox, runtime
from engine.errors import TaskClaimed
from tests.engine.conftest import open_tasks

LANES = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="lanes" name="Lanes" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l1" name="Ticket queue"><bpmn:flowNodeRef>queue_task</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l2" name="Consultant"><bpmn:flowNodeRef>role_task</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l3" name="Finance"><bpmn:flowNodeRef>finance_task</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l4" name="Authorizer"><bpmn:flowNodeRef>four_eyes</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="split"><bpmn:incoming>f0</bpmn:incoming>
      <bpmn:outgoing>f1</bpmn:outgoing><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f4</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="queue_task" name="Queue work"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>g1</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="role_task" name="Consultant work"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>g2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="finance_task" name="Finance work"><bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>g3</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="four_eyes" name="Approve">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="excludedAgentVariable" value="requester_id"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>g4</bpmn:outgoing></bpmn:userTask>
    <bpmn:parallelGateway id="join"><bpmn:incoming>g1</bpmn:incoming><bpmn:incoming>g2</bpmn:incoming>
      <bpmn:incoming>g3</bpmn:incoming><bpmn:incoming>g4</bpmn:incoming>
      <bpmn:outgoing>g5</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>g5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="split"/>
    <bpmn:sequenceFlow id="f1" sourceRef="split" targetRef="queue_task"/>
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="role_task"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="finance_task"/>
    <bpmn:sequenceFlow id="f4" sourceRef="split" targetRef="four_eyes"/>
    <bpmn:sequenceFlow id="g1" sourceRef="queue_task" targetRef="join"/>
    <bpmn:sequenceFlow id="g2" sourceRef="role_task" targetRef="join"/>
    <bpmn:sequenceFlow id="g3" sourceRef="finance_task" targetRef="join"/>
    <bpmn:sequenceFlow id="g4" sourceRef="four_eyes" targetRef="join"/>
    <bpmn:sequenceFlow id="g5" sourceRef="join" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def instance(deploy, start, agent):
    deploy(LANES)
    return start("lanes", queue_name="2nd level", data={"requester_id": agent("authorizer").id})


def names(tasks):
    return sorted(t.name for t in tasks)


def test_each_agent_sees_the_tasks_of_their_queues_and_roles(session, agent, instance):
    assert names(inbox.tasks_for(session, agent=agent("bob"))) == ["Queue work"]
    assert names(inbox.tasks_for(session, agent=agent("consultant"))) == ["Consultant work", "Queue work"]
    assert "Finance work" in names(inbox.tasks_for(session, agent=agent("admin")))
    assert names(inbox.tasks_for(session, agent=agent("alice"))) == []
    assert inbox.tasks_for(session, agent=agent("observer")) == []


def test_the_requester_never_sees_or_does_their_own_approval(session, agent, instance):
    approve = next(t for t in open_tasks(session, instance) if t.name == "Approve")
    assert "Approve" not in names(inbox.tasks_for(session, agent=agent("authorizer")))
    with pytest.raises(PermissionDenied, match="another agent"):
        runtime.complete_task(session, actor=agent("authorizer"), task_id=approve.id)


def test_a_queue_lane_follows_the_ticket_when_it_moves(session, agent, queue, instance):
    tickets.move(session, actor=SYSTEM, ticket=instance.ticket, queue=queue("1st level"))
    assert "Queue work" in names(inbox.tasks_for(session, agent=agent("alice")))
    assert "Queue work" not in names(inbox.tasks_for(session, agent=agent("bob")))


def test_claiming_locks_the_ticket_and_takes_the_task_from_others(session, agent, instance):
    work = next(t for t in open_tasks(session, instance) if t.name == "Queue work")
    runtime.claim(session, actor=agent("bob"), task_id=work.id)

    assert instance.ticket.locked_by.login == "bob"
    assert names(inbox.tasks_for(session, agent=agent("bob"), scope="mine")) == ["Queue work"]
    assert "Queue work" not in names(inbox.tasks_for(session, agent=agent("consultant"), scope="unclaimed"))
    with pytest.raises(TaskClaimed, match="claimed by Bob Second"):
        runtime.complete_task(session, actor=agent("consultant"), task_id=work.id)
    with pytest.raises(TaskClaimed, match="already claimed by Bob Second"):
        runtime.claim(session, actor=agent("consultant"), task_id=work.id)

    runtime.release(session, actor=agent("bob"), task_id=work.id)
    assert "Queue work" in names(inbox.tasks_for(session, agent=agent("consultant"), scope="unclaimed"))


def test_counts_by_queue_match_the_list(session, agent, queue, instance):
    counts = inbox.counts_by_queue(session, agent=agent("consultant"))
    assert counts == {queue("2nd level").id: 2}
