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
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, overload
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import inspect, select, update
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.attributes import set_committed_value

from core.config import get_settings
from core.db import utcnow
from core.errors import FieldMessage, NotFound, PermissionDenied, TicketflowError, ValidationError
from core.i18n import N_
from desk.actor import Actor, SystemActor, actor_label
from desk.agent.models import Agent
from desk.customer.models import CustomerCompany
from desk.history import service as history
from desk.permission import service as permissions
from desk.ticket import service as tickets
from desk.ticket.errors import TicketLocked
from desk.ticket.models import Ticket
from engine import compaction, data_stores, definitions, registry, serialization, task_projection
from engine.errors import ProcessError, TaskAlreadyDone, TaskChanged, TaskClaimed
from engine.forms import PickerContext, validate_form
from engine.models import HumanTask, ProcessInstance, ProcessMessage
from engine.scripting import TicketflowScriptEngine

log = logging.getLogger(__name__)

DEFAULT_PROCESS = "ticket_handling"
COMPLETED_BY = registry.COMPLETED_BY
# When a waiting timer's due time cannot be read, look again this soon.
TIMER_POLL = timedelta(minutes=1)
# Engine tasks one advance may run: a loop without a wait state must not hang a worker.
MAX_ENGINE_STEPS = 10000
# How often a long advance compacts the task tree (engine.compaction).
COMPACT_EVERY_STEPS = 100
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
        raise NotFound(N_("process %(process)r is not deployed"), process=process_id)
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
    # No task can exist yet: the first projection rebuild need not look for any.
    session.info.setdefault(_FRESH_KEY, set()).add(instance.id)
    workflow = BpmnWorkflow(
        specs.spec, specs.subprocess_specs, script_engine=_engine(session, instance, ticket)
    )
    company = session.get(CustomerCompany, ticket.customer_company_id) if ticket.customer_company_id else None
    seed = {
        "ticket_id": ticket.id,
        "ticket_number": ticket.number,
        # What decision tables route by (subject keywords, the customer's company).
        "ticket_subject": ticket.title,
        "customer_company": company.name if company is not None else "",
        "started_by_agent_id": actor.id if isinstance(actor, Agent) else None,
        **(data or {}),
    }
    if any(getattr(store, "scope", "") == "ticket" for store in specs.spec.data_stores.values()):
        # Ticket-scoped data stores go on with the values the ticket's previous instance left.
        earlier = session.scalar(
            select(ProcessInstance.workflow_json)
            .where(ProcessInstance.ticket_id == ticket.id, ProcessInstance.id != instance.id)
            .order_by(ProcessInstance.id.desc())
            .limit(1)
        )
        data_stores.seed(workflow, data_stores.ticket_values_of(earlier or ""))
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
    """Take a task; the ticket is locked for the agent too when nobody holds its lock.

    Atomic: the instance row is locked first and the claim is a conditional update on
    ``HumanTask.version``, so of two agents claiming at once (or a claim racing a completion)
    exactly one wins; the other gets :class:`TaskClaimed` (or :class:`TaskAlreadyDone`)
    naming the winner.
    """
    agent = _require_agent(actor)
    task = _open_task(session, task_id, agent)
    require_candidate(session, agent, task)
    _require_open(session, task)
    if task.claimed_by_id == agent.id:
        return task
    if task.claimed_by_id is not None:
        raise TaskClaimed(N_("this task is already claimed by %(holder)s"), holder=_holder(session, task))
    _update_task(session, task, claimed_by_id=agent.id, claimed_at=utcnow())
    ticket = task.ticket
    if not ticket.is_locked and permissions.has_queue_permission(session, agent, ticket.queue, "rw"):
        # Someone may lock it meanwhile; the claim stands on its own.
        with contextlib.suppress(TicketLocked):
            tickets.lock(session, actor=agent, ticket=ticket)
    return task


