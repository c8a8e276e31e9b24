"""Deploying versions (S13): identical content is a no-op, new content a new version; running
instances finish on the version they started with; only administrators and designers deploy."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from core.errors import PermissionDenied
from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.agent.models import Group
from desk.ticket import service as tickets
from engine import definitions, runtime
from engine.errors import ProcessValidationError
from engine.models import HumanTask, ProcessVersion

NAMESPACES = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
)


def process(process_id: str, *task_names: str, name: str = "Versioned", calls: str = "") -> str:
    """start → one user task per name (→ a call activity of ``calls``) → end."""
    steps = [*(f"task_{i}" for i in range(len(task_names))), *(["call"] if calls else [])]
    elements = [f'<bpmn:userTask id="task_{i}" name="{task}"/>' for i, task in enumerate(task_names)] + (
        [f'<bpmn:callActivity id="call" calledElement="{calls}"/>'] if calls else []
    )
    chain = ["start", *steps, "end"]
    flows = "\n    ".join(
        f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
        for i, (a, b) in enumerate(itertools.pairwise(chain))
    )
    body = "\n    ".join(elements)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NAMESPACES} id="d_{process_id}" targetNamespace="t">
  <bpmn:process id="{process_id}" name="{name}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    {body}
    <bpmn:endEvent id="end"/>
    {flows}
  </bpmn:process>
</bpmn:definitions>
"""


V1 = process("versioned", "Answer")
V2 = process("versioned", "Answer", "Approve the answer")


@pytest.fixture
def new_ticket(session, queue, customer):
    def make():
        return tickets.create_ticket(
            session,
            actor=SYSTEM,
            title="versions",
            queue=queue("Raw"),
            customer_user=customer("john.doe@acme.example"),
        )

    return make


def open_names(session, instance) -> list[str]:
    session.flush()
    return list(
        session.scalars(
            select(HumanTask.name)
            .where(HumanTask.instance_id == instance.id, HumanTask.state == "open")
            .order_by(HumanTask.id)
        )
    )


def complete(session, instance, name: str) -> None:
    task = session.scalars(
        select(HumanTask).where(
            HumanTask.instance_id == instance.id, HumanTask.name == name, HumanTask.state == "open"
        )
    ).one()
    runtime.complete_task(session, actor=SYSTEM, task_id=task.id)


def test_deploy_creates_version_one_and_identical_content_changes_nothing(session, agent):
    (first,) = definitions.deploy(session, actor=agent("admin"), bpmn_xml=V1)
    assert (first.process_id, first.version, first.name) == ("versioned", 1, "Versioned")
    assert first.deployed_by_id == agent("admin").id

    (again,) = definitions.deploy(session, actor=SYSTEM, bpmn_xml=V1)
    assert again.id == first.id
    assert [v.version for v in definitions.list_versions(session, "versioned")] == [1]


def test_changed_content_gives_the_next_version(session):
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=V1)
    (second,) = definitions.deploy(session, actor=SYSTEM, bpmn_xml=V2)
    assert second.version == 2
    assert definitions.latest_version(session, "versioned").id == second.id
    assert [v.version for v in definitions.list_versions(session, "versioned")] == [2, 1]
    # Going back to the first content is a change too: a third version, not version 1 again.
    (third,) = definitions.deploy(session, actor=SYSTEM, bpmn_xml=V1)
    assert third.version == 3


def test_a_changed_form_gives_the_next_version(session):
    xml = process("formed", "Fill in").replace(
        '<bpmn:userTask id="task_0" name="Fill in"/>',
        '<bpmn:userTask id="task_0" name="Fill in"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="formJsonSchemaFilename" value="f.schema.json"/>'
        "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>",
    )
    form = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}
    (first,) = definitions.deploy(session, actor=SYSTEM, bpmn_xml=xml, forms={"f.schema.json": form})
    stricter = {**form, "required": ["a"]}
    (second,) = definitions.deploy(session, actor=SYSTEM, bpmn_xml=xml, forms={"f.schema.json": stricter})
    assert (first.version, second.version) == (1, 2)
    assert second.forms == {"f.schema.json": stricter}


def test_new_instances_start_on_the_newest_version_and_running_ones_keep_theirs(session, new_ticket):
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=V1)
    old = runtime.start(session, actor=SYSTEM, ticket=new_ticket(), process_id="versioned")
    assert old.process_version.version == 1

    definitions.deploy(session, actor=SYSTEM, bpmn_xml=V2)
    new = runtime.start(session, actor=SYSTEM, ticket=new_ticket(), process_id="versioned")
    assert new.process_version.version == 2

    # The old instance finishes on version 1: no approval step appears for it.
    complete(session, old, "Answer")
    assert open_names(session, old) == []
    assert old.status == "completed"
    assert old.process_version.version == 1

    # The new one follows version 2.
    complete(session, new, "Answer")
    assert open_names(session, new) == ["Approve the answer"]
    complete(session, new, "Approve the answer")
    assert new.status == "completed"


