"""Service-task operators: what a diagram's service tasks may do to a ticket.

Each operator acts as the system through the ``desk`` services (so history is written and
nothing is deleted) and returns a JSON value that the service task stores in its result
variable.  Mail goes into the outbox in the same transaction; the mail package delivers it.
A diagram names an operator by id, e.g.
``<spiffworkflow:serviceTaskOperator id="move_queue">`` with a ``queue`` parameter.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from core.db import utcnow
from core.errors import FieldMessage, NotFound, ValidationError
from core.i18n import N_, translator
from desk.actor import SYSTEM, Actor
from desk.agent import service as agents
from desk.agent.models import Agent
from desk.article import reply
from desk.queue import service as queues
from desk.ticket import states
from engine.registry import COMPLETED_BY, OperatorContext, operator
from engine.timers import parse_duration
from flows import note as note_flow
from flows import reply as reply_flow
from flows import state as state_flow
from flows import ticket_fields as fields


def _agent_or_system(ctx: OperatorContext, agent_id: object) -> Actor:
    if isinstance(agent_id, int) and not isinstance(agent_id, bool):
        agent = ctx.session.get(Agent, agent_id)
        if agent is not None:
            return agent
    return SYSTEM


@operator("move_queue")
def move_queue(ctx: OperatorContext, queue: str, as_agent: int | None = None) -> str:
    """Move the ticket to the queue with this path (e.g. ``2nd level``).

    With ``as_agent`` (e.g. ``completed_by_agent_id`` right after a triage form) the move is
    made as that agent, so their ``move_into`` rights apply; otherwise as the system.
    """
    target = queues.get_queue(ctx.session, name=queue)
    fields.move(
        ctx.session,
        actor=_agent_or_system(ctx, as_agent),
        ticket=ctx.ticket,
        queue=target,
        comment=f"process step {ctx.task_name}",
    )
    return target.name


@operator("set_priority")
def set_priority(ctx: OperatorContext, priority: int) -> int:
    """Set the ticket's priority (1 very low … 5 very high), e.g. from a decision table."""
    if not isinstance(priority, int) or isinstance(priority, bool) or not 1 <= priority <= 5:
        raise ValidationError(
            N_("priority out of range"),
            errors={
                "priority": [FieldMessage(N_("a priority is 1 to 5, not %(priority)r"), priority=priority)]
            },
        )
    fields.set_priority(ctx.session, actor=SYSTEM, ticket=ctx.ticket, priority=priority)
    return priority


@operator("set_state")
def set_state(ctx: OperatorContext, state: str, pending_for: str | None = None) -> str:
    """Set the ticket's state; pending states wait ``pending_for`` (an ISO duration, e.g. P3D).

    The pending time is the ticket's: when it passes, the pending-time sweep sends the
    process ``pending_time_reached`` (and an agent who changes the time moves that moment).
    """
    target = states.get_state(ctx.session, state)
    until = utcnow() + parse_duration(pending_for) if target.is_pending and pending_for else None
    if target.is_pending and until is None:
        raise ValidationError(
            N_("pending time missing"),
            errors={"pending_for": [FieldMessage(N_("%(state)s needs pending_for"), state=state)]},
        )
    state_flow.set_state(
        ctx.session,
        actor=SYSTEM,
        ticket=ctx.ticket,
        state=target,
        pending_until=until,
        from_instance_id=ctx.instance_id,
    )
    return target.name


@operator("close_ticket")
def close_ticket(ctx: OperatorContext, state: str = "closed successful") -> str:
    """Close the ticket (``closed successful`` unless another closed state is named)."""
    target = states.get_state(ctx.session, state)
    state_flow.close(
        ctx.session,
        actor=SYSTEM,
        ticket=ctx.ticket,
        state=target,
        comment=f"process step {ctx.task_name}",
        from_instance_id=ctx.instance_id,
    )
    return target.name


@operator("reopen_ticket")
def reopen_ticket(ctx: OperatorContext) -> str:
    """Set a closed or pending ticket back to open (its pending time goes with it)."""
    if ctx.ticket.state.type != "open":
        state_flow.set_state(
            ctx.session,
            actor=SYSTEM,
            ticket=ctx.ticket,
            state=states.first_state_of_type(ctx.session, "open"),
            from_instance_id=ctx.instance_id,
        )
    return ctx.ticket.state.name


