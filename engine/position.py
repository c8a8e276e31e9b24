"""Where a ticket's process instance stands, read from its stored workflow (for the ticket page).

The page shows which elements of the diagram have run (the completed path), which are
waiting (the current position), where inside a called process an active call activity is,
and what each completed user task's form held (the step results in the thread).  All of it
comes from the instance's own workflow JSON: nothing here runs the workflow or writes to
it; the caller loads the instances in one query, and a process definition this process
has not cached yet is one more (see :mod:`engine.serialization`).

Elements of embedded sub-processes are drawn in the parent's diagram, so they count as the
parent's; a call activity's process is drawn elsewhere, so its position is reported as the
names of its current steps under the call activity.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import object_session

from engine import serialization
from engine.models import ProcessInstance
from engine.scripting import TicketflowScriptEngine

log = logging.getLogger(__name__)

_CURRENT = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass(frozen=True)
class CalledPosition:
    """An active call activity of the shown diagram and the current steps inside it."""

    call_id: str
    call_name: str
    process_id: str
    steps: list[str]
    # The called process's own elements (BPMN ids in its diagram), for the drill-down.
    current: frozenset[str] = frozenset()
    completed: frozenset[str] = frozenset()


@dataclass
class Position:
    """The instance's completed and current elements (BPMN ids of its own diagram)."""

    completed: set[str] = field(default_factory=set)
    current: set[str] = field(default_factory=set)
    calls: list[CalledPosition] = field(default_factory=list)
    # The data each task held when it was done, by task GUID (for the step results).
    data: dict[str, dict[str, Any]] = field(default_factory=dict)


def position_of(instance: ProcessInstance, *, data_for: Iterable[str] = ()) -> Position:
    """The position of ``instance``; ``data_for`` names the task GUIDs whose data is wanted.

    A workflow that cannot be read (an old serializer, a damaged row) gives an empty
    position: the page then shows the diagram without marks rather than failing.
    """
    try:
        session = object_session(instance)
        workflow = serialization.loads(instance.workflow_json, TicketflowScriptEngine(), session)
    except Exception:
        log.warning("instance %s: workflow not readable for the ticket page", instance.id, exc_info=True)
        return Position()
    position = Position()
    called_trees = _called_subworkflows(workflow)
    for tree in [workflow, *(sub for key, sub in workflow.subprocesses.items() if key not in called_trees)]:
        for task in tree.tasks.values():
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            if not bpmn_id:
                continue  # SpiffWorkflow's own helpers (Root, Start, End joins) are not drawn
            if task.state == TaskState.COMPLETED:
                position.completed.add(bpmn_id)
            elif task.state & _CURRENT:
                position.current.add(bpmn_id)
                if isinstance(task.task_spec, CallActivity) and task.id in called_trees:
                    current, completed = _elements_of(workflow.subprocesses[task.id])
                    position.calls.append(
                        CalledPosition(
                            call_id=bpmn_id,
                            call_name=task.task_spec.bpmn_name or bpmn_id,
                            process_id=str(getattr(task.task_spec, "spec", "") or ""),
                            steps=_current_names(workflow, task.id),
                            current=current,
                            completed=completed - current,
                        )
                    )
    for guid in data_for:
        try:
            found = _task(workflow, UUID(guid))
        except ValueError:
            found = None
        if found is not None:
            position.data[guid] = dict(found.data)
    # Something that waits is not "completed" as well (a loop passes an element again).
    position.completed -= position.current
    return position


def _called_subworkflows(workflow: Any) -> set[Any]:
    """The keys of the sub-workflows that belong to call activities (drawn in other diagrams)."""
    keys = set()
    for key in workflow.subprocesses:
        owner = _task(workflow, key)
        if owner is not None and isinstance(owner.task_spec, CallActivity):
            keys.add(key)
    return keys


def _task(workflow: Any, task_id: UUID) -> Any:
    """The task ``task_id`` of the workflow or a sub-workflow, None when it is not kept.

    Not ``get_task_from_id``, which raises for a missing id: a step finished long ago in a
    loop is cut out of the tree by :mod:`engine.compaction` while its ``HumanTask`` row stays.
    """
    for tree in [workflow, *workflow.subprocesses.values()]:
        found = tree.tasks.get(task_id)
        if found is not None:
            return found
    return None


def _elements_of(sub: Any) -> tuple[frozenset[str], frozenset[str]]:
    """The waiting and the completed elements of one sub-workflow (its own diagram's ids)."""
    current, completed = set(), set()
    for task in sub.tasks.values():
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        if task.state == TaskState.COMPLETED:
            completed.add(bpmn_id)
        elif task.state & _CURRENT:
            current.add(bpmn_id)
    return frozenset(current), frozenset(completed)


def _current_names(workflow: Any, owner_id: UUID) -> list[str]:
    """Names of the waiting steps inside the sub-workflow of ``owner_id`` and any it calls in turn."""
    names: list[str] = []
    pending = [owner_id]
    while pending:
        sub = workflow.subprocesses.get(pending.pop())
        if sub is None:
            continue
        for task in sub.tasks.values():
            spec = task.task_spec
            if not getattr(spec, "bpmn_id", None) or not task.state & _CURRENT:
                continue
            if task.id in workflow.subprocesses:
                pending.append(task.id)  # a deeper call or embedded sub-process: look inside
                continue
            name = spec.bpmn_name or spec.bpmn_id
            if name not in names:
                names.append(name)
    return names
