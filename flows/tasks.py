"""Process tasks: read, claim, release and complete one, the same way from every channel.

The web inbox, the ticket view's task forms and ``/api/v1/tasks`` call these functions and
nothing below them.  The rules (all enforced by :mod:`engine.runtime`, so the engine cannot
be driven around them either):

* an agent who may not read the task's ticket learns nothing about the task: *not found*;
* one who may read it but is no candidate is *forbidden*, told nothing about the task;
* claim, release and complete are atomic under the instance's row lock and a conditional
  update on ``HumanTask.version``: of two agents racing for one task exactly one wins, the
  other gets a conflict naming the winner;
* a task's candidates can always read its ticket: naming one who cannot (e.g. a consultant
  by login) fails the completion that named them with the list of agents who could.

Like the services these take the session and only flush; the channel commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from core.errors import NotFound
from desk.actor import Actor, SystemActor
from desk.agent.models import Agent
from desk.time_accounting import service as time_accounting
from engine import inbox, runtime
from engine.models import HumanTask, ProcessInstance


def get(session: Session, *, actor: Actor, task_id: int) -> HumanTask:
    """The task, for its candidates (and the system); 404 or 403 for anyone else."""
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound("no such task")
    if isinstance(actor, SystemActor):
        return task
    if not isinstance(actor, Agent):
        raise NotFound("no such task")
    runtime.require_candidate(session, actor, task)
    return task


def claim(session: Session, *, actor: Actor, task_id: int) -> HumanTask:
    """Take the task (and lock its ticket for the agent when nobody holds the lock)."""
    return runtime.claim(session, actor=actor, task_id=task_id)


def release(session: Session, *, actor: Actor, task_id: int) -> HumanTask:
    """Give a claimed task back to its candidates (the claimer, or ``rw`` on its queue)."""
    return runtime.release(session, actor=actor, task_id=task_id)


def complete(
    session: Session,
    *,
    actor: Actor,
    task_id: int,
    data: Mapping[str, Any] | None = None,
    time_units: object = None,
) -> ProcessInstance:
    """Complete the task with its form data; the process runs on to its next wait.

    ``time_units`` (minutes spent, as typed) is checked against the ticket's queue before
    the process moves, and booked with the task.
    """
    minutes, queue_id = None, None
    task: HumanTask | None = None
    if isinstance(actor, Agent):
        # The candidate check comes before the input is looked at.  ``task`` stays referenced
        # until the runtime has it: the identity map holds objects only weakly, and a dropped
        # task would be read again.
        task = get(session, actor=actor, task_id=task_id)
        ticket = task.ticket
        minutes = time_accounting.parse(time_units, policy=time_accounting.policy_for(actor, ticket))
        queue_id = ticket.queue_id  # the work was done here, even if the task moves the ticket
    instance = runtime.complete_task(session, actor=actor, task_id=task_id, data=data)
    time_accounting.record(
        session,
        actor=actor,
        ticket=instance.ticket,
        minutes=minutes,
        human_task_id=task_id,
        queue_id=queue_id,
    )
    return instance


def may_work(session: Session, *, agent: Agent, task: HumanTask) -> bool:
    """True when ``agent`` may claim and complete ``task`` (for offering its form)."""
    return runtime.is_candidate(session, agent, task)


def open_tasks_of(session: Session, *, instance: ProcessInstance) -> Sequence[HumanTask]:
    """The open tasks of ``instance`` (what a completion leads to), oldest first."""
    return [
        task
        for task in inbox.open_tasks_of_ticket(session, ticket=instance.ticket)
        if task.instance_id == instance.id
    ]
