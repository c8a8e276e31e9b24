"""Tasks: the agent's inbox, claiming, releasing and completing user tasks.

The inbox is :func:`engine.inbox.tasks_for` with the same filters; claim, release and
complete are :mod:`engine.runtime`'s, so the process moves exactly as it does from the
web inbox (the engine checks lanes, roles and the four-eyes rule, and validates the
form data against the task's JSON Schema).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from core.errors import NotFound
from desk.ticket import service as ticket_service
from engine import inbox, runtime
from engine.models import HumanTask
from web.api.common import current_agent, db
from web.api.schemas import MAX_ID, InstanceSchema, TaskCompleteSchema, TaskQuerySchema, TaskSchema
from web.api.smorest import ApiBlueprint

bp = ApiBlueprint("tasks", url_prefix="/api/v1/tasks", description="Process tasks (the inbox)")


def _task_id(task_id: int) -> int:
    if not 0 < task_id <= MAX_ID:
        raise NotFound("no such task")
    return task_id


@bp.route("", methods=["GET"])
@bp.arguments(TaskQuerySchema, location="query")
@bp.response(200, TaskSchema(many=True))
def my_tasks(args: dict[str, Any]) -> Sequence[HumanTask]:
    """The agent's open tasks: escalating tickets first, then the oldest."""
    return inbox.tasks_for(
        db(),
        agent=current_agent(),
        scope=args["scope"],
        queue_ids=args.get("queue_id"),
        limit=args["limit"],
        offset=args["offset"],
    )


@bp.route("/<int:task_id>", methods=["GET"])
@bp.response(200, TaskSchema)
def get_task(task_id: int) -> HumanTask:
    """One task, for its candidates and for agents who may read its ticket."""
    session, agent = db(), current_agent()
    task = session.get(HumanTask, _task_id(task_id))
    if task is None:
        raise NotFound("no such task")
    if not runtime.is_candidate(session, agent, task):
        ticket_service.get_ticket(session, actor=agent, ticket_id=task.ticket_id)
    return task


@bp.route("/<int:task_id>/claim", methods=["POST"])
@bp.response(200, TaskSchema)
def claim_task(task_id: int) -> HumanTask:
    """Take the task (the ticket is locked for the agent when nobody holds its lock)."""
    return runtime.claim(db(), actor=current_agent(), task_id=_task_id(task_id))


@bp.route("/<int:task_id>/release", methods=["POST"])
@bp.response(200, TaskSchema)
def release_task(task_id: int) -> HumanTask:
    """Give a claimed task back to its candidates."""
    return runtime.release(db(), actor=current_agent(), task_id=_task_id(task_id))


@bp.route("/<int:task_id>/complete", methods=["POST"])
@bp.arguments(TaskCompleteSchema)
@bp.response(200, InstanceSchema)
def complete_task(data: dict[str, Any], task_id: int) -> SimpleNamespace:
    """Complete the task with its form data; the process runs on to its next wait."""
    session = db()
    instance = runtime.complete_task(
        session, actor=current_agent(), task_id=_task_id(task_id), data=data["data"]
    )
    open_tasks = [
        t for t in inbox.open_tasks_of_ticket(session, ticket=instance.ticket) if t.instance_id == instance.id
    ]
    return SimpleNamespace(
        id=instance.id,
        ticket_id=instance.ticket_id,
        status=instance.status,
        process_version=instance.process_version,
        waiting_messages=instance.waiting_messages,
        error=instance.error,
        open_tasks=open_tasks,
    )
