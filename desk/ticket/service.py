"""Everything that changes a ticket.  Each function checks permissions and writes history.

The permission checks come first, before any rule about the input or the ticket's state, so
an agent without the right learns only that (403), never which rule the input breaks.

Functions take the session and keyword arguments, and only flush; the caller commits.  There
is deliberately no function that deletes a ticket.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from core.config import get_settings
from core.db import utcnow
from core.errors import FieldMessage, NotFound, PermissionDenied, ValidationError
from core.i18n import N_
from desk.actor import SYSTEM, Actor, actor_label
from desk.agent.models import Agent
from desk.customer.models import CustomerCompany, CustomerUser
from desk.history import service as history
from desk.permission import service as permissions
from desk.queue.models import Queue
from desk.ticket import firsts, states
from desk.ticket.errors import TicketLocked, TicketMerged
from desk.ticket.models import State, Ticket, TicketLink, TicketType
from desk.ticket.numbers import next_number

MAX_TITLE = 255


# --- reading ---------------------------------------------------------------------------


def get_ticket(session: Session, *, actor: Actor, ticket_id: int) -> Ticket:
    """The ticket with ``ticket_id`` if ``actor`` may read it (with customer, priority and owners)."""
    # Every page of a ticket shows its customer, priority, owner and responsible: loaded with
    # it, not by statements of their own (nor the owner's roles, which the page never shows).
    ticket = session.get(
        Ticket,
        ticket_id,
        options=[
            joinedload(Ticket.customer_user),
            joinedload(Ticket.priority_name),
            joinedload(Ticket.owner).lazyload(Agent.roles),
            joinedload(Ticket.responsible).lazyload(Agent.roles),
        ],
    )
    if ticket is None:
        raise NotFound("no such ticket")
    permissions.require_ticket_read(session, actor, ticket)
    return ticket


def get_by_number(session: Session, *, actor: Actor, number: str) -> Ticket:
    """The ticket with ``number`` if ``actor`` may read it."""
    ticket = session.scalar(select(Ticket).where(Ticket.number == number))
    if ticket is None:
        raise NotFound("no such ticket")
    permissions.require_ticket_read(session, actor, ticket)
    return ticket


def list_tickets(
    session: Session,
    *,
    actor: Actor,
    queue_ids: Sequence[int] | None = None,
    state_types: Sequence[str] | None = None,
    company_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Sequence[Ticket]:
    """Tickets ``actor`` may read, newest first, optionally filtered (``company_id``: the
    customer company's tickets)."""
    query = (
        select(Ticket)
        .where(permissions.visible_ticket_condition(session, actor))
        .options(selectinload(Ticket.locked_by), selectinload(Ticket.owner))
    )
    if queue_ids is not None:
        query = query.where(Ticket.queue_id.in_(queue_ids))
    if state_types is not None:
        query = query.join(State, State.id == Ticket.state_id).where(State.type.in_(state_types))
    if company_id is not None:
        query = query.where(Ticket.customer_company_id == company_id)
    query = query.order_by(Ticket.id.desc()).limit(min(max(limit, 1), 500)).offset(max(offset, 0))
    return session.scalars(query).all()


# --- creating --------------------------------------------------------------------------


def create_ticket(
    session: Session,
    *,
    actor: Actor,
    title: str,
    queue: Queue,
    customer_user: CustomerUser | None = None,
    customer_company: CustomerCompany | None = None,
    state: State | None = None,
    priority: int = 3,
    ticket_type: TicketType | None = None,
    owner: Agent | None = None,
    responsible: Agent | None = None,
    pending_until: datetime | None = None,
) -> Ticket:
    """Open a new ticket with a fresh number.  Its first article is added separately."""
    if isinstance(actor, CustomerUser):
        # Customers open tickets for themselves only, and only where they are expected.
        if not queue.customer_facing:
            raise PermissionDenied(N_("customers open tickets only in the queues offered to customers"))
        customer_user = actor
    else:
        permissions.require_queue(session, actor, queue, "create")
    if not queue.valid:
        raise ValidationError(
            N_("invalid queue"),
            errors={"queue": [FieldMessage(N_("%(queue)s is not active"), queue=queue.name)]},
        )
    title = _clean_title(title)
    _check_priority(priority)
    state = state or states.get_state(session, "new")
    _check_state_time(state, pending_until)
    if state.type == "merged":
        raise ValidationError(N_("invalid state"), errors={"state": [N_("a new ticket cannot be merged")]})
    if customer_company is None and customer_user is not None:
        customer_company = customer_user.company
    if owner is None and isinstance(actor, Agent):
        owner = actor
    now = utcnow()
    ticket = Ticket(
        number=next_number(session, system_id=get_settings().system_id, now=now),
        title=title,
        queue=queue,
        state=state,
        priority=priority,
        type=ticket_type,
        customer_user=customer_user,
        customer_company=customer_company,
        owner=owner,
        responsible=responsible,
        pending_until=pending_until if state.is_pending else None,
        created_at=now,
        changed_at=now,
    )
    session.add(ticket)
    session.flush()
    history.record(
        session,
        ticket=ticket,
        actor=actor,
        type="NewTicket",
        new=f"{ticket.number} in {queue.name}, state {state.name}, priority {priority}",
    )
    return ticket


# --- changing --------------------------------------------------------------------------


def move(session: Session, *, actor: Actor, ticket: Ticket, queue: Queue, comment: str = "") -> None:
    """Move ``ticket`` to ``queue`` (hand-over between levels).  Releases a held lock."""
    permissions.require_queue(session, actor, ticket.queue, "move_into")
    permissions.require_queue(session, actor, queue, "move_into")
    _require_changeable(ticket)
    if not queue.valid:
        raise ValidationError(
            N_("invalid queue"),
            errors={"queue": [FieldMessage(N_("%(queue)s is not active"), queue=queue.name)]},
        )
    if queue.id == ticket.queue_id:
        return
    old = ticket.queue.name
    ticket.queue = queue
    session.flush()
    history.record(session, ticket=ticket, actor=actor, type="Move", old=old, new=queue.name, comment=comment)
    # As in OTRS: the new team must be free to pick the ticket up.
    if ticket.is_locked:
        _release_lock(session, actor=actor, ticket=ticket, comment="unlocked on move")


def lock(session: Session, *, actor: Actor, ticket: Ticket) -> None:
    """Lock ``ticket`` for ``actor`` (who becomes its owner); refused if another holds it."""
    if not isinstance(actor, Agent):
        raise PermissionDenied(N_("only agents lock tickets"))
    permissions.require_queue(session, actor, ticket.queue, "rw")
    _require_changeable(ticket)
    _take_lock(session, agent=actor, ticket=ticket)


def unlock(session: Session, *, actor: Actor, ticket: Ticket) -> None:
    """Release the lock, whoever holds it (S14: one click for anyone with the right)."""
    permissions.require_queue(session, actor, ticket.queue, "rw")
    if ticket.is_locked:
        _release_lock(session, actor=actor, ticket=ticket)


def set_owner(session: Session, *, actor: Actor, ticket: Ticket, owner: Agent) -> None:
    """Make ``owner`` the accountable agent; they need the owner right on the queue."""
    permissions.require_queue(session, actor, ticket.queue, "owner")
    _require_changeable(ticket)
    if not (owner.active and permissions.has_queue_permission(session, owner, ticket.queue, "owner")):
        raise ValidationError(
            N_("invalid owner"),
            errors={
                "owner": [
                    FieldMessage(
                        N_("%(login)s has no owner right on %(queue)s"),
                        login=owner.login,
                        queue=ticket.queue.name,
                    )
                ]
            },
        )
    if ticket.owner_id == owner.id:
        return
    old = ticket.owner.login if ticket.owner else None
    ticket.owner = owner
    session.flush()
    history.record(session, ticket=ticket, actor=actor, type="OwnerUpdate", old=old, new=owner.login)


def set_responsible(session: Session, *, actor: Actor, ticket: Ticket, responsible: Agent) -> None:
    """Delegate: make ``responsible`` solve the ticket while the owner stays accountable."""
    permissions.require_queue(session, actor, ticket.queue, "owner")
    _require_changeable(ticket)
    if not (
        responsible.active and permissions.has_queue_permission(session, responsible, ticket.queue, "ro")
    ):
        raise ValidationError(
            N_("invalid responsible agent"),
            errors={
                "responsible": [
                    FieldMessage(
                        N_("%(login)s cannot read %(queue)s"),
                        login=responsible.login,
                        queue=ticket.queue.name,
                    )
                ]
            },
        )
    if ticket.responsible_id == responsible.id:
        return
    old = ticket.responsible.login if ticket.responsible else None
    ticket.responsible = responsible
    session.flush()
    history.record(
        session, ticket=ticket, actor=actor, type="ResponsibleUpdate", old=old, new=responsible.login
    )


def set_state(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    state: State,
    pending_until: datetime | None = None,
) -> None:
    """Change the state; pending states need ``pending_until`` (the reminder or close time)."""
    permissions.require_queue(session, actor, ticket.queue, "rw")
    _require_changeable(ticket)
    if state.type == "merged":
        raise ValidationError(N_("invalid state"), errors={"state": [N_("use merge to merge tickets")]})
    if not state.valid:
        raise ValidationError(
            N_("invalid state"),
            errors={"state": [FieldMessage(N_("%(state)s is not active"), state=state.name)]},
        )
    _check_state_time(state, pending_until)
    new_pending = pending_until if state.is_pending else None
    state_changes, pending_changes = ticket.state_id != state.id, ticket.pending_until != new_pending
    old, old_pending = ticket.state.name, ticket.pending_until
    # Both changes in one UPDATE of the ticket, then their history rows in the same order.
    if state_changes:
        ticket.state = state
    if pending_changes:
        ticket.pending_until = new_pending
    if state_changes or pending_changes:
        session.flush()
    if state_changes:
        history.record(session, ticket=ticket, actor=actor, type="StateUpdate", old=old, new=state.name)
    if pending_changes:
        history.record(
            session,
            ticket=ticket,
            actor=actor,
            type="SetPendingTime",
            old=old_pending.isoformat() if old_pending else None,
            new=new_pending.isoformat() if new_pending else None,
        )
    if state.type == "closed" and ticket.is_locked:
        _release_lock(session, actor=actor, ticket=ticket, comment="unlocked on close")


def reopen(session: Session, *, actor: Actor, ticket: Ticket) -> None:
    """Put a closed ticket back to the first ``open`` state (a customer's follow-up).

    Agents need ``rw``; a customer may reopen their own ticket by writing to it.
    """
    if ticket.state.type != "closed":
        return
    if isinstance(actor, CustomerUser):
        permissions.require_ticket_read(session, actor, ticket)
        _require_changeable(ticket)
        old = ticket.state.name
        ticket.state = states.first_state_of_type(session, "open")
        ticket.pending_until = None
        session.flush()
        history.record(
            session,
            ticket=ticket,
            actor=actor,
            type="StateUpdate",
            old=old,
            new=ticket.state.name,
            comment="reopened by the customer's follow-up",
        )
        return
    set_state(session, actor=actor, ticket=ticket, state=states.first_state_of_type(session, "open"))


def set_priority(session: Session, *, actor: Actor, ticket: Ticket, priority: int) -> None:
    """Change the priority (1 very low … 5 very high)."""
    permissions.require_queue(session, actor, ticket.queue, "priority")
    _require_changeable(ticket)
    _check_priority(priority)
    if ticket.priority == priority:
        return
    old = ticket.priority
    ticket.priority = priority
    session.flush()
    history.record(session, ticket=ticket, actor=actor, type="PriorityUpdate", old=old, new=priority)


def set_title(session: Session, *, actor: Actor, ticket: Ticket, title: str) -> None:
    """Change the title."""
    permissions.require_queue(session, actor, ticket.queue, "rw")
    _require_changeable(ticket)
    title = _clean_title(title)
    if ticket.title == title:
        return
    old = ticket.title
    ticket.title = title
    session.flush()
    history.record(session, ticket=ticket, actor=actor, type="TitleUpdate", old=old, new=title)


def set_customer(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    customer_user: CustomerUser | None,
    customer_company: CustomerCompany | None = None,
) -> None:
    """Change who the ticket is for (and so who can see it in the portal)."""
    permissions.require_queue(session, actor, ticket.queue, "rw")
    _require_changeable(ticket)
    if customer_company is None and customer_user is not None:
        customer_company = customer_user.company
    old = _customer_label(ticket.customer_user, ticket.customer_company)
    new = _customer_label(customer_user, customer_company)
    if old == new:
        return
    ticket.customer_user = customer_user
    ticket.customer_company = customer_company
    session.flush()
    history.record(session, ticket=ticket, actor=actor, type="CustomerUpdate", old=old, new=new)


def set_type(session: Session, *, actor: Actor, ticket: Ticket, ticket_type: TicketType | None) -> None:
    """Change the ticket type."""
    permissions.require_queue(session, actor, ticket.queue, "rw")
    _require_changeable(ticket)
    if ticket.type_id == (ticket_type.id if ticket_type else None):
        return
    old = ticket.type.name if ticket.type else None
    ticket.type = ticket_type
    session.flush()
    history.record(
        session,
        ticket=ticket,
        actor=actor,
        type="TypeUpdate",
        old=old,
        new=ticket_type.name if ticket_type else None,
    )


def merge(session: Session, *, actor: Actor, ticket: Ticket, into: Ticket) -> None:
    """Merge ``ticket`` into ``into``: its articles move there, it becomes *merged*.

    Nothing is deleted: the merged ticket stays with its history and points at the target.
    Tickets of two different customers are not merged: each would see the other's mails in
    the portal.  Link them instead (S9).
    """
    # The rights first: an agent who may not merge learns that, not which rule the pair breaks.
    permissions.require_queue(session, actor, ticket.queue, "rw")
    permissions.require_queue(session, actor, into.queue, "rw")
    if ticket.id == into.id:
        raise ValidationError(N_("invalid merge"), errors={"into": [N_("a ticket cannot merge into itself")]})
    if (
        ticket.customer_user_id is not None
        and into.customer_user_id is not None
        and ticket.customer_user_id != into.customer_user_id
    ):
        raise ValidationError(
            "invalid merge",
            errors={"into": ["the tickets belong to different customers; link them instead"]},
        )
    _require_changeable(ticket)
    _require_changeable(into)
    moved = list(ticket.articles)
    for article in moved:
        article.ticket_id = into.id
    firsts.move_responses(session, source=ticket, target=into)
    old_state = ticket.state.name
    old_pending = ticket.pending_until
    ticket.state = states.first_state_of_type(session, "merged")
    ticket.merged_into = into
    ticket.pending_until = None
    session.flush()
    if old_pending is not None:
        history.record(
            session, ticket=ticket, actor=actor, type="SetPendingTime", old=old_pending.isoformat(), new=None
        )
    session.expire(ticket, ["articles"])
    session.expire(into, ["articles"])
    history.record(
        session,
        ticket=ticket,
        actor=actor,
        type="Merged",
        old=f"{ticket.number} ({old_state})",
        new=into.number,
        comment=f"{len(moved)} article(s) moved to {into.number}",
    )
    history.record(
        session,
        ticket=into,
        actor=actor,
        type="Merged",
        old=ticket.number,
        new=into.number,
        comment=f"received {len(moved)} article(s) from {ticket.number}",
    )
    if ticket.is_locked:
        _release_lock(session, actor=actor, ticket=ticket, comment="unlocked on merge")


def link(
    session: Session, *, actor: Actor, source: Ticket, target: Ticket, kind: str = "normal"
) -> TicketLink:
    """Link two tickets; with ``parent_child`` the source is the parent (the problem ticket)."""
    permissions.require_queue(session, actor, source.queue, "rw")
    permissions.require_ticket_read(session, actor, target)
    if isinstance(actor, Agent) and actor.read_only:
        raise PermissionDenied(
            N_("%(login)s is a read-only observer and cannot change anything"), login=actor.login
        )
    if kind not in ("normal", "parent_child"):
        raise ValidationError(N_("invalid link"), errors={"kind": [N_("must be normal or parent_child")]})
    if source.id == target.id:
        raise ValidationError(N_("invalid link"), errors={"target": [N_("a ticket cannot link to itself")]})
    existing = session.scalar(
        select(TicketLink).where(
            TicketLink.source_ticket_id == source.id,
            TicketLink.target_ticket_id == target.id,
            TicketLink.kind == kind,
        )
    )
    if existing is not None:
        return existing
    created = TicketLink(
        source=source,
        target=target,
        kind=kind,
        created_by_id=actor.id if isinstance(actor, Agent) else None,
    )
    session.add(created)
    session.flush()
    label = "parent of" if kind == "parent_child" else "linked to"
    history.record(session, ticket=source, actor=actor, type="Link", new=f"{label} {target.number}")
    back = "child of" if kind == "parent_child" else "linked to"
    history.record(session, ticket=target, actor=actor, type="Link", new=f"{back} {source.number}")
    return created


def links_of(session: Session, *, ticket: Ticket) -> Sequence[TicketLink]:
    """Every link from or to ``ticket``."""
    return session.scalars(
        select(TicketLink)
        .where((TicketLink.source_ticket_id == ticket.id) | (TicketLink.target_ticket_id == ticket.id))
        .order_by(TicketLink.id)
    ).all()


# --- locks -----------------------------------------------------------------------------


def _take_lock(session: Session, *, agent: Agent, ticket: Ticket) -> None:
    if ticket.locked_by_id == agent.id:
        return
    if ticket.locked_by is not None:
        raise TicketLocked(
            N_("ticket %(number)s is locked by %(holder)s"),
            number=ticket.number,
            holder=actor_label(ticket.locked_by),
        )
    ticket.locked_by = agent
    ticket.locked_at = utcnow()
    session.flush()
    history.record(session, ticket=ticket, actor=agent, type="Lock", old="unlock", new="lock")
    if ticket.owner_id != agent.id:
        old = ticket.owner.login if ticket.owner else None
        ticket.owner = agent
        session.flush()
        history.record(
            session,
            ticket=ticket,
            actor=agent,
            type="OwnerUpdate",
            old=old,
            new=agent.login,
            comment="owner set by lock",
        )


def _release_lock(session: Session, *, actor: Actor, ticket: Ticket, comment: str = "") -> None:
    holder = ticket.locked_by.login if ticket.locked_by else None
    ticket.locked_by = None
    ticket.locked_at = None
    session.flush()
    history.record(
        session,
        ticket=ticket,
        actor=actor,
        type="Unlock",
        old=f"lock ({holder})",
        new="unlock",
        comment=comment,
    )


def auto_lock_for_answer(session: Session, *, agent: Agent, ticket: Ticket) -> None:
    """Lock before an agent answers (OTRS auto-lock); refused when someone else holds it."""
    _take_lock(session, agent=agent, ticket=ticket)


def release_expired_lock(session: Session, *, ticket: Ticket) -> None:
    """Release a lock whose queue's unlock timeout has passed (called by the sweep job)."""
    if ticket.is_locked:
        _release_lock(session, actor=SYSTEM, ticket=ticket, comment="unlock timeout of the queue")


# --- checks ----------------------------------------------------------------------------


def _require_changeable(ticket: Ticket) -> None:
    if ticket.merged_into_id is not None:
        raise TicketMerged(N_("ticket %(number)s was merged and takes no more changes"), number=ticket.number)


def _clean_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise ValidationError(N_("invalid title"), errors={"title": [N_("a ticket needs a title")]})
    return title[:MAX_TITLE]


def _check_priority(priority: int) -> None:
    if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 5:
        raise ValidationError(N_("invalid priority"), errors={"priority": [N_("must be 1 to 5")]})


def _check_state_time(state: State, pending_until: datetime | None) -> None:
    if state.is_pending and pending_until is None:
        raise ValidationError(
            N_("pending time missing"),
            errors={
                "pending_until": [
                    FieldMessage(N_("state %(state)s needs a pending-until time"), state=state.name)
                ]
            },
        )
    if pending_until is not None and pending_until.tzinfo is None:
        raise ValidationError(
            N_("invalid pending time"), errors={"pending_until": [N_("give a time with a time zone")]}
        )


def _customer_label(user: CustomerUser | None, company: CustomerCompany | None) -> str | None:
    if user is None and company is None:
        return None
    parts = [user.login if user else "", company.customer_id if company else ""]
    return " / ".join(p for p in parts if p)


def require_not_merged(ticket: Ticket) -> None:
    """Raise :class:`TicketMerged` for a merged ticket (used by the article service)."""
    _require_changeable(ticket)
