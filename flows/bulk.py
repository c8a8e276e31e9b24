"""Bulk work on lists: one action for several tickets or tasks, carried out one by one.

Nothing here decides what is allowed: each item goes through the same use case a single
action would take (:mod:`flows.ticket_fields`, :mod:`flows.state`, :mod:`flows.tasks`), so
the permissions, rules and history are exactly theirs.  Each item runs in a savepoint of its
own: a refusal rolls back only that item's half-done work and the others stay done, and the
report names every item with its outcome (done, or refused with the service's error) for
the channel to show.  The channel commits once at the end, as for any request.

Tasks stand for their tickets in ticket actions (the inbox lists tasks); two tasks of one
ticket change it once.  Claiming takes tasks only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm import Session

from core.errors import FieldMessage, TicketflowError, ValidationError
from core.i18n import N_
from desk.actor import Actor
from desk.agent.models import Agent
from desk.queue.models import Queue
from desk.ticket import service as ticket_service
from desk.ticket.models import State, Ticket
from flows import state as state_flow
from flows import tasks as task_flows
from flows import ticket_fields

# What a bulk request may do; the web bar and the API (``POST /api/v1/tickets/bulk``) offer
# the same.
ACTIONS = ("move", "lock", "unlock", "state", "owner", "claim")
# One request changes at most this many items (a page of the longest list is 50).
MAX_ITEMS = 100


@dataclass(frozen=True)
class ItemResult:
    """One item's outcome: ``error`` is None when it was done."""

    ticket_id: int | None
    task_id: int | None
    number: str
    title: str
    error: TicketflowError | None = None
    # The id the request named (a ticket's, or a task's when ``task_id`` is set).
    item_id: int = 0

    @property
    def done(self) -> bool:
        """True when the action was carried out for this item."""
        return self.error is None


@dataclass
class BulkReport:
    """Every item of a bulk request in the order given, with its outcome."""

    action: str
    target: str = ""
    items: list[ItemResult] = field(default_factory=list)

    @property
    def done(self) -> list[ItemResult]:
        """The items the action was carried out for."""
        return [item for item in self.items if item.done]

    @property
    def refused(self) -> list[ItemResult]:
        """The items that were refused, each with its reason."""
        return [item for item in self.items if not item.done]


def run(
    session: Session,
    *,
    actor: Actor,
    action: str,
    ticket_ids: Sequence[int] = (),
    task_ids: Sequence[int] = (),
    queue_id: int | None = None,
    state_id: int | None = None,
    owner_id: int | None = None,
    pending_until: datetime | None = None,
) -> BulkReport:
    """Carry out ``action`` for each ticket (or task) one by one and report on each.

    The request itself is checked first (a known action, its target, some items, not too
    many): a bad request is a :class:`ValidationError` and nothing is done.
    """
    if action not in ACTIONS:
        raise ValidationError("unknown bulk action", errors={"action": ["choose one of the list"]})
    tickets_given = list(dict.fromkeys(ticket_ids))
    tasks_given = list(dict.fromkeys(task_ids))
    if not tickets_given and not tasks_given:
        raise ValidationError("nothing selected", errors={"items": ["select at least one item"]})
    if len(tickets_given) + len(tasks_given) > MAX_ITEMS:
        raise ValidationError(
            N_("too many items"),
            errors={"items": [FieldMessage(N_("at most %(num)s at once"), num=MAX_ITEMS)]},
        )
    if action == "claim" and tickets_given:
        raise ValidationError("claim takes tasks", errors={"items": ["only tasks can be claimed"]})
    change, target = _ticket_change(
        session,
        actor=actor,
        action=action,
        queue_id=queue_id,
        state_id=state_id,
        owner_id=owner_id,
        pending_until=pending_until,
    )
    report = BulkReport(action=action, target=target)
    if action == "claim":
        for task_id in tasks_given:
            report.items.append(_claim(session, actor=actor, task_id=task_id))
        return report
    changed: set[int] = set()
    for kind, item_id in [("task", i) for i in tasks_given] + [("ticket", i) for i in tickets_given]:
        result = _change(session, actor=actor, kind=kind, item_id=item_id, change=change, changed=changed)
        if result is not None:
            report.items.append(result)
    return report


Change = Callable[[Ticket], None]
M = TypeVar("M", Queue, State, Agent)


def _ticket_change(
    session: Session,
    *,
    actor: Actor,
    action: str,
    queue_id: int | None,
    state_id: int | None,
    owner_id: int | None,
    pending_until: datetime | None,
) -> tuple[Change, str]:
    """The use case to call for each ticket, and the target's name for the report."""
    if action == "move":
        queue = _load(session, Queue, queue_id, "queue")
        return (lambda t: ticket_fields.move(session, actor=actor, ticket=t, queue=queue)), queue.name
    if action == "state":
        state = _load(session, State, state_id, "state")
        return (
            lambda t: state_flow.set_state(
                session, actor=actor, ticket=t, state=state, pending_until=pending_until
            )
        ), state.name
    if action == "owner":
        owner = _load(session, Agent, owner_id, "owner")
        return (
            lambda t: ticket_fields.set_owner(session, actor=actor, ticket=t, owner=owner)
        ), owner.full_name
    if action == "lock":
        return (lambda t: ticket_fields.lock(session, actor=actor, ticket=t)), ""
    if action == "unlock":
        return (lambda t: ticket_fields.unlock(session, actor=actor, ticket=t)), ""
    return (lambda t: None), ""  # claim: per task, see _claim


def _load(session: Session, model: type[M], item_id: int | None, name: str) -> M:
    found = session.get(model, item_id) if item_id is not None else None
    if found is None:
        raise ValidationError("invalid choice", errors={name: ["choose one of the list"]})
    return found


def _change(
    session: Session, *, actor: Actor, kind: str, item_id: int, change: Change, changed: set[int]
) -> ItemResult | None:
    """One ticket (or a task's ticket) changed in a savepoint; None when already changed."""
    ticket: Ticket | None = None
    task_id = item_id if kind == "task" else None
    try:
        with session.begin_nested():
            ticket_id = (
                task_flows.get(session, actor=actor, task_id=item_id).ticket_id if task_id else item_id
            )
            # Known only once the actor may read it: a refused read reports the id alone.
            ticket = ticket_service.get_ticket(session, actor=actor, ticket_id=ticket_id)
            if ticket.id in changed:
                return None
            change(ticket)
            changed.add(ticket.id)
    except TicketflowError as exc:
        return _result(ticket, item_id, task_id, exc)
    return _result(ticket, item_id, task_id, None)


def _claim(session: Session, *, actor: Actor, task_id: int) -> ItemResult:
    """One task claimed in a savepoint of its own."""
    ticket: Ticket | None = None
    try:
        with session.begin_nested():
            task = task_flows.get(session, actor=actor, task_id=task_id)
            ticket = task.ticket
            task_flows.claim(session, actor=actor, task_id=task_id)
    except TicketflowError as exc:
        return _result(ticket, task_id, task_id, exc)
    return _result(ticket, task_id, task_id, None)


def _result(
    ticket: Ticket | None, item_id: int, task_id: int | None, error: TicketflowError | None
) -> ItemResult:
    if ticket is None:
        # The actor may not know this ticket (or it does not exist): only the id they sent.
        return ItemResult(
            ticket_id=None, task_id=task_id, number=f"#{item_id}", title="", error=error, item_id=item_id
        )
    return ItemResult(
        ticket_id=ticket.id,
        task_id=task_id,
        number=ticket.number,
        title=ticket.title,
        error=error,
        item_id=item_id,
    )