def test_a_running_instance_survives_a_new_version_that_removes_its_task(session, new_ticket):
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=V2)
    running = runtime.start(session, actor=SYSTEM, ticket=new_ticket(), process_id="versioned")
    complete(session, running, "Answer")
    assert open_names(session, running) == ["Approve the answer"]
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=process("versioned", "Answer only"))
    complete(session, running, "Approve the answer")
    assert running.status == "completed"


@pytest.mark.parametrize("login", ["alice", "secretary", "chair", "observer", "trainee"])
def test_only_admins_and_designers_deploy(session, agent, login):
    with pytest.raises(PermissionDenied):
        definitions.deploy(session, actor=agent(login), bpmn_xml=V1)
    assert definitions.latest_version(session, "versioned") is None


def test_a_designer_deploys_and_read_only_on_the_designer_group_is_not_enough(session, agent):
    # The demo seed creates the designer group (it opens /designer); nobody holds it there.
    designers = session.scalar(
        select(Group).where(Group.name == definitions.DESIGNER_GROUP)
    ) or agents.create_group(session, actor=SYSTEM, name=definitions.DESIGNER_GROUP)
    agents.grant_group(session, actor=SYSTEM, agent=agent("bob"), group=designers, permissions=("rw",))
    agents.grant_group(session, actor=SYSTEM, agent=agent("alice"), group=designers, permissions=("ro",))

    (version,) = definitions.deploy(session, actor=agent("bob"), bpmn_xml=V1)
    assert version.deployed_by_id == agent("bob").id
    with pytest.raises(PermissionDenied):
        definitions.deploy(session, actor=agent("alice"), bpmn_xml=V2)


def test_an_invalid_document_stores_nothing(session):
    with pytest.raises(ProcessValidationError):
        definitions.deploy(session, actor=SYSTEM, bpmn_xml=V1.replace("</bpmn:process>", ""))
    assert session.scalars(select(ProcessVersion).where(ProcessVersion.process_id == "versioned")).all() == []


def test_a_process_calling_itself_is_refused(session):
    with pytest.raises(ProcessValidationError, match="processes call themselves: selfish → selfish"):
        definitions.deploy(session, actor=SYSTEM, bpmn_xml=process("selfish", "Work", calls="selfish"))


def test_a_call_cycle_across_documents_is_refused(session):
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=process("leaf", "Work"))
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=process("outer", "Work", calls="leaf"))
    # A new version of "leaf" that calls "outer" would close the circle.
    with pytest.raises(ProcessValidationError, match="leaf → outer → leaf"):
        definitions.deploy(session, actor=SYSTEM, bpmn_xml=process("leaf", "Work", calls="outer"))
    assert definitions.latest_version(session, "leaf").version == 1


def test_a_called_process_runs_in_its_newest_version(session, new_ticket):
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=process("leaf", "Leaf work"))
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=process("outer", "Outer work", calls="leaf"))
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=process("leaf", "Leaf work, new"))
    instance = runtime.start(session, actor=SYSTEM, ticket=new_ticket(), process_id="outer")
    complete(session, instance, "Outer work")
    assert open_names(session, instance) == ["Leaf work, new"]
    complete(session, instance, "Leaf work, new")
    assert instance.status == "completed"


def test_a_change_to_a_form_the_document_does_not_use_is_no_new_version(session):
    xml = process("formed", "Fill in").replace(
        '<bpmn:userTask id="task_0" name="Fill in"/>',
        '<bpmn:userTask id="task_0" name="Fill in"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="formJsonSchemaFilename" value="f.schema.json"/>'
        "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>",
    )
    form = {"type": "object", "additionalProperties": False}
    other = {"type": "object"}
    (first,) = definitions.deploy(
        session, actor=SYSTEM, bpmn_xml=xml, forms={"f.schema.json": form, "other.schema.json": other}
    )
    (again,) = definitions.deploy(
        session,
        actor=SYSTEM,
        bpmn_xml=xml,
        forms={"f.schema.json": form, "other.schema.json": {**other, "required": ["x"]}},
    )
    assert again.id == first.id
    assert first.forms == {"f.schema.json": form}
