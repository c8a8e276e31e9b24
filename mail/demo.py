"""Demo automatic answers for the queues that receive mail."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.queue.models import Queue
from desk.template.models import AutoResponse

NEW_TICKET_TEXT = """Dear {{ customer.first_name or 'customer' }} {{ customer.last_name }},

thank you for your message. We have opened ticket {{ ticket.number }} for it and will
answer as soon as we can. Please keep the ticket number in the subject when you write again.

Your {{ queue.display_name }} team
"""

REJECT_TEXT = """Dear {{ customer.first_name or 'customer' }},

ticket {{ ticket.number }} is closed and this queue does not take follow-ups to closed
tickets. Please write a new mail without the ticket number if you need more help.
"""


def seed_auto_responses(session: Session) -> None:
    """New-ticket answers for every queue with a system address (idempotent)."""
    for queue in session.scalars(select(Queue).where(Queue.system_address.is_not(None))):
        wanted = (AutoResponse.queue_id == queue.id, AutoResponse.kind == "new_ticket")
        exists = session.scalar(select(AutoResponse.id).where(*wanted))
        if exists is None:
            session.add(
                AutoResponse(
                    queue_id=queue.id,
                    kind="new_ticket",
                    subject="Re: {{ ticket.title }}",
                    text=NEW_TICKET_TEXT,
                )
            )
    session.flush()
