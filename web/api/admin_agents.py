"""Agent, group and role administration over the API: ``/api/v1/admin/…`` (administrators).

The same services as the admin pages (:mod:`desk.agent.admin`, :mod:`desk.agent.grants`);
the token's agent must administer the system (checked before the body is read,
:func:`web.api.common.require_admin_token`, and again by the services).  Agents, groups and
roles are deactivated, never deleted.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from desk.agent import admin as agent_admin
from desk.agent import grants
from desk.agent.models import PERMISSION_TYPES, Agent, Group, Role
from web.api.common import current_agent, db
from web.api.schemas import Id, InputSchema, QueryId, Text
from web.api.smorest import ApiBlueprint

bp = ApiBlueprint(
    "admin_agents", url_prefix="/api/v1/admin", description="Agents, groups, roles (administrators)"
)


class AdminAgentSchema(Schema):
    """An agent as the administration sees it (never a password or token)."""

    id = fields.Integer(required=True)
    login = fields.String(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    email = fields.String(required=True)
    language = fields.String(required=True)
    may_contact_customers = fields.Boolean(required=True)
    read_only = fields.Boolean(required=True)
    active = fields.Boolean(required=True)
    roles = fields.Function(lambda a: sorted(r.name for r in a.roles), required=True)


class AgentListSchema(Schema):
    """One page of agents."""

    agents = fields.List(fields.Nested(AdminAgentSchema), required=True)
    page = fields.Integer(required=True)
    has_next = fields.Boolean(required=True)


class AgentQuerySchema(InputSchema):
    """Search and filters of the agent list."""

    q = Text(load_default="", max_length=200)
    active = fields.Boolean(load_default=None, allow_none=True)
    role_id = QueryId(load_default=None)
    group_id = QueryId(load_default=None)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))


class AgentFieldsSchema(InputSchema):
    """The editable fields of an agent; on PATCH absent fields stay as they are."""

    first_name = Text(max_length=200)
    last_name = Text(max_length=200)
    email = Text(max_length=320)
    language = fields.String(validate=validate.OneOf(agent_admin.LANGUAGES))
    may_contact_customers = fields.Boolean()
    read_only = fields.Boolean()


class AgentCreateSchema(AgentFieldsSchema):
    """A new agent; without a password they sign in only after one is set."""

    login = Text(required=True, max_length=200)
    password = Text(max_length=1000, load_default=None, allow_none=True, load_only=True)


class GroupSchema(Schema):
    """A group."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    comment = fields.String(required=True)
    valid = fields.Boolean(required=True)


class GroupInputSchema(InputSchema):
    """A new group, or changes to one (absent fields stay as they are)."""

    name = Text(max_length=200)
    comment = Text(max_length=10_000)
    valid = fields.Boolean()


class RoleSchema(Schema):
    """A role."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    comment = fields.String(required=True)
    may_contact_customers = fields.Boolean(required=True)
    valid = fields.Boolean(required=True)


class RoleInputSchema(GroupInputSchema):
    """A new role, or changes to one (absent fields stay as they are)."""

    may_contact_customers = fields.Boolean()


class GrantSchema(InputSchema):
    """The permission types held on one group."""

    group_id = Id(required=True)
    permissions = fields.List(
        fields.String(validate=validate.OneOf(PERMISSION_TYPES)),
        required=True,
        validate=validate.Length(max=len(PERMISSION_TYPES)),
    )


class MatrixSchema(InputSchema):
    """A whole matrix: every group with a grant (groups not named hold nothing)."""

    grants = fields.List(fields.Nested(GrantSchema), required=True, validate=validate.Length(max=10_000))


class AgentMatrixSchema(MatrixSchema):
    """The agent's direct grants and, when given, their roles."""

    role_ids = fields.List(Id(), validate=validate.Length(max=1000))


def _matrix(matrix: dict[int, set[str]]) -> list[dict[str, Any]]:
    return [
        {"group_id": group_id, "permissions": [p for p in PERMISSION_TYPES if p in perms]}
        for group_id, perms in sorted(matrix.items())
    ]


def _wanted(args: dict[str, Any]) -> dict[int, list[str]]:
    return {grant["group_id"]: grant["permissions"] for grant in args["grants"]}


@bp.route("/agents", methods=["GET"])
@bp.arguments(AgentQuerySchema, location="query")
@bp.response(200, AgentListSchema)
def list_agents(args: dict[str, Any]) -> agent_admin.AgentPage:
    """The agents matching the search and filters, by login, 25 a page."""
    return agent_admin.search(
        db(),
        actor=current_agent(),
        text=args["q"],
        active=args["active"],
        role_id=args["role_id"],
        group_id=args["group_id"],
        page=args["page"],
    )


@bp.route("/agents", methods=["POST"])
@bp.arguments(AgentCreateSchema)
@bp.response(201, AdminAgentSchema)
def create_agent(args: dict[str, Any]) -> Agent:
    """Create an agent."""
    return agent_admin.create(db(), actor=current_agent(), **args)


@bp.route("/agents/<int:agent_id>", methods=["GET"])
@bp.response(200, AdminAgentSchema)
def get_agent(agent_id: int) -> Agent:
    """One agent."""
    return agent_admin.get(db(), actor=current_agent(), agent_id=agent_id)


@bp.route("/agents/<int:agent_id>", methods=["PATCH"])
@bp.arguments(AgentFieldsSchema)
@bp.response(200, AdminAgentSchema)
def update_agent(args: dict[str, Any], agent_id: int) -> Agent:
    """Change an agent's fields (absent fields stay as they are)."""
    return agent_admin.update(db(), actor=current_agent(), agent_id=agent_id, **args)