def release(session: Session, *, actor: Actor, task_id: int) -> HumanTask:
    """Give a claimed task back to its candidates.

    The claimer may release it, and so may an agent with ``rw`` on the ticket's queue (a
    colleague or lead taking back a forgotten claim); observers never.  Like a claim it is a
    conditional update under the instance lock.
    """
    task = _open_task(session, task_id, actor)
    if isinstance(actor, Agent) and task.claimed_by_id != actor.id:
        if actor.read_only or not actor.active:
            raise PermissionDenied(N_("%(login)s cannot work on tasks"), login=actor.login)
        may_release = permissions.has_queue_permission(session, actor, task.ticket.queue, "rw")
        if not may_release and not (task.claimed_by_id is None and is_candidate(session, actor, task)):
            raise PermissionDenied(
                N_("only the agent who claimed this task or an agent with rw on its queue may release it")
            )
    elif not isinstance(actor, Agent | SystemActor):
        raise PermissionDenied(N_("only agents work on tasks"))
    _require_open(session, task)
    if task.claimed_by_id is None:
        return task
    _update_task(session, task, claimed_by_id=None, claimed_at=None)
    return task


def complete_task(
    session: Session, *, actor: Actor, task_id: int, data: Mapping[str, Any] | None = None
) -> ProcessInstance:
    """Complete a user task with its form data and run the process on to its next wait.

    All or nothing: the run happens in a savepoint, so a refused completion (invalid form
    data, a consultant who cannot read the ticket, an operator that fails) leaves the
    session as it was even when the caller goes on and commits.
    """
    agent: Agent | None = None if isinstance(actor, SystemActor) else _require_agent(actor)
    row = _open_task(session, task_id, actor)
    if agent is not None:
        require_candidate(session, agent, row)
    _require_open(session, row)
    if agent is not None and row.claimed_by_id not in (None, agent.id):
        raise TaskClaimed(N_("this task is claimed by %(holder)s"), holder=_holder(session, row))
    agent_id = agent.id if agent is not None else None
    instance = row.instance
    form = instance.forms.get(row.form) if row.form else None
    ticket = instance.ticket
    clean = validate_form(form, dict(data or {}), context=PickerContext(session, actor, ticket))
    with session.begin_nested():
        workflow = serialization.loads(instance.workflow_json, _engine(session, instance, ticket), session)
        try:
            spiff_task = workflow.get_task_from_id(UUID(row.task_guid))
        except TaskNotFoundException:
            spiff_task = None  # no longer in the workflow: done or taken away meanwhile
        if spiff_task is None or spiff_task.state != TaskState.READY:
            raise TaskAlreadyDone(N_("this task is no longer waiting for anyone"))

        def step() -> None:
            spiff_task.set_data(**clean, **{COMPLETED_BY: agent_id})
            spiff_task.run()
            engine_steps(workflow)

        # Marked (and its version bumped) before the run, so the projection rebuild counts it
        # as done, not as cancelled.
        _update_task(session, row, state="completed", completed_by_id=agent_id, completed_at=utcnow())
        _run(session, instance, workflow, ticket, step)
        history.record(
            session, ticket=ticket, actor=actor, type="TaskCompleted", new=row.name, comment=_summary(clean)
        )
    return instance


def require_candidate(session: Session, agent: Agent, task: HumanTask) -> None:
    """Raise unless ``agent`` may work on ``task`` (lane, role, named agent, four-eyes rule).

    An agent who cannot read the task's ticket learns nothing, not even that the task
    exists (:class:`NotFound`); one who can read it but is no candidate is refused without
    the task's details (:class:`PermissionDenied`).  The agent who completed a task passes
    while they can read the ticket, so a second try of theirs is told it is done.
    """
    if is_candidate(session, agent, task):
        return
    if not permissions.can_read_ticket(session, agent, task.ticket):
        raise NotFound("no such task")
    if task.state != "open" and task.completed_by_id == agent.id and not agent.read_only:
        return
    if agent.read_only or not agent.active:
        raise PermissionDenied(N_("%(login)s cannot work on tasks"), login=agent.login)
    if task.excluded_agent_id == agent.id:
        raise PermissionDenied(N_("you asked for this; another agent has to decide it"))
    raise PermissionDenied(N_("this task is not for %(login)s"), login=agent.login)


