"""Moving a running instance onto a newer version of its process.

Running instances finish on the version they started with (the stored workflow carries its
definition).  An admin may move a waiting one forward when SpiffWorkflow can map it:
:func:`SpiffWorkflow.bpmn.util.diff.diff_workflow` aligns the old task specs with the new
ones by their BPMN id (and, where an id is gone, by position in the flow), and
:func:`~SpiffWorkflow.bpmn.util.diff.migrate_workflow` swaps the specs in place and
re-predicts the waiting branches.  The move is refused, naming the steps, when a task that
has run or is waiting has no counterpart in the new version (its state would be lost), or
when a sub-process it is inside is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from core.errors import Conflict, FieldMessage, ValidationError
from core.i18n import N_
from engine import definitions, serialization
from engine.models import ProcessInstance, ProcessVersion

# Tasks whose state matters: what ran, runs or waits (predicted ones are simply re-predicted).
_KEPT = TaskState.COMPLETED | TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


class MigrationRefused(Conflict):
    """The instance cannot be moved to that version; the message says which step is missing."""


@dataclass(frozen=True)
class Plan:
    """What a migration does: the version it goes to and the waiting steps it carries over."""

    target: ProcessVersion
    waiting: list[str]


def _label(task: Any) -> str:
    spec = task.task_spec
    name = getattr(spec, "bpmn_name", None)
    bpmn_id = getattr(spec, "bpmn_id", None) or spec.name
    return f"{name} ({bpmn_id})" if name and name != bpmn_id else str(bpmn_id)


def _visible(task: Any) -> bool:
    # SpiffWorkflow's own bookkeeping specs (Start, End, the process's root) have no BPMN id.
    return getattr(task.task_spec, "bpmn_id", None) is not None


def _unmapped(diff: Any) -> list[str]:
    """The steps that ran or wait and have no step of the same BPMN id in the new version.

    SpiffWorkflow also aligns a step whose id is gone with whatever now stands in its place
    in the flow; a waiting "Diagnose" silently becoming "Fill in the checklist" is not what
    an admin asked for, so only the same id counts.
    """
    missing = [_label(task) for task in diff.removed if task.state & _KEPT and _visible(task)]
    for task, spec in diff.alignment.items():
        if task.state & _KEPT and _visible(task) and spec is not None and spec.name != task.task_spec.name:
            missing.append(_label(task))
    return missing


def target_version(session: Session, instance: ProcessInstance, version: int) -> ProcessVersion:
    """The version ``version`` of the instance's process, newer than the one it runs on."""
    current = instance.process_version
    if instance.status != "running":
        raise MigrationRefused(
            N_("the process instance is %(status)s; only running instances move"), status=instance.status
        )
    if version <= current.version:
        raise ValidationError(
            N_("not a newer version"),
            errors={
                "version": [
                    FieldMessage(
                        N_("the instance runs on version %(version)s; pick a newer one"),
                        version=current.version,
                    )
                ]
            },
        )
    found = next(
        (v for v in definitions.list_versions(session, current.process_id) if v.version == version), None
    )
    if found is None:
        raise ValidationError(
            N_("no such version"),
            errors={
                "version": [
                    FieldMessage(
                        N_("%(process)s has no version %(version)s"),
                        process=current.process_id,
                        version=version,
                    )
                ]
            },
        )
    return found


def migrate(session: Session, instance: ProcessInstance, workflow: Any, target: ProcessVersion) -> Plan:
    """Move ``workflow`` (the loaded workflow of ``instance``) onto ``target`` in place.

    Raises :class:`MigrationRefused` naming every step without a counterpart; the workflow
    is only changed once everything maps.
    """
    specs = definitions.runnable(session, target)
    registry = serialization.registry()
    top_diff, sub_diffs = diff_workflow(registry, workflow, specs.spec, specs.subprocess_specs)
    missing = _unmapped(top_diff)
    for sub_id, sub_diff in sub_diffs.items():
        sub = workflow.subprocesses[sub_id]
        if sub_diff is None:
            missing.append(f"the sub-process {sub.spec.name}")
            continue
        missing.extend(_unmapped(sub_diff))
    if missing:
        raise MigrationRefused(
            N_(
                "version %(version)s of %(process)s has no step for %(steps)s; "
                "the instance stays on version %(current)s"
            ),
            version=target.version,
            process=target.process_id,
            steps=", ".join(sorted(set(missing))),
            current=instance.process_version.version,
        )
    waiting = sorted(
        {_label(t) for t in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING) if _visible(t)}
    )
    migrate_workflow(top_diff, workflow, specs.spec)
    for sub_id, sub_diff in sub_diffs.items():
        sub = workflow.subprocesses[sub_id]
        migrate_workflow(sub_diff, sub, specs.subprocess_specs[sub.spec.name])
    workflow.subprocess_specs = dict(specs.subprocess_specs)
    instance.process_version = target
    instance.forms = specs.forms
    return Plan(target=target, waiting=waiting)