@bp.route("/agents/<int:agent_id>/deactivate", methods=["POST"])
@bp.response(200, AdminAgentSchema)
def deactivate_agent(agent_id: int) -> Agent:
    """Deactivate an agent (their sessions end; their history stays theirs)."""
    session, actor = db(), current_agent()
    agent_admin.set_active(session, actor=actor, agent_id=agent_id, active=False)
    return agent_admin.get(session, actor=actor, agent_id=agent_id)


@bp.route("/agents/<int:agent_id>/reactivate", methods=["POST"])
@bp.response(200, AdminAgentSchema)
def reactivate_agent(agent_id: int) -> Agent:
    """Let a deactivated agent sign in again."""
    session, actor = db(), current_agent()
    agent_admin.set_active(session, actor=actor, agent_id=agent_id, active=True)
    return agent_admin.get(session, actor=actor, agent_id=agent_id)


@bp.route("/agents/<int:agent_id>/permissions", methods=["GET"])
@bp.response(200, AgentMatrixSchema)
def get_agent_permissions(agent_id: int) -> dict[str, Any]:
    """The agent's direct grants per group and their roles."""
    session, actor = db(), current_agent()
    agent = agent_admin.get(session, actor=actor, agent_id=agent_id)
    matrix = grants.agent_matrix(session, actor=actor, agent_id=agent_id)
    return {"grants": _matrix(matrix), "role_ids": sorted(r.id for r in agent.roles)}


@bp.route("/agents/<int:agent_id>/permissions", methods=["PUT"])
@bp.arguments(AgentMatrixSchema)
@bp.response(200, AgentMatrixSchema)
def put_agent_permissions(args: dict[str, Any], agent_id: int) -> dict[str, Any]:
    """Replace the agent's direct grants (and their roles, when ``role_ids`` is given)."""
    session, actor = db(), current_agent()
    grants.set_agent_matrix(session, actor=actor, agent_id=agent_id, grants=_wanted(args))
    if "role_ids" in args:
        grants.set_agent_roles(session, actor=actor, agent_id=agent_id, role_ids=args["role_ids"])
    return get_agent_permissions(agent_id)


@bp.route("/groups", methods=["GET"])
@bp.response(200, GroupSchema(many=True))
def list_groups() -> list[Group]:
    """Every group, inactive ones included."""
    return list(grants.list_groups(db(), actor=current_agent()))


@bp.route("/groups", methods=["POST"])
@bp.arguments(GroupInputSchema)
@bp.response(201, GroupSchema)
def create_group(args: dict[str, Any]) -> Group:
    """Create a group."""
    return grants.create_group(
        db(), actor=current_agent(), name=args.get("name", ""), comment=args.get("comment", "")
    )


@bp.route("/groups/<int:group_id>", methods=["PATCH"])
@bp.arguments(GroupInputSchema)
@bp.response(200, GroupSchema)
def update_group(args: dict[str, Any], group_id: int) -> Group:
    """Rename, comment or (de)activate a group."""
    session, actor = db(), current_agent()
    group = grants.get_group(session, actor=actor, group_id=group_id)
    return grants.update_group(
        session,
        actor=actor,
        group_id=group_id,
        name=args.get("name", group.name),
        comment=args.get("comment", group.comment),
        valid=args.get("valid", group.valid),
    )


@bp.route("/roles", methods=["GET"])
@bp.response(200, RoleSchema(many=True))
def list_roles() -> list[Role]:
    """Every role, inactive ones included."""
    return list(grants.list_roles(db(), actor=current_agent()))


@bp.route("/roles", methods=["POST"])
@bp.arguments(RoleInputSchema)
@bp.response(201, RoleSchema)
def create_role(args: dict[str, Any]) -> Role:
    """Create a role."""
    return grants.create_role(
        db(),
        actor=current_agent(),
        name=args.get("name", ""),
        comment=args.get("comment", ""),
        may_contact_customers=args.get("may_contact_customers", True),
    )


@bp.route("/roles/<int:role_id>", methods=["PATCH"])
@bp.arguments(RoleInputSchema)
@bp.response(200, RoleSchema)
def update_role(args: dict[str, Any], role_id: int) -> Role:
    """Rename, comment, change customer contact or (de)activate a role."""
    session, actor = db(), current_agent()
    role = grants.get_role(session, actor=actor, role_id=role_id)
    return grants.update_role(
        session,
        actor=actor,
        role_id=role_id,
        name=args.get("name", role.name),
        comment=args.get("comment", role.comment),
        may_contact_customers=args.get("may_contact_customers", role.may_contact_customers),
        valid=args.get("valid", role.valid),
    )


@bp.route("/roles/<int:role_id>/permissions", methods=["GET"])
@bp.response(200, MatrixSchema)
def get_role_permissions(role_id: int) -> dict[str, Any]:
    """What the role grants per group."""
    session, actor = db(), current_agent()
    grants.get_role(session, actor=actor, role_id=role_id)
    return {"grants": _matrix(grants.role_matrix(session, actor=actor, role_id=role_id))}


@bp.route("/roles/<int:role_id>/permissions", methods=["PUT"])
@bp.arguments(MatrixSchema)
@bp.response(200, MatrixSchema)
def put_role_permissions(args: dict[str, Any], role_id: int) -> dict[str, Any]:
    """Replace what the role grants."""
    grants.set_role_matrix(db(), actor=current_agent(), role_id=role_id, grants=_wanted(args))
    return get_role_permissions(role_id)