def is_candidate(session: Session, agent: Agent, task: HumanTask) -> bool:
    """True when the task's lane rules name ``agent`` and they may read the ticket (``ro``).

    Observers and inactive agents are never candidates; neither is the agent the four-eyes
    rule excludes.
    """
    if agent.read_only or not agent.active or task.excluded_agent_id == agent.id:
        return False
    if not permissions.has_queue_permission(session, agent, task.ticket.queue, "ro"):
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
    instance_id: int | None = None,
) -> ProcessMessage:
    """Hand a message (``customer_replied``, ``specialist_replied`` …) to the waiting process.

    ``correlation`` maps task-data names to the values the waiting task must hold (e.g. the
    request token of a specialist forward); ``instance_id`` limits the delivery to that one
    instance (ticket events go to each process in turn).  The message is recorded either way:
    delivered, or unmatched when nothing waits for it, so it is never lost silently.
    """
    payload = dict(payload or {})
    correlation = dict(correlation or {})
    candidates: Sequence[int]
    if instance_id is not None:
        # One instance named: lock it at once (its ticket and status are checked below).
        candidates = [instance_id]
    else:
        candidates = session.scalars(
            select(ProcessInstance.id)
            .where(ProcessInstance.ticket_id == ticket.id, ProcessInstance.status == "running")
            .order_by(ProcessInstance.id)
        ).all()
    for candidate_id in candidates:
        instance = _lock(session, candidate_id, missing_ok=True)
        if (
            instance is None
            or instance.ticket_id != ticket.id
            or instance.status != "running"
            or name not in (instance.waiting_messages or [])
        ):
            continue
        workflow = serialization.loads(instance.workflow_json, _engine(session, instance, ticket), session)
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
    workflow = serialization.loads(instance.workflow_json, _engine(session, instance, ticket), session)

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


def newest_instance(session: Session, *, ticket: Ticket) -> ProcessInstance | None:
    """The ticket's newest process instance, without reading its stored workflow.

    The ticket view shows only its name, version and forms; the workflow JSON is the large
    column, loaded on first use if a caller needs it after all.
    """
    return session.scalars(
        select(ProcessInstance)
        .where(ProcessInstance.ticket_id == ticket.id)
        .options(defer(ProcessInstance.workflow_json))
        .order_by(ProcessInstance.id.desc())
        .limit(1)
    ).first()


# --- internals -------------------------------------------------------------------------

# session.info key: ids of the instances :func:`start` created in this session whose tasks
# were not projected yet.
_FRESH_KEY = "engine.fresh_instances"


