"""Demo processes: deploy the default diagrams and start them for the demo tickets."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.actor import SYSTEM
from desk.ticket.models import Ticket
from engine import definitions, runtime
from engine.models import ProcessInstance

# Demo tickets of the sports club's inbox follow the donation process (S10).
CLUB_INBOX = "General"


def seed_processes(session: Session) -> int:
    """Deploy what of ``bpmn/`` is not deployed yet, start a process for every ticket without one.

    Returns how many were started.
    """
    definitions.deploy_directory(session, actor=SYSTEM, only_missing=True)
    deployed = {v.process_id for v in definitions.list_versions(session)}
    with_instance = select(ProcessInstance.ticket_id)
    started = 0
    for ticket in session.scalars(select(Ticket).where(Ticket.id.not_in(with_instance)).order_by(Ticket.id)):
        process_id = "donation" if ticket.queue.name == CLUB_INBOX else runtime.DEFAULT_PROCESS
        if process_id in deployed and ticket.state.type not in ("closed", "merged"):
            runtime.start(session, actor=SYSTEM, ticket=ticket, process_id=process_id)
            started += 1
    return started
