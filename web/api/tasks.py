"""Tasks: the agent's inbox, claiming, releasing and completing user tasks.

The inbox is :func:`engine.inbox.tasks_for` with the same filters; reading, claiming,
releasing and completing a task are :mod:`flows.tasks`' use cases, the same the web inbox
and the ticket view's task forms call (lanes, roles, the four-eyes rule, the form's JSON
Schema).  A task whose ticket the agent may not read is 404; one they may read but are no
candidate for is 403 without the task; a lost race is a 409 naming the winner.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from core.errors import NotFound
from engine import inbox
from engine.models import HumanTask
from flows import tasks as task_flows
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
    """One task, for its candidates."""
    return task_flows.get(db(), actor=current_agent(), task_id=_task_id(task_id))


@bp.route("/<int:task_id>/claim", methods=["POST"])
@bp.response(200, TaskSchema)
def claim_task(task_id: int) -> HumanTask:
    """Take the task (the ticket is locked for the agent when nobody holds its lock)."""
    return task_flows.claim(db(), actor=current_agent(), task_id=_task_id(task_id))


@bp.route("/<int:task_id>/release", methods=["POST"])
@bp.response(200, TaskSchema)
def release_task(task_id: int) -> HumanTask:
    """Give a claimed task back to its candidates."""
    return task_flows.release(db(), actor=current_agent(), task_id=_task_id(task_id))


@bp.route("/<int:task_id>/complete", methods=["POST"])
@bp.arguments(TaskCompleteSchema)
@bp.response(200, InstanceSchema)
def complete_task(data: dict[str, Any], task_id: int) -> SimpleNamespace:
    """Complete the task with its form data; the process runs on to its next wait."""
    session = db()
    instance = task_flows.complete(
        session,
        actor=current_agent(),
        task_id=_task_id(task_id),
        data=data["data"],
        time_units=data.get("time_units"),
    )
    open_tasks = task_flows.open_tasks_of(session, instance=instance)
    return SimpleNamespace(
        id=instance.id,
        ticket_id=instance.ticket_id,
        status=instance.status,
        process_version=instance.process_version,
        waiting_messages=instance.waiting_messages,
        error=instance.error,
        open_tasks=open_tasks,
    )