@overload
def _lock(session: Session, instance_id: int) -> ProcessInstance: ...
@overload
def _lock(session: Session, instance_id: int, *, missing_ok: bool) -> ProcessInstance | None: ...
def _lock(session: Session, instance_id: int, *, missing_ok: bool = False) -> ProcessInstance | None:
    instance = session.scalars(
        select(ProcessInstance)
        .where(ProcessInstance.id == instance_id)
        .with_for_update(of=ProcessInstance)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if instance is None and not missing_ok:
        raise NotFound("no such process instance")
    return instance


def _open_task(session: Session, task_id: int, actor: Actor) -> HumanTask:
    """The task, its instance locked and its row read again under that lock.

    Every change of a task row (claim, release, completion, the projection rebuild) happens
    under its instance's row lock, so they are serialised; an agent who cannot read the
    ticket gets :class:`NotFound` before anything about the task is revealed.
    """
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound("no such task")
    if not permissions.can_read_ticket(session, actor, task.ticket):
        raise NotFound("no such task")
    locked = _lock(session, task.instance_id)
    session.refresh(task)  # its state as of now, after we hold the lock
    # The task holds the locked instance: the identity map keeps objects only weakly, so
    # without this reference ``task.instance`` would read the row a second time.
    set_committed_value(task, "instance", locked)
    return task


def _require_open(session: Session, task: HumanTask) -> None:
    if task.state != "open":
        raise _already_done(session, task)


def _holder(session: Session, task: HumanTask) -> str:
    holder = session.get(Agent, task.claimed_by_id) if task.claimed_by_id else None
    return actor_label(holder) if holder else "someone"


def _update_task(session: Session, task: HumanTask, **values: Any) -> None:
    """Write ``values`` to the task if its version is still the one read; bump the version.

    The instance lock already serialises the writers; the condition keeps a writer that
    bypassed it (or read the row before it) from overwriting a newer state.
    """
    result = session.execute(
        update(HumanTask)
        .where(HumanTask.id == task.id, HumanTask.version == task.version)
        .values(version=HumanTask.version + 1, **values)
        .execution_options(synchronize_session="fetch")
    )
    if getattr(result, "rowcount", 1) != 1:
        session.refresh(task)
        if task.state != "open":
            raise _already_done(session, task)
        raise TaskChanged(N_("someone else changed this task in the meantime; reload and retry"))


def _require_agent(actor: Actor) -> Agent:
    if not isinstance(actor, Agent):
        raise PermissionDenied(N_("only agents work on tasks"))
    return actor


def _already_done(session: Session, task: HumanTask) -> TaskAlreadyDone:
    if task.state == "completed":
        who = session.get(Agent, task.completed_by_id) if task.completed_by_id else None
        when = task.completed_at.strftime("%Y-%m-%d %H:%M UTC") if task.completed_at else "earlier"
        by = actor_label(who) if who else "the system"
        return TaskAlreadyDone(
            N_("the task %(name)s was already completed by %(by)s at %(when)s"),
            name=repr(task.name),
            by=by,
            when=when,
        )
    return TaskAlreadyDone(N_("the task %(name)s was cancelled by the process"), name=repr(task.name))


def _summary(data: Mapping[str, Any]) -> str:
    text = ", ".join(f"{k}={v}" for k, v in data.items())
    return text[:500]


def _engine(session: Session, instance: ProcessInstance, ticket: Ticket) -> TicketflowScriptEngine:
    def run_operator(task: Any, name: str, params: dict[str, Any]) -> Any:
        spec = registry.get_operator(name)
        if spec is None:
            raise ProcessError(N_("unknown operator %(name)r"), name=name)
        missing = spec.required - params.keys()
        unknown = params.keys() - spec.required - spec.optional
        if missing or unknown:
            raise ProcessError(
                N_("operator %(name)s: missing %(missing)s, unknown %(unknown)s"),
                name=name,
                missing=sorted(missing),
                unknown=sorted(unknown),
            )
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
    """``do_engine_steps``, refusing to run more than :data:`MAX_ENGINE_STEPS` tasks or for
    longer than the budget (``TICKETFLOW_ENGINE_BUDGET_MS``)."""
    steps = 0
    budget_ms = get_settings().engine_budget_ms
    deadline = time.perf_counter() + budget_ms / 1000

    def count(task: Any) -> None:
        nonlocal steps
        steps += 1
        if steps > MAX_ENGINE_STEPS:
            raise ProcessError(
                N_("the process ran %(num)s steps without waiting for anyone; it loops"), num=MAX_ENGINE_STEPS
            )
        if time.perf_counter() > deadline:
            raise ProcessError(
                N_("the process ran for more than %(ms)s ms without waiting for anyone; it was stopped"),
                ms=budget_ms,
            )
        if steps % COMPACT_EVERY_STEPS == 0:
            # A loop without a wait state deepens the tree within this one advance: keep it
            # shallow, or SpiffWorkflow stops seeing the loop's next step and calls it done.
            compaction.compact(workflow)

    workflow.do_engine_steps(will_complete_task=count)
    compaction.compact(workflow)


def run_step(step: Any) -> None:
    """Run ``step`` (which advances a workflow); every failure becomes a :class:`TicketflowError`."""
    try:
        step()
    except TicketflowError:
        raise
    except SpiffWorkflowException as exc:
        cause = _our_cause(exc)
        if isinstance(cause, PermissionDenied):
            # An operator acting as the agent who completed the task (e.g. a forward to the
            # customer by an agent who may not contact customers): the agent's refusal, a 403.
            raise cause from None
        if type(cause) is ValidationError:
            # Input the agent can correct (e.g. a consultant's login that names nobody): a
            # 422 for the form that gave it.  The engine's own validation errors (an unsafe
            # expression) are subclasses and stay process errors.
            msgid, params = _in_step(exc, FieldMessage(cause.msgid, **cause.params))
            raise ValidationError(msgid, errors=cause.errors, **params) from None
        if cause is not None:
            msgid, params = _in_step(exc, FieldMessage(cause.msgid, **cause.params))
            raise ProcessError(msgid, **params) from None
        msgid, params = _in_step(exc, str(exc))
        raise ProcessError(msgid, **params) from None
    except RecursionError:
        # SpiffWorkflow walks flows and task trees recursively; never show the raw error.
        raise ProcessError(
            N_("the process is too deeply nested or chained for the engine to follow; it was stopped")
        ) from None
    except _DATA_ERRORS as exc:
        log.warning("process step failed inside SpiffWorkflow", exc_info=True)
        raise ProcessError(
            N_("the process cannot go on: %(kind)s: %(reason)s"), kind=type(exc).__name__, reason=str(exc)
        ) from exc


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


def _in_step(exc: SpiffWorkflowException, reason: str) -> tuple[str, dict[str, Any]]:
    """The msgid and parameters of ``reason`` named with the failed step (when it is known).

    ``reason`` is the cause's own message as a :class:`FieldMessage`, so both are translated.
    """
    task = getattr(exc, "task", None)
    spec = getattr(task, "task_spec", None)
    name = getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None)
    if not name:
        if isinstance(reason, FieldMessage):
            return reason.msgid, reason.params
        return reason, {}  # SpiffWorkflow's own text: no msgid, shown as it is
    return N_("step %(step)r: %(reason)s"), {"step": name, "reason": reason}


