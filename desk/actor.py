"""Who is acting: an agent, a customer user, or the system (processes, mail, timers)."""

from __future__ import annotations

from dataclasses import dataclass

from desk.agent.models import Agent
from desk.customer.models import CustomerUser


@dataclass(frozen=True)
class SystemActor:
    """The product itself acting: BPMN service tasks, the mail gateway, timers."""

    name: str = "system"


SYSTEM = SystemActor()

Actor = Agent | CustomerUser | SystemActor


def actor_kind(actor: Actor) -> str:
    """``agent``, ``customer`` or ``system``."""
    if isinstance(actor, Agent):
        return "agent"
    if isinstance(actor, CustomerUser):
        return "customer"
    return "system"


def actor_label(actor: Actor) -> str:
    """A human name for history and messages."""
    if isinstance(actor, Agent):
        return f"{actor.full_name} ({actor.login})"
    if isinstance(actor, CustomerUser):
        return f"{actor.full_name} <{actor.email}>"
    return actor.name
