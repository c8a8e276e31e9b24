"""Keeping a workflow's task tree shallow, however long its loops run.

SpiffWorkflow keeps every task that ever ran in one tree: each pass through a loop hangs
the next round below the last one, so the tree grows one level per step for ever.  Its task
iterator stops at depth 1000, and work below that depth is not seen: the workflow then
reports itself *completed* with READY tasks left (a user-task loop after ~500 rounds).

:func:`compact` cuts the finished trunk out of the tree.  A finished task far above any
unfinished one (more than :data:`KEEP_LEVELS` levels) with a single live child is unlinked
and its child hung on its parent, together with its finished side branches (the cancelled
boundary events of an answered user task, a completed call activity and its
sub-workflow).  What the tasks that still run look at is kept: their parents, the splits
and joins of the last :data:`KEEP_LEVELS` levels, the data (every task holds its data in
full; the serializer stores it as a delta against the new parent).  Ancestry among the kept
tasks is unchanged, since a task is only ever replaced by its own descendant.

:func:`unfinished_work` lists READY and WAITING tasks without the iterator (from the flat
task maps), so a workflow that claims to be completed can be checked against it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

# Levels of finished tasks kept above the nearest unfinished one.
KEEP_LEVELS = 20
# The tree is compacted once it is this deep: short instances are never touched, and a looping
# one's stored state stays flat (~16 KB for ticket_handling) instead of growing per loop.
COMPACT_AT_DEPTH = 30


def compact(workflow: BpmnWorkflow) -> int:
    """Remove the finished trunk of the top workflow and of each sub-workflow; the number removed."""
    removed = 0
    for tree in [workflow, *workflow.subprocesses.values()]:
        if tree is not workflow and tree not in workflow.subprocesses.values():
            continue  # forgotten with the call activity that ran it, earlier in this pass
        if _depth(tree) >= COMPACT_AT_DEPTH:
            removed += _compact_tree(workflow, tree)
    return removed


def unfinished_work(workflow: BpmnWorkflow) -> list[Any]:
    """READY and WAITING tasks of the workflow and its sub-workflows, read from the task maps."""
    wanted = TaskState.READY | TaskState.WAITING
    return [task for tree in _trees(workflow) for task in tree.tasks.values() if task.state & wanted]


def max_depth(workflow: BpmnWorkflow) -> int:
    """The depth of the deepest task tree (top workflow or a sub-workflow)."""
    return max(_depth(tree) for tree in _trees(workflow))


def _trees(workflow: BpmnWorkflow) -> Iterator[Any]:
    yield workflow
    yield from workflow.subprocesses.values()


def _depth(tree: Any) -> int:
    # Tasks are created after their parents and a compaction only hangs a task on an older
    # one, so the task map's order has every parent before its children.
    depth: dict[UUID, int] = {}
    deepest = 0
    for task in tree.tasks.values():
        level = depth.get(task._parent, -1) + 1
        depth[task.id] = level
        deepest = max(deepest, level)
    return deepest


def _compact_tree(top: BpmnWorkflow, tree: Any) -> int:
    tasks: dict[UUID, Any] = tree.tasks
    # Distance to the nearest unfinished descendant (None: none below), children first.
    height: dict[UUID, int | None] = {}
    for task in reversed(list(tasks.values())):
        unfinished = not task.state & TaskState.FINISHED_MASK or _running_subprocess(top, task)
        if unfinished:
            height[task.id] = 0
            continue
        below = [h for child in task._children if (h := height.get(child)) is not None]
        height[task.id] = min(below) + 1 if below else None

    root = tree.task_tree
    removed = 0
    for task in list(tasks.values()):
        parent_id = task._parent
        if task.id not in tasks or parent_id is None or parent_id == root.id:
            continue
        level = height.get(task.id)
        if level is None or level <= KEEP_LEVELS or task.state != TaskState.COMPLETED:
            continue
        live = [child for child in task._children if height.get(child) is not None]
        if len(live) != 1:
            continue
        for child in task._children:
            if child != live[0]:
                removed += _drop_subtree(top, tree, child)
        parent = tasks[parent_id]
        parent._children[parent._children.index(task.id)] = live[0]
        tasks[live[0]]._parent = parent_id
        task._children = [live[0]]
        removed += _drop_subtree(top, tree, task.id, keep=live[0])
    if tree.last_task is not None and tree.last_task.id not in tasks:
        tree.last_task = None
    return removed


def _running_subprocess(top: BpmnWorkflow, task: Any) -> bool:
    subprocess = top.subprocesses.get(task.id)
    return subprocess is not None and not subprocess.completed


def _drop_subtree(top: BpmnWorkflow, tree: Any, task_id: UUID, keep: UUID | None = None) -> int:
    """Forget a finished task and its descendants (all but ``keep``), with their sub-workflows."""
    removed = 0
    pending = [task_id]
    while pending:
        current = tree.tasks.pop(pending.pop(), None)
        if current is None:
            continue
        removed += 1 + _drop_subworkflow(top, current.id)
        pending.extend(child for child in current._children if child != keep)
    return removed


def _drop_subworkflow(top: BpmnWorkflow, owner_id: UUID) -> int:
    """Forget the sub-workflow run by task ``owner_id`` and those its tasks ran in turn.

    Not ``BpmnWorkflow.delete_subprocess``: that looks up the owning task of *every*
    sub-workflow in the tree (``parent_workflow``), and the owner is already unlinked here
    (so the lookup raised "A task with id … was not found" as soon as a loop's completed
    call activity, e.g. a consultation, was compacted away).  Nested sub-workflows are
    found from the task map alone: their owner is one of the forgotten sub-workflow's tasks.
    """
    removed = 0
    pending = [owner_id]
    while pending:
        sub = top.subprocesses.pop(pending.pop(), None)
        if sub is None:
            continue
        removed += len(sub.tasks)
        pending.extend(task_id for task_id in sub.tasks if task_id in top.subprocesses)
    return removed