def _save(session: Session, instance: ProcessInstance, workflow: BpmnWorkflow, ticket: Ticket) -> None:
    completed = workflow.is_completed()
    if completed and (left := compaction.unfinished_work(workflow)):
        # SpiffWorkflow's iterator missed work (a task tree too deep for it): never call such
        # an instance completed, its ticket would lose its process without a word.
        names = sorted({t.task_spec.bpmn_name or t.task_spec.bpmn_id or t.task_spec.name for t in left})
        raise ProcessError(
            N_(
                "the process reported itself finished with steps still open (%(steps)s); "
                "it was stopped instead"
            ),
            steps=", ".join(map(str, names[:5])),
        )
    state = serialization.dumps(workflow)
    digest = serialization.definition_hash(workflow)
    # The definition row first: the instance row refers to it.  An instance saved before
    # under the same definition already refers to its row, which therefore exists.
    stored_hash = inspect(instance).committed_state.get("spec_hash", instance.spec_hash)
    if digest != stored_hash or instance in session.new:
        serialization.store(session, digest)
    instance.workflow_json = state
    instance.spec_hash = digest
    instance.serializer_version = serialization.SERIALIZER_VERSION
    instance.status = "completed" if completed else "running"
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


def _event_subprocess_messages(workflow: BpmnWorkflow) -> list[Any]:
    """The message definitions that start an event subprocess of the running process.

    SpiffWorkflow lists these nowhere as waiting (the subprocess is only created when its
    message comes), so they are read from the process's start task (e.g. ``ticket_closed``).
    """
    if workflow.is_completed():
        return []
    found: list[Any] = []
    for name in getattr(workflow.spec.start, "trigger_specs", []):
        spec = workflow.subprocess_specs.get(name)
        for start in getattr(spec, "bpmn_start_events", []) if spec is not None else []:
            definition = start.event_definition
            inner = (
                definition.event_definitions
                if isinstance(definition, MultipleEventDefinition)
                else [definition]
            )
            found.extend(d for d in inner if isinstance(d, MessageEventDefinition))
    return found


