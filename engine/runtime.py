"""Running processes: start, complete and claim tasks, deliver messages, fire timers.

Every change follows one pattern: lock the instance row (``SELECT … FOR UPDATE``; on
SQLite the write transaction serialises), load the workflow with our script engine, run it,
save it, and rebuild the projections (human tasks, next timer, awaited messages) in the
same transaction.  The caller commits.  A process that fails half-way leaves nothing
behind, because nothing is committed; a worker killed between load and save leaves the
instance exactly as it was.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import NotFound, PermissionDenied, TicketflowError
from desk.actor import Actor, SystemActor, actor_label
from desk.agent.models import Agent
from desk.history import service as history
from desk.permission import service as permissions
from desk.ticket import service as tickets
from desk.ticket.errors import TicketLocked
from desk.ticket.models import Ticket
from engine import definitions, registry, serialization
from engine.errors import ProcessError, TaskAlreadyDone
from engine.forms import validate_form
from engine.models import HumanTask, ProcessInstance, ProcessMessage
from engine.scripting import TicketflowScriptEngine

log = logging.getLogger(__name__)

DEFAULT_PROCESS = "ticket_handling"
COMPLETED_BY = registry.COMPLETED_BY
# When a waiting timer's due time cannot be read, look again this soon.
TIMER_POLL = timedelta(minutes=1)
# Engine tasks one advance may run: a loop without a wait state must not hang a worker.
MAX_ENGINE_STEPS = 10000
# Errors SpiffWorkflow raises unwrapped when process data does not fit (e.g. a multi-instance
# task whose input collection is missing raises TypeError).
_DATA_ERRORS = (TypeError, ValueError, KeyError, AttributeError, IndexError, ArithmeticError)


# --- starting --------------------------------------------------------------------------


def start(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    process_id: str = DEFAULT_PROCESS,
    data: Mapping[str, Any] | None = None,
) -> ProcessInstance:
    """Start the newest version of ``process_id`` for ``ticket``."""
    if isinstance(actor, Agent):
        permissions.require_queue(session, actor, ticket.queue, "rw")
    version = definitions.latest_version(session, process_id)
    if version is None:
        raise NotFound(f"process {process_id!r} is not deployed")
    specs = definitions.runnable(session, version)
    instance = ProcessInstance(
        ticket_id=ticket.id,
        process_version=version,
        workflow_json="",
        serializer_version=serialization.SERIALIZER_VERSION,
        forms=specs.forms,
        started_by=actor_label(actor),
    )
    session.add(instance)
    session.flush()
    workflow = BpmnWorkflow(
        specs.spec, specs.subprocess_specs, script_engine=_engine(session, instance, ticket)
    )
    seed = {
        "ticket_id": ticket.id,
        "ticket_number": ticket.number,
        "started_by_agent_id": actor.id if isinstance(actor, Agent) else None,
        **(data or {}),
    }
    first = workflow.get_tasks(state=TaskState.READY)
    if first:
        first[0].set_data(**seed)
    else:
        workflow.data.update(seed)
    history.record(
        session,
        ticket=ticket,
        actor=actor,
        type="ProcessStart",
        new=f"{version.name} (version {version.version})",
    )
    _run(session, instance, workflow, ticket, lambda: engine_steps(workflow))
    return instance


# --- human tasks -----------------------------------------------------------------------


def claim(session: Session, *, actor: Actor, task_id: int) -> HumanTask:
    """Take a task; the ticket is locked for the agent too when nobody holds its lock."""
    task = _open_task(session, task_id)
    agent = _require_agent(actor)
    require_candidate(session, agent, task)
    if task.claimed_by_id not in (None, agent.id):
        holder = session.get(Agent, task.claimed_by_id)
        raise TaskAlreadyDone(
            f"this task is already claimed by {actor_label(holder) if holder else 'someone'}"
        )
    task.claimed_by_id = agent.id
    task.claimed_at = utcnow()
    session.flush()
    ticket = task.ticket
    if not ticket.is_locked and permissions.has_queue_permission(session, agent, ticket.queue, "rw"):
        # Someone may lock it meanwhile; the claim stands on its own.
        with contextlib.suppress(TicketLocked):
            tickets.lock(session, actor=agent, ticket=ticket)
    return task


def release(session: Session, *, actor: Actor, task_id: int) -> HumanTask:
    """Give a claimed task back to its candidates (the claimer, or rw on the ticket's queue)."""
    task = _open_task(session, task_id)
    if task.claimed_by_id is None:
        return task
    if not (isinstance(actor, Agent) and actor.id == task.claimed_by_id):
        permissions.require_queue(session, actor, task.ticket.queue, "rw")
    task.claimed_by_id = None
    task.claimed_at = None
    session.flush()
    return task


def complete_task(
    session: Session, *, actor: Actor, task_id: int, data: Mapping[str, Any] | None = None
) -> ProcessInstance:
    """Complete a user task with its form data and run the process on to its next wait."""
    row = session.get(HumanTask, task_id)
    if row is None:
        raise NotFound("no such task")
    instance = _lock(session, row.instance_id)
    session.refresh(row)  # its state as of now, after we hold the lock
    if row.state != "open":
        raise TaskAlreadyDone(_done_message(session, row))
    agent_id: int | None = None
    if not isinstance(actor, SystemActor):
        agent = _require_agent(actor)
        require_candidate(session, agent, row)
        if row.claimed_by_id not in (None, agent.id):
            holder = session.get(Agent, row.claimed_by_id)
            raise TaskAlreadyDone(f"this task is claimed by {actor_label(holder) if holder else 'someone'}")
        agent_id = agent.id
    form = instance.forms.get(row.form) if row.form else None
    clean = validate_form(form, dict(data or {}))
    ticket = instance.ticket
    workflow = serialization.loads(instance.workflow_json, _engine(session, instance, ticket))
    spiff_task = workflow.get_task_from_id(UUID(row.task_guid))
    if spiff_task is None or spiff_task.state != TaskState.READY:
        raise TaskAlreadyDone("this task is no longer waiting for anyone")

    def step() -> None:
        spiff_task.set_data(**clean, **{COMPLETED_BY: agent_id})
        spiff_task.run()
        engine_steps(workflow)

    # Marked before the run so the projection rebuild counts it as done, not as cancelled;
    # put back if the run fails, so a caller that commits anyway saves no half-done task.
    row.state, row.completed_by_id, row.completed_at = "completed", agent_id, utcnow()
    try:
        _run(session, instance, workflow, ticket, step)
    except BaseException:
        row.state, row.completed_by_id, row.completed_at = "open", None, None
        raise
    history.record(
        session, ticket=ticket, actor=actor, type="TaskCompleted", new=row.name, comment=_summary(clean)
    )
    return instance


def require_candidate(session: Session, agent: Agent, task: HumanTask) -> None:
    """Raise unless ``agent`` may work on ``task`` (lane, role, named agent, four-eyes rule)."""
    if agent.read_only or not agent.active:
        raise PermissionDenied(f"{agent.login} cannot work on tasks")
    if task.excluded_agent_id == agent.id:
        raise PermissionDenied("you asked for this; another agent has to decide it")
    if not is_candidate(session, agent, task):
        raise PermissionDenied(f"the task {task.name!r} is not for {agent.login}")


def is_candidate(session: Session, agent: Agent, task: HumanTask) -> bool:
    """True when the task's lane rules name ``agent``."""
    if task.excluded_agent_id == agent.id:
        return False
    if task.candidate_agent_id is not None:
        return task.candidate_agent_id == agent.id
    if task.candidate_role_id is not None:
        return any(role.id == task.candidate_role_id and role.valid for role in agent.roles)
    if task.follows_ticket_queue:
        return permissions.has_queue_permission(session, agent, task.ticket.queue, "rw")
    if task.candidate_queue_id is not None:
        return task.candidate_queue_id in permissions.queue_ids_with(session, agent, "rw")
    return False


# --- messages and timers ---------------------------------------------------------------


def deliver_message(
    session: Session,
    *,
    ticket: Ticket,
    name: str,
    payload: Mapping[str, Any] | None = None,
    correlation: Mapping[str, Any] | None = None,
) -> ProcessMessage:
    """Hand a message (``customer_replied``, ``specialist_replied`` …) to the waiting process.

    ``correlation`` maps task-data names to the values the waiting task must hold (e.g. the
    request token of a specialist forward).  The message is recorded either way: delivered,
    or unmatched when nothing waits for it, so it is never lost silently.
    """
    payload = dict(payload or {})
    correlation = dict(correlation or {})
    candidates = session.scalars(
        select(ProcessInstance.id)
        .where(ProcessInstance.ticket_id == ticket.id, ProcessInstance.status == "running")
        .order_by(ProcessInstance.id)
    ).all()
    for instance_id in candidates:
        instance = _lock(session, instance_id)
        if instance.status != "running" or name not in (instance.waiting_messages or []):
            continue
        workflow = serialization.loads(instance.workflow_json, _engine(session, instance, ticket))
        definition = _waiting_message(workflow, name, correlation)
        if definition is None:
            continue

        def step(workflow: BpmnWorkflow = workflow, definition: Any = definition) -> None:
            workflow.send_event(BpmnEvent(definition, payload))
            engine_steps(workflow)

        _run(session, instance, workflow, ticket, step)
        record = ProcessMessage(
            ticket_id=ticket.id,
            name=name,
            payload=payload,
            correlation=correlation,
            status="delivered",
            instance_id=instance.id,
        )
        session.add(record)
        session.flush()
        return record
    record = ProcessMessage(
        ticket_id=ticket.id, name=name, payload=payload, correlation=correlation, status="unmatched"
    )
    session.add(record)
    session.flush()
    log.info("message %s for ticket %s matched no waiting process", name, ticket.number)
    return record


def due_instances(session: Session, *, now: datetime) -> list[int]:
    """Ids of running instances with a timer due at ``now``."""
    return list(
        session.scalars(
            select(ProcessInstance.id)
            .where(ProcessInstance.status == "running", ProcessInstance.next_timer_due <= now)
            .order_by(ProcessInstance.next_timer_due)
        )
    )


def fire_timers(session: Session, *, instance_id: int, now: datetime) -> bool:
    """Fire the due timers of one instance; False when none was due (already fired elsewhere)."""
    instance = _lock(session, instance_id)
    if instance.status != "running" or instance.next_timer_due is None or instance.next_timer_due > now:
        return False
    ticket = instance.ticket
    workflow = serialization.loads(instance.workflow_json, _engine(session, instance, ticket))

    def step() -> None:
        # refresh_timers alone leaves a due timer READY; the engine steps then run it.
        workflow.refresh_timers()
        engine_steps(workflow)

    _run(session, instance, workflow, ticket, step)
    return True


def mark_failed(session: Session, *, instance_id: int, error: str) -> None:
    """Record that an instance cannot go on, so it shows up instead of failing silently."""
    instance = _lock(session, instance_id)
    instance.status = "error"
    instance.error = error[:4000]
    instance.next_timer_due = None
    session.flush()


def instances_of(session: Session, *, ticket: Ticket) -> list[ProcessInstance]:
    """Every process instance of ``ticket``, oldest first."""
    return list(
        session.scalars(
            select(ProcessInstance).where(ProcessInstance.ticket_id == ticket.id).order_by(ProcessInstance.id)
        )
    )


# --- internals -------------------------------------------------------------------------


def _lock(session: Session, instance_id: int) -> ProcessInstance:
    instance = session.scalars(
        select(ProcessInstance)
        .where(ProcessInstance.id == instance_id)
        .with_for_update(of=ProcessInstance)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if instance is None:
        raise NotFound("no such process instance")
    return instance


def _open_task(session: Session, task_id: int) -> HumanTask:
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound("no such task")
    if task.state != "open":
        raise TaskAlreadyDone(_done_message(session, task))
    return task


def _require_agent(actor: Actor) -> Agent:
    if not isinstance(actor, Agent):
        raise PermissionDenied("only agents work on tasks")
    return actor


def _done_message(session: Session, task: HumanTask) -> str:
    if task.state == "completed":
        who = session.get(Agent, task.completed_by_id) if task.completed_by_id else None
        when = task.completed_at.strftime("%Y-%m-%d %H:%M UTC") if task.completed_at else "earlier"
        by = actor_label(who) if who else "the system"
        return f"the task {task.name!r} was already completed by {by} at {when}"
    return f"the task {task.name!r} was cancelled by the process"


def _summary(data: Mapping[str, Any]) -> str:
    text = ", ".join(f"{k}={v}" for k, v in data.items())
    return text[:500]


def _engine(session: Session, instance: ProcessInstance, ticket: Ticket) -> TicketflowScriptEngine:
    def run_operator(task: Any, name: str, params: dict[str, Any]) -> Any:
        spec = registry.get_operator(name)
        if spec is None:
            raise ProcessError(f"unknown operator {name!r}")
        missing = spec.required - params.keys()
        unknown = params.keys() - spec.required - spec.optional
        if missing or unknown:
            raise ProcessError(f"operator {name}: missing {sorted(missing)}, unknown {sorted(unknown)}")
        context = registry.OperatorContext(
            session=session,
            ticket=ticket,
            instance_id=instance.id,
            task_name=task.task_spec.bpmn_name or task.task_spec.bpmn_id,
            data=dict(task.data),
        )
        return spec.func(context, **params)

    return TicketflowScriptEngine(run_operator)


def engine_steps(workflow: BpmnWorkflow) -> None:
    """``do_engine_steps``, refusing to run more than :data:`MAX_ENGINE_STEPS` tasks."""
    steps = 0

    def count(task: Any) -> None:
        nonlocal steps
        steps += 1
        if steps > MAX_ENGINE_STEPS:
            raise ProcessError(
                f"the process ran {MAX_ENGINE_STEPS} steps without waiting for anyone; it loops"
            )

    workflow.do_engine_steps(will_complete_task=count)


def run_step(step: Any) -> None:
    """Run ``step`` (which advances a workflow); every failure becomes a :class:`TicketflowError`."""
    try:
        step()
    except TicketflowError:
        raise
    except SpiffWorkflowException as exc:
        cause = _our_cause(exc)
        if cause is not None:
            raise ProcessError(f"{_task_label(exc)}{cause.message}") from None
        raise ProcessError(f"{_task_label(exc)}{exc}") from None
    except _DATA_ERRORS as exc:
        log.warning("process step failed inside SpiffWorkflow", exc_info=True)
        raise ProcessError(f"the process cannot go on: {type(exc).__name__}: {exc}") from exc


def _run(
    session: Session, instance: ProcessInstance, workflow: BpmnWorkflow, ticket: Ticket, step: Any
) -> None:
    """Run ``step`` on the workflow, then save it and rebuild the projections."""
    run_step(step)
    _save(session, instance, workflow, ticket)


def _our_cause(exc: BaseException) -> TicketflowError | None:
    """The error of ours that SpiffWorkflow wrapped.  It raises its wrappers inside ``except``
    without ``from`` and does not keep the wrapped error, so only ``__context__`` has it."""
    current: BaseException | None = exc
    for _ in range(10):
        if current is None or isinstance(current, TicketflowError):
            return current
        current = current.__cause__ or current.__context__
    return None


def _task_label(exc: SpiffWorkflowException) -> str:
    task = getattr(exc, "task", None)
    spec = getattr(task, "task_spec", None)
    name = getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None)
    return f"step {name!r}: " if name else ""


def _save(session: Session, instance: ProcessInstance, workflow: BpmnWorkflow, ticket: Ticket) -> None:
    instance.workflow_json = serialization.dumps(workflow)
    instance.serializer_version = serialization.SERIALIZER_VERSION
    instance.status = "completed" if workflow.is_completed() else "running"
    timers, messages = _waits(workflow)
    instance.next_timer_due = min(timers) if timers else None
    instance.waiting_messages = sorted(messages)
    session.flush()
    for event in workflow.get_events():
        # Thrown by the process with nothing inside it to catch: keep a record.
        name = getattr(event.event_definition, "name", None) or type(event.event_definition).__name__
        session.add(
            ProcessMessage(
                ticket_id=ticket.id,
                name=str(name),
                payload={},
                correlation={},
                status="unmatched",
                instance_id=instance.id,
            )
        )
    _rebuild_tasks(session, instance, workflow, ticket)


def _definitions(task: Any) -> Iterable[Any]:
    definition = task.task_spec.event_definition
    if isinstance(definition, MultipleEventDefinition):
        return list(definition.event_definitions)
    return [definition]


def _waits(workflow: BpmnWorkflow) -> tuple[list[datetime], set[str]]:
    timers: list[datetime] = []
    messages: set[str] = set()
    for task in list(workflow.event_manager.tasks.values()):
        for definition in _definitions(task):
            if isinstance(definition, MessageEventDefinition):
                messages.add(definition.name)
            elif isinstance(definition, TimerEventDefinition):
                timers.append(_due(task))
    return timers, messages


def _due(task: Any) -> datetime:
    value = task.internal_data.get("event_value")
    try:
        return TimerEventDefinition.get_datetime(value) if isinstance(value, str) else utcnow() + TIMER_POLL
    except ValueError:
        return utcnow() + TIMER_POLL


def _waiting_message(workflow: BpmnWorkflow, name: str, correlation: Mapping[str, Any]) -> Any:
    for task in list(workflow.event_manager.tasks.values()):
        for definition in _definitions(task):
            if (
                isinstance(definition, MessageEventDefinition)
                and definition.name == name
                and all(task.data.get(key) == value for key, value in correlation.items())
            ):
                return definition
    return None


def _rebuild_tasks(
    session: Session, instance: ProcessInstance, workflow: BpmnWorkflow, ticket: Ticket
) -> None:
    ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    rows = session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.state == "open")
    ).all()
    existing = {row.task_guid: row for row in rows}
    for guid, row in existing.items():
        if guid not in ready:
            # A boundary event or the end of the process took it away: out of the inbox now.
            row.state = "cancelled"
    for guid, task in ready.items():
        if guid in existing:
            continue
        spec = task.task_spec
        properties: dict[str, str] = (
            dict(spec.extensions.get("properties", {})) if hasattr(spec, "extensions") else {}
        )
        candidates = registry.resolve_lane(
            session, ticket=ticket, lane=spec.lane, properties=properties, data=dict(task.data)
        )
        session.add(
            HumanTask(
                instance_id=instance.id,
                ticket_id=ticket.id,
                task_guid=guid,
                bpmn_id=spec.bpmn_id or spec.name,
                name=spec.bpmn_name or spec.bpmn_id or spec.name,
                process_id=task.workflow.spec.name,
                lane=spec.lane,
                documentation=getattr(spec, "documentation", None) or "",
                candidate_queue_id=candidates.queue_id,
                candidate_role_id=candidates.role_id,
                candidate_agent_id=candidates.agent_id,
                excluded_agent_id=candidates.excluded_agent_id,
                follows_ticket_queue=candidates.follows_ticket_queue,
                form=properties.get("formJsonSchemaFilename"),
                ui_form=properties.get("formUiSchemaFilename"),
            )
        )
    session.flush()
