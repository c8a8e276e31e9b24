"""In-app notifications the use cases write: who hears what, in which words.

Every message is a whole sentence (a msgid with named placeholders) stored untranslated
with its arguments; the bell and the ``/notifications`` page translate it for the reader.
Nobody is told about their own doing (an agent who takes a ticket needs no note of it).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from core.i18n import N_
from desk.actor import Actor
from desk.agent.models import Agent
from desk.notifications import service as notifications
from desk.ticket.models import Ticket

OWNER = N_("%(actor)s made you the owner of ticket %(number)s “%(title)s”.")
RESPONSIBLE = N_("%(actor)s made you responsible for ticket %(number)s “%(title)s”.")
CUSTOMER_REPLY = N_("%(customer)s answered ticket %(number)s “%(title)s”.")


def _name(actor: Actor) -> str:
    return actor.full_name if isinstance(actor, Agent) else "Ticketflow"


def assigned(session: Session, *, actor: Actor, ticket: Ticket, agent: Agent, role: str) -> None:
    """Tell ``agent`` they were made the ticket's owner or responsible (``role``)."""
    if isinstance(actor, Agent) and actor.id == agent.id:
        return
    notifications.notify(
        session,
        agents=[agent],
        ticket=ticket,
        kind=role,
        text=OWNER if role == "owner" else RESPONSIBLE,
        args={"actor": _name(actor), "number": ticket.number, "title": ticket.title},
    )


def customer_answered(session: Session, *, ticket: Ticket, customer_name: str) -> None:
    """Tell the ticket's owner (and responsible) that the customer wrote."""
    people = [a for a in (ticket.owner, ticket.responsible) if a is not None]
    notifications.notify(
        session,
        agents=people,
        ticket=ticket,
        kind="customer_reply",
        text=CUSTOMER_REPLY,
        args={"customer": customer_name, "number": ticket.number, "title": ticket.title},
    )


def escalated(
    session: Session, *, agents: Iterable[Agent], ticket: Ticket, kind: str, text: str, when: str
) -> None:
    """Tell ``agents`` of an escalation warning or breach (``text`` from flows.escalation)."""
    notifications.notify(
        session,
        agents=agents,
        ticket=ticket,
        kind=f"escalation_{kind}",
        text=text,
        args={"number": ticket.number, "when": when},
    )