def _waits(workflow: BpmnWorkflow) -> tuple[list[datetime], set[str]]:
    timers: list[datetime] = []
    messages: set[str] = {d.name for d in _event_subprocess_messages(workflow)}
    for task in list(workflow.event_manager.tasks.values()):
        for definition in _definitions(task):
            if isinstance(definition, MessageEventDefinition):
                messages.add(definition.name)
            elif isinstance(definition, TimerEventDefinition):
                timers.append(_due(task))
    return timers, messages


def _due(task: Any) -> datetime:
    value = task.internal_data.get("event_value")
    if isinstance(value, dict) and value.get("cycles") != 0:
        # A timer cycle keeps its next firing time inside a dict (cycles left, next, duration).
        value = value.get("next")
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
    if not correlation:
        for definition in _event_subprocess_messages(workflow):
            if definition.name == name:
                return definition
    return None


def _rebuild_tasks(
    session: Session, instance: ProcessInstance, workflow: BpmnWorkflow, ticket: Ticket
) -> None:
    ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    fresh: set[int] = session.info.get(_FRESH_KEY, set())
    rows: Sequence[HumanTask]
    if instance.id in fresh:
        fresh.discard(instance.id)  # started just now: nothing to read
        rows = []
    else:
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
                # An empty file name (as modelers write it) is no form.
                form=properties.get("formJsonSchemaFilename") or None,
                ui_form=properties.get("formUiSchemaFilename") or None,
                # What the inbox filters and sorts by (engine.task_projection).
                ticket_queue_id=task_projection.queue_of(ticket),
                escalation_due=task_projection.escalation_of(ticket),
            )
        )
    session.flush()


# --- moving to a newer version ---------------------------------------------------------


def migrate(session: Session, *, actor: Actor, instance_id: int, version: int) -> ProcessInstance:
    """Move a running instance onto ``version`` of its process (see :mod:`engine.migration`).

    The caller checks who may; this locks the instance, maps its steps (or refuses naming
    the ones without counterpart), runs it on to its next wait, saves it and writes the
    ticket's history.  All in a savepoint: a refusal changes nothing.
    """
    from engine import migration

    locked = _lock(session, instance_id)
    ticket = locked.ticket
    old = f"{locked.process_version.name} (version {locked.process_version.version})"
    with session.begin_nested():
        target = migration.target_version(session, locked, version)
        workflow = serialization.loads(locked.workflow_json, _engine(session, locked, ticket), session)
        plan = migration.migrate(session, locked, workflow, target)
        _run(session, locked, workflow, ticket, lambda: engine_steps(workflow))
        history.record(
            session,
            ticket=ticket,
            actor=actor,
            type="ProcessMigrate",
            old=old,
            new=f"{target.name} (version {target.version})",
            comment=("waiting at " + ", ".join(plan.waiting))[:500] if plan.waiting else "",
        )
    return locked


# --- ending from outside ---------------------------------------------------------------


def terminate(session: Session, *, instance: ProcessInstance, actor: Actor, reason: str) -> bool:
    """End a running instance that does not end itself (a diagram without a close handler).

    Every open task of the instance and of the processes it called is cancelled, so it leaves
    the inbox; the instance becomes *cancelled* with ``reason`` kept in ``error`` and in the
    ticket's history.  False when the instance had already ended (nothing to do).
    """
    locked = _lock(session, instance.id)
    if locked.status != "running":
        return False
    ticket = locked.ticket
    workflow = serialization.loads(locked.workflow_json, _engine(session, locked, ticket), session)
    # BpmnWorkflow.cancel cancels the subworkflows of call activities too.
    _run(session, locked, workflow, ticket, workflow.cancel)
    locked.status = "cancelled"
    locked.error = reason[:4000]
    locked.next_timer_due = None
    locked.waiting_messages = []
    session.flush()
    history.record(
        session,
        ticket=ticket,
        actor=actor,
        type="ProcessEnd",
        old=f"{locked.process_version.name} (version {locked.process_version.version})",
        new="cancelled",
        comment=reason[:500],
    )
    return True
