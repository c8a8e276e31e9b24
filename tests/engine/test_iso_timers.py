"""ISO 8601 timer literals as modelers write them, and the limits on timer cycles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from core.db import utcnow
from core.errors import TicketflowError
from engine import iso_timers, runtime
from engine.errors import ProcessValidationError, UnsafeExpression
from tests.engine.conftest import open_tasks


def timer_process(process_id: str, kind: str, value: str, *, boundary: bool = False) -> str:
    """A process: start → wait for a timer → user task "After" (or a boundary cycle on a task)."""
    timer = (
        f"<bpmn:timerEventDefinition id='t'><bpmn:{kind}>{value}</bpmn:{kind}></bpmn:timerEventDefinition>"
    )
    if boundary:
        body = f"""
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="work" name="Work">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="remind" name="Every hour" attachedToRef="work" cancelActivity="false">
      <bpmn:outgoing>f3</bpmn:outgoing>{timer}</bpmn:boundaryEvent>
    <bpmn:userTask id="after" name="After">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end1"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end2"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end1"/>
    <bpmn:sequenceFlow id="f3" sourceRef="remind" targetRef="after"/>
    <bpmn:sequenceFlow id="f4" sourceRef="after" targetRef="end2"/>"""
    else:
        body = f"""
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait" name="Wait">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>{timer}</bpmn:intermediateCatchEvent>
    <bpmn:userTask id="after" name="After">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="after"/>
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="{process_id}" name="{process_id}" isExecutable="true">{body}
  </bpmn:process>
</bpmn:definitions>
"""


def names(session, instance) -> list[str]:
    return [task.name for task in open_tasks(session, instance)]


def test_a_p7d_literal_waits_seven_days(session, deploy, start):
    deploy(timer_process("week", "timeDuration", "P7D"))
    began = utcnow()
    instance = start("week")
    assert names(session, instance) == []
    due = instance.next_timer_due
    assert due is not None
    assert timedelta(days=7) <= due - began < timedelta(days=7, minutes=1)
    with time_machine.travel(due - timedelta(minutes=1), tick=False):
        assert runtime.fire_timers(session, instance_id=instance.id, now=utcnow()) is False
    with time_machine.travel(due + timedelta(seconds=1), tick=False):
        assert runtime.fire_timers(session, instance_id=instance.id, now=utcnow()) is True
    assert names(session, instance) == ["After"]


def test_a_time_date_literal_fires_at_its_time_even_without_a_zone(session, deploy, start):
    at = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    naive = at.replace(tzinfo=None).isoformat()  # read as UTC, not as the server's zone
    deploy(timer_process("on_date", "timeDate", naive))
    instance = start("on_date")
    assert instance.next_timer_due == at
    with time_machine.travel(at + timedelta(seconds=1), tick=False):
        assert runtime.fire_timers(session, instance_id=instance.id, now=utcnow())
    assert names(session, instance) == ["After"]


def test_an_r3_pt1h_cycle_fires_three_times_an_hour_apart(session, deploy, start):
    deploy(timer_process("hourly", "timeCycle", "R3/PT1H", boundary=True))
    instance = start("hourly")
    assert names(session, instance) == ["Work"]
    fired = 0
    for _ in range(5):
        due = instance.next_timer_due
        if due is None:
            break
        with time_machine.travel(due + timedelta(seconds=1), tick=False):
            if runtime.fire_timers(session, instance_id=instance.id, now=utcnow()):
                fired += 1
    assert names(session, instance).count("After") == 3
    assert fired >= 3
    assert "Work" in names(session, instance)  # a non-interrupting cycle leaves the work open


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("timeCycle", "R/PT0S", "at most every 60 seconds"),
        ("timeCycle", "R5/PT10S", "at most every 60 seconds"),
        ("timeDuration", "P7X", "not an ISO 8601 duration"),
        ("timeDate", "2026-13-45", "not an ISO 8601 date"),
    ],
)
def test_a_harmful_or_broken_literal_is_refused_at_deploy_naming_the_element(deploy, kind, value, message):
    with pytest.raises(ProcessValidationError) as caught:
        deploy(timer_process("bad_timer", kind, value, boundary=kind == "timeCycle"))
    text = str(caught.value) + " ".join(str(p) for p in getattr(caught.value, "problems", []))
    text += " ".join(" ".join(v) for v in caught.value.errors.values())
    assert message in text
    assert ("remind" if kind == "timeCycle" else "wait") in text


def test_a_cycle_computed_at_run_time_is_held_to_the_same_limits(session, deploy, start):
    deploy(timer_process("computed", "timeCycle", "cycle", boundary=True))
    with pytest.raises(TicketflowError, match="at most every 60 seconds"):
        start("computed", data={"cycle": "R/PT0S"})


def test_an_unbounded_cycle_is_capped():
    assert iso_timers.checked("cycle", "R/PT1H") == f"R{iso_timers.MAX_CYCLES}/PT1H"
    assert iso_timers.checked("cycle", "R2/PT1H") == "R2/PT1H"
    assert iso_timers.checked("date", datetime(2026, 12, 24, 9, tzinfo=UTC)) == "2026-12-24T09:00:00+00:00"
    with pytest.raises(UnsafeExpression):
        iso_timers.checked("duration", 7)


def test_quoted_values_and_expressions_still_work():
    assert iso_timers.literal('"PT1H"') is None  # an expression that yields the text
    assert iso_timers.literal("iso_duration(days=3)") is None
    assert iso_timers.literal("R6/P1D") == "R6/P1D"
    assert iso_timers.literal("2026-12-24T09:00:00Z") == "2026-12-24T09:00:00Z"
