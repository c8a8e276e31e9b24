"""Read-only directory resources: agents and customers (the queues are in :mod:`web.api.queues`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from desk.agent import service as agent_service
from desk.agent.models import Agent
from desk.customer import service as customer_service
from desk.customer.models import CustomerUser
from web.api.common import db, get_or_404
from web.api.schemas import AgentSchema, CustomerQuerySchema, CustomerSchema
from web.api.smorest import ApiBlueprint

bp = ApiBlueprint("directory", url_prefix="/api/v1", description="Agents and customers (read only)")


@bp.route("/agents", methods=["GET"])
@bp.response(200, AgentSchema(many=True))
def list_agents() -> Sequence[Agent]:
    """All agents by login (for choosing an owner or a responsible agent)."""
    return agent_service.list_agents(db())


@bp.route("/agents/<int:agent_id>", methods=["GET"])
@bp.response(200, AgentSchema)
def get_agent(agent_id: int) -> Agent:
    """One agent."""
    return get_or_404(Agent, agent_id, "agent")


@bp.route("/customers", methods=["GET"])
@bp.arguments(CustomerQuerySchema, location="query")
@bp.response(200, CustomerSchema(many=True))
def find_customers(args: dict[str, Any]) -> list[CustomerUser]:
    """The customer user with this e-mail address (a list of zero or one)."""
    found = customer_service.find_by_email(db(), email=args["email"])
    return [found] if found is not None else []


@bp.route("/customers/<int:customer_id>", methods=["GET"])
@bp.response(200, CustomerSchema)
def get_customer(customer_id: int) -> CustomerUser:
    """One customer user."""
    return get_or_404(CustomerUser, customer_id, "customer")
