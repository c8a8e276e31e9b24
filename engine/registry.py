"""What diagrams may call: service-task operators and the lane rules, registered by name.

The Python behind the diagrams lives in :mod:`processes`, which declares its operators with
:func:`operator` and its lane rules with :func:`set_lane_resolver`; the composition root
(``ticketflow.bootstrap()``) loads those declarations in every process.  The engine never
imports ``processes``: it only looks names up, so a diagram can call nothing that is not
registered, and an unknown operator is a validation error when the diagram is deployed.  A
lookup in a process that was never composed fails with a message saying so, rather than
calling a known operator unknown.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from core.composition import require_composed
from desk.ticket.models import Ticket

# The task-data key in which the runtime records who completed a user task.
COMPLETED_BY = "completed_by_agent_id"


@dataclass(frozen=True)
class OperatorContext:
    """What an operator gets besides its parameters."""

    session: Session
    ticket: Ticket
    instance_id: int
    task_name: str
    data: Mapping[str, Any]


# An operator returns any JSON value; the service task stores it in its result variable.
OperatorFunc = Callable[..., Any]


@dataclass(frozen=True)
class OperatorSpec:
    """A registered operator and the parameters it accepts."""

    name: str
    func: OperatorFunc
    required: frozenset[str]
    optional: frozenset[str]
    description: str


_operators: dict[str, OperatorSpec] = {}


def operator(name: str) -> Callable[[OperatorFunc], OperatorFunc]:
    """Register ``func(ctx, **params)`` as the service-task operator ``name``."""

    def register(func: OperatorFunc) -> OperatorFunc:
        params = list(inspect.signature(func).parameters.values())[1:]
        _operators[name] = OperatorSpec(
            name=name,
            func=func,
            required=frozenset(p.name for p in params if p.default is inspect.Parameter.empty),
            optional=frozenset(p.name for p in params if p.default is not inspect.Parameter.empty),
            description=(inspect.getdoc(func) or "").split("\n")[0],
        )
        return func

    return register


def get_operator(name: str) -> OperatorSpec | None:
    """The operator registered as ``name``, if any."""
    load()
    return _operators.get(name)


def operators() -> dict[str, OperatorSpec]:
    """Every registered operator by name (for the designer and validation)."""
    load()
    return dict(_operators)


@dataclass(frozen=True)
class Candidates:
    """Who may work on a human task."""

    queue_id: int | None = None
    role_id: int | None = None
    agent_id: int | None = None
    excluded_agent_id: int | None = None
    # The lane is "the ticket's queue": the candidates follow the ticket when it moves.
    follows_ticket_queue: bool = False


class LaneResolver(Protocol):
    """Turns a task's lane, properties and data into its candidates."""

    def __call__(
        self,
        session: Session,
        *,
        ticket: Ticket,
        lane: str | None,
        properties: Mapping[str, str],
        data: Mapping[str, Any],
    ) -> Candidates: ...


_lane_resolver: list[LaneResolver] = []


def set_lane_resolver(resolver: LaneResolver) -> LaneResolver:
    """Install the lane rules (``processes.lanes`` declares them; bootstrap loads it)."""
    _lane_resolver[:] = [resolver]
    return resolver


def resolve_lane(
    session: Session,
    *,
    ticket: Ticket,
    lane: str | None,
    properties: Mapping[str, str],
    data: Mapping[str, Any],
) -> Candidates:
    """Candidates of a task by the installed lane rules (default: the ticket's queue)."""
    load()
    if not _lane_resolver:
        return Candidates(follows_ticket_queue=True)
    return _lane_resolver[0](session, ticket=ticket, lane=lane, properties=properties, data=data)


def load() -> None:
    """Make sure the operators and lane rules are registered (by the composition root)."""
    require_composed("the process engine's operator and lane registry")