@operator("add_note")
def add_note(ctx: OperatorContext, text: str, subject: str = "", as_agent: int | None = None) -> int | None:
    """Add an internal note (nothing when ``text`` is empty); returns the article id.

    With ``as_agent`` (``completed_by_agent_id``: the text was written in a task form) the note
    is that agent's, authored by them in the thread, and needs their ``note`` right on the
    ticket's queue: without it the step fails and the task stays open, because a note must not
    pretend to come from someone else.  Without ``as_agent`` the system writes it.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    author = _agent_or_system(ctx, as_agent)
    article = note_flow.note(
        ctx.session, actor=author, ticket=ctx.ticket, subject=subject or ctx.task_name, body_text=text
    )
    return article.id


@operator("mail_customer")
def mail_customer(ctx: OperatorContext, text: str, subject: str = "", as_agent: int | None = None) -> int:
    """Mail ``text`` to the ticket's customer; returns the (visible) e-mail article's id.

    With ``as_agent`` (``completed_by_agent_id``) the mail is that agent's reply: it needs
    ``rw`` and *may contact customers*, so an agent who may not write to customers cannot make
    a process do it for them (the step fails, the task stays open).  Without it the system
    sends it, as with the acknowledgement.
    """
    author = _agent_or_system(ctx, as_agent)
    if as_agent is not None and not isinstance(author, Agent):
        raise ValidationError(
            N_("unknown agent"),
            errors={"as_agent": [FieldMessage(N_("no agent with id %(id)r"), id=as_agent)]},
        )
    article = reply_flow.reply(
        ctx.session, actor=author, ticket=ctx.ticket, body_text=str(text or ""), subject=subject
    )
    return article.id


@operator("ask_customer")
def ask_customer(
    ctx: OperatorContext,
    question: str,
    as_agent: int | None = None,
    reminder_days: int | None = None,
    pending_for: str | None = "P3D",
) -> int:
    """Mail ``question`` to the customer and wait: the ticket becomes *pending reminder*.

    The reminder comes after ``reminder_days`` days (chosen in the form), else after
    ``pending_for`` (an ISO duration).  The mail is the agent's (``as_agent``), with the same
    rights as :func:`mail_customer`.  Returns the article id.
    """
    customer = ctx.ticket.customer_user
    _ = translator(customer.language if customer is not None else None)
    article_id: int = mail_customer(
        ctx, text=question, subject=_("Question about your request"), as_agent=as_agent
    )
    if isinstance(reminder_days, int) and not isinstance(reminder_days, bool):
        if not 1 <= reminder_days <= 90:
            raise ValidationError(
                N_("invalid reminder"), errors={"reminder_days": [N_("must be 1 to 90 days")]}
            )
        wait = f"P{reminder_days}D"
    elif pending_for:
        wait = str(pending_for)
    else:
        raise ValidationError(
            N_("no reminder time"), errors={"reminder_days": [N_("choose when to be reminded")]}
        )
    set_state(ctx, state="pending reminder", pending_for=wait)
    return article_id


@operator("find_agent")
def find_agent(ctx: OperatorContext, login: str | None = None) -> int | None:
    """The id of the agent with this login (None for an empty login), e.g. a chosen consultant.

    A login that names nobody is the agent's typo: a :class:`ValidationError`, so the form
    that gave it fails (422) and nothing changes.  Whether the agent found may work on the
    task that follows (read the ticket, not an observer) is checked where that task's
    candidates are resolved (:mod:`processes.lanes`), which also knows who else could.
    """
    if not login or not str(login).strip():
        return None
    name = str(login).strip()
    try:
        return agents.get_agent(ctx.session, login=name).id
    except NotFound:
        message = FieldMessage(N_("there is no agent with the login %(login)r"), login=name)
        raise ValidationError(message.msgid, errors={"_form": [message]}, **message.params) from None


@operator("send_acknowledgement")
def send_acknowledgement(ctx: OperatorContext, text: str) -> int | None:
    """Thank the customer by mail (marked ``Auto-Submitted: auto-replied``); returns the article id."""
    customer = ctx.ticket.customer_user
    if customer is None or not customer.email:
        return None
    article = reply.mail_article(
        ctx.session,
        actor=SYSTEM,
        ticket=ctx.ticket,
        to_addr=customer.email,
        subject=reply.reply_subject(ctx.ticket, ctx.ticket.title),
        body_text=text,
        visible_for_customer=True,
        auto_submitted="auto-replied",
    )
    return article.id


_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


@operator("forward_to_specialist")
def forward_to_specialist(ctx: OperatorContext, to: str, question: str) -> str:
    """Mail the ticket's question to an outside specialist; returns the request token.

    The token is in the subject, so the reply can be matched to this request and delivered
    to the waiting process as ``specialist_replied``.  The forward is an internal article:
    the customer does not see it.  It is sent as the agent who completed the task that
    asked (``completed_by_agent_id``, e.g. the Work form), so an agent who may not contact
    customers cannot reach the customer by naming their address as the "specialist"; the
    refusal is a :class:`PermissionDenied` and nothing is written.
    """
    if not isinstance(to, str) or not _EMAIL.match(to.strip()):
        raise ValidationError(
            N_("invalid address"),
            errors={"to": [FieldMessage(N_("%(address)r is not an e-mail address"), address=to)]},
        )
    actor = _agent_or_system(ctx, ctx.data.get(COMPLETED_BY))
    token = secrets.token_hex(6)
    reply.mail_article(
        ctx.session,
        actor=actor,
        ticket=ctx.ticket,
        to_addr=to.strip(),
        subject=reply.reply_subject(ctx.ticket, f"[Req#{token}] {ctx.ticket.title}"),
        body_text=f"{question}\n\n-- \nPlease answer by replying to this mail; keep the subject as it is.",
        visible_for_customer=False,
        sender_type="agent" if isinstance(actor, Agent) else None,
    )
    return token


def registered() -> dict[str, Any]:
    """The operators of this module by name (for documentation)."""
    from engine.registry import operators

    return dict(operators())
