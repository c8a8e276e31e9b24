"""Mailing an agent a link to choose a password (the administration's page and the CLI)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from desk.actor import Actor
from desk.agent import password_link
from desk.agent.models import Agent
from desk.outbox import service as outbox
from desk.queue import identity

# The link's mail for an agent and the token: (subject, text), in the agent's language.
LinkMail = Callable[[Agent, str], tuple[str, str]]


def send_password_link(session: Session, *, actor: Actor, agent_id: int, compose: LinkMail) -> Agent:
    """Create a set-password link for the agent and queue its mail in the outbox."""
    agent, token = password_link.create_link(session, actor=actor, agent_id=agent_id)
    subject, text = compose(agent, token)
    outbox.queue_mail(
        session,
        ticket=None,
        article=None,
        from_addr=identity.desk_from(session),
        to_addr=agent.email,
        subject=subject,
        body_text=text,
        auto_submitted="auto-generated",
    )
    return agent
