"""Statistics: the figures of the statistics page as JSON (one function, two channels).

Readable with an agent token that may read statistics (administrators, ``ro`` on the
``stats`` group); queue figures cover only the queues the token's agent may read.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from marshmallow import fields, validate

from core.db import utcnow
from core.errors import NotFound
from reports import figures
from reports.query import filters_from
from web.api.common import current_agent, db
from web.api.schemas import InputSchema, QueryId, Text
from web.api.smorest import ApiBlueprint

bp = ApiBlueprint("statistics", url_prefix="/api/v1/stats", description="Statistics (read only)")


class StatsQuerySchema(InputSchema):
    """The range and the filters; the range defaults to the last 30 days."""

    start = fields.Date(load_default=None, allow_none=True)
    end = fields.Date(load_default=None, allow_none=True)
    queue = fields.List(QueryId(), load_default=list, validate=validate.Length(max=100))
    agent = QueryId(load_default=None, allow_none=True)
    process = Text(load_default=None, allow_none=True, max_length=255)
    version = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=1_000_000)
    )


def _tables(args: dict[str, Any]) -> dict[str, figures.Table]:
    session = db()
    chosen = filters_from(
        session,
        actor=current_agent(),
        today=utcnow().date(),
        start=args["start"].isoformat() if args["start"] else None,
        end=args["end"].isoformat() if args["end"] else None,
        queue_ids=args["queue"],
        agent_id=args["agent"],
        process_id=args["process"],
        process_version=args["version"],
    )
    return {t.name: t for t in figures.all_tables(session, chosen, now=utcnow())}


@bp.route("", methods=["GET"])
@bp.arguments(StatsQuerySchema, location="query")
@bp.response(200, {"type": "object"})
def all_figures(args: dict[str, Any]) -> ResponseReturnValue:
    """Every figure: name → columns and rows."""
    return jsonify({name: table.as_dict() for name, table in _tables(args).items()})


@bp.route("/<name>", methods=["GET"])
@bp.arguments(StatsQuerySchema, location="query")
@bp.response(200, {"type": "object"})
def one_figure(args: dict[str, Any], name: str) -> ResponseReturnValue:
    """One figure by name (``created_closed_per_day``, ``process_steps`` …)."""
    tables = _tables(args)
    if name not in tables:
        raise NotFound(f"no figure {name!r}")
    return jsonify(tables[name].as_dict())
