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
from core.errors import ValidationError
from desk.actor import SYSTEM, Actor
from desk.agent import service as agents
from desk.agent.models import Agent
from desk.article import reply
from desk.article import service as articles
from desk.queue import service as queues
from desk.ticket import service as tickets
from desk.ticket import states
from engine.registry import OperatorContext, operator
from engine.timers import parse_duration


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
    tickets.move(
        ctx.session,
        actor=_agent_or_system(ctx, as_agent),
        ticket=ctx.ticket,
        queue=target,
        comment=f"process step {ctx.task_name}",
    )
    return target.name


@operator("set_state")
def set_state(ctx: OperatorContext, state: str, pending_for: str | None = None) -> str:
    """Set the ticket's state; pending states wait ``pending_for`` (an ISO duration, e.g. P3D)."""
    target = states.get_state(ctx.session, state)
    until = utcnow() + parse_duration(pending_for) if target.is_pending and pending_for else None
    if target.is_pending and until is None:
        raise ValidationError("pending time missing", errors={"pending_for": [f"{state} needs pending_for"]})
    tickets.set_state(ctx.session, actor=SYSTEM, ticket=ctx.ticket, state=target, pending_until=until)
    return target.name


@operator("close_ticket")
def close_ticket(ctx: OperatorContext, state: str = "closed successful") -> str:
    """Close the ticket (``closed successful`` unless another closed state is named)."""
    target = states.get_state(ctx.session, state)
    if target.type != "closed":
        raise ValidationError("not a closed state", errors={"state": [f"{state} is not a closed state"]})
    tickets.set_state(ctx.session, actor=SYSTEM, ticket=ctx.ticket, state=target)
    return target.name


@operator("reopen_ticket")
def reopen_ticket(ctx: OperatorContext) -> str:
    """Set a closed or pending ticket back to open."""
    open_state = states.first_state_of_type(ctx.session, "open")
    if ctx.ticket.state.type != "open":
        tickets.set_state(ctx.session, actor=SYSTEM, ticket=ctx.ticket, state=open_state)
    return ctx.ticket.state.name


@operator("add_note")
def add_note(ctx: OperatorContext, text: str, subject: str = "") -> int | None:
    """Add an internal note (nothing when ``text`` is empty); returns the article id."""
    if not isinstance(text, str) or not text.strip():
        return None
    article = articles.add_article(
        ctx.session,
        actor=SYSTEM,
        ticket=ctx.ticket,
        channel="note",
        sender_type="system",
        visible_for_customer=False,
        subject=subject or ctx.task_name,
        body_text=text,
    )
    return article.id


@operator("find_agent")
def find_agent(ctx: OperatorContext, login: str | None = None) -> int | None:
    """The id of the agent with this login (None for an empty login), e.g. a chosen consultant."""
    if not login:
        return None
    return agents.get_agent(ctx.session, login=str(login).strip()).id


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
    the customer does not see it.
    """
    if not isinstance(to, str) or not _EMAIL.match(to.strip()):
        raise ValidationError("invalid address", errors={"to": [f"{to!r} is not an e-mail address"]})
    token = secrets.token_hex(6)
    reply.mail_article(
        ctx.session,
        actor=SYSTEM,
        ticket=ctx.ticket,
        to_addr=to.strip(),
        subject=reply.reply_subject(ctx.ticket, f"[Req#{token}] {ctx.ticket.title}"),
        body_text=f"{question}\n\n-- \nPlease answer by replying to this mail; keep the subject as it is.",
        visible_for_customer=False,
    )
    return token


def registered() -> dict[str, Any]:
    """The operators of this module by name (for documentation)."""
    from engine.registry import operators

    return dict(operators())
