"""Business rule tasks with DMN decision tables (issue 13): deployed beside the diagram, cells
read with the restricted expression language, the shipped routing example on new tickets."""

from __future__ import annotations

import pytest

from desk.actor import SYSTEM
from desk.ticket import service as tickets
from desk.ticket.models import Ticket
from engine import definitions, dmn, runtime
from engine.errors import ProcessError, ProcessValidationError, UnsafeExpression
from engine.models import ProcessInstance
from tests.engine.conftest import one_task

EXAMPLE = definitions.DEFAULT_BPMN_DIR / "examples" / "routing"
BPMN = (EXAMPLE / "routing.bpmn").read_text()
DMN = (EXAMPLE / "routing.dmn").read_text()


@pytest.mark.parametrize(
    ("cell", "value", "expected"),
    [
        ("-", "anything", True),
        ("", 7, True),
        ('"high"', "high", True),
        ('"high"', "low", False),
        ("> 3", 4, True),
        ("> 3", 3, False),
        ("<= 3", 3, True),
        ("!= 2", 2, False),
        ('"a", "b"', "b", True),
        ('"a", "b"', "c", False),
        ('not("a", "b")', "c", True),
        ('not("a", "b")', "a", False),
        ("[1..5]", 5, True),
        ("[1..5[", 5, False),
        ("]1..5]", 1, False),
        ('"down" in ?', "server down", True),
        ('"outage" in ?, "down" in ?', "big outage", True),
        ("limit * 2", 10, True),
    ],
)
def test_a_cell_is_read_as_dmn_editors_write_it(cell, value, expected):
    assert dmn.cell_matches(cell, value, {"limit": 5}) is expected


@pytest.mark.parametrize(
    "cell", ['__import__("os").system("id")', "().__class__.__base__", "open('/etc/passwd')"]
)
def test_a_cell_never_runs_python(cell):
    with pytest.raises(UnsafeExpression):
        dmn.cell_matches(cell, "x", {})


def test_a_dangerous_cell_is_refused_at_deploy_naming_the_rule(deploy):
    evil = DMN.replace('"invoice" in ?, "billing" in ?', "__import__('os').system('id')")
    with pytest.raises(ProcessValidationError) as refused:
        deploy(BPMN, {"routing.dmn": evil})
    assert any("routing.dmn: decision routing, rule 2, input column 1" in p for p in refused.value.problems)


def test_a_missing_decision_table_is_named(deploy):
    with pytest.raises(ProcessValidationError) as refused:
        deploy(BPMN, {})
    (problem,) = refused.value.problems
    assert "the decision 'routing' is in no DMN file deployed with the diagram" in problem
    assert "routing_decide" in problem


def test_only_the_used_decision_tables_are_stored(deploy):
    (version,) = deploy(BPMN, {"routing.dmn": DMN, "other.dmn": "<not xml"})
    assert set(version.forms) == {"routing.dmn"}


def _open(session, queue, customer, title: str, email: str) -> ProcessInstance:
    ticket: Ticket = tickets.create_ticket(
        session, actor=SYSTEM, title=title, queue=queue("Raw"), customer_user=customer(email)
    )
    return runtime.start(session, actor=SYSTEM, ticket=ticket, process_id="routing")


def test_the_routing_table_sets_priority_and_queue_of_new_tickets(session, deploy, queue, customer):
    deploy(BPMN, {"routing.dmn": DMN})
    cases = [
        ("Mail server DOWN since 9:00", "donor@citizen.example", 5, "2nd level"),
        ("Question about my invoice", "donor@citizen.example", 3, "Finance"),
        ("Printer jammed", "john.doe@acme.example", 4, "2nd level"),
        ("Printer jammed", "donor@citizen.example", 3, "Raw"),
    ]
    for title, email, priority, queue_name in cases:
        instance = _open(session, queue, customer, title, email)
        ticket = session.get(Ticket, instance.ticket_id)
        assert (ticket.priority, ticket.queue.name) == (priority, queue_name), title
        assert one_task(session, instance).name == "Work on the ticket"
    # The decision survives a save and load: the next step still runs on the stored workflow.
    task = one_task(session, instance)
    runtime.complete_task(session, actor=SYSTEM, task_id=task.id, data={})
    assert instance.status == "completed"


def test_a_cell_that_does_not_fit_the_data_stops_the_process_with_a_message(session, deploy, queue, customer):
    deploy(BPMN, {"routing.dmn": DMN.replace('"outage" in ?, "down" in ?', "> 3")})
    with pytest.raises(ProcessError, match="cannot be compared"):
        _open(session, queue, customer, "Printer jammed", "donor@citizen.example")
