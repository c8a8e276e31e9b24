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
from core.errors import NotFound, TicketflowError
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


class AllFiguresQuerySchema(StatsQuerySchema):
    """The filters, and optionally one figure to compute instead of all of them."""

    figure = Text(
        load_default=None,
        allow_none=True,
        max_length=100,
        metadata={"description": "compute only this figure (one of: " + ", ".join(figures.FIGURES) + ")"},
    )


class UnknownFigure(TicketflowError):
    """A client asked for a figure that does not exist."""

    code = "bad_request"
    http_status = 400


def _filters(args: dict[str, Any]) -> figures.Filters:
    """The checked filters (the reader's right to statistics first)."""
    return filters_from(
        db(),
        actor=current_agent(),
        today=utcnow().date(),
        start=args["start"].isoformat() if args["start"] else None,
        end=args["end"].isoformat() if args["end"] else None,
        queue_ids=args["queue"],
        agent_id=args["agent"],
        process_id=args["process"],
        process_version=args["version"],
    )


@bp.route("", methods=["GET"])
@bp.arguments(AllFiguresQuerySchema, location="query")
@bp.response(200, {"type": "object"})
@bp.alt_response(400, description="``figure`` names no figure (the message lists the figures)")
def all_figures(args: dict[str, Any]) -> ResponseReturnValue:
    """Every figure: name → columns and rows; ``?figure=<name>`` computes that one only.

    With ``figure`` the answer has the same shape with one entry, so a client that shows one
    chart does not wait for the other figures.  An unknown name is a 400 naming the known ones.
    """
    name = args.pop("figure")
    chosen = _filters(args)  # the right to statistics first, then the figure's name
    if name is not None and name not in figures.FIGURES:
        known = ", ".join(figures.FIGURES)
        raise UnknownFigure(
            "unknown figure %(name)s; the figures are: %(known)s",
            errors={"figure": [f"one of: {known}"]},
            name=repr(name),
            known=known,
        )
    session, now = db(), utcnow()
    if name is not None:
        return jsonify({name: figures.one_table(session, chosen, name, now=now).as_dict()})
    return jsonify({t.name: t.as_dict() for t in figures.all_tables(session, chosen, now=now)})


@bp.route("/<name>", methods=["GET"])
@bp.arguments(StatsQuerySchema, location="query")
@bp.response(200, {"type": "object"})
def one_figure(args: dict[str, Any], name: str) -> ResponseReturnValue:
    """One figure by name (``created_closed_per_day``, ``process_steps`` …); only it is computed."""
    chosen = _filters(args)
    if name not in figures.FIGURES:
        raise NotFound(f"no figure {name!r}")
    return jsonify(figures.one_table(db(), chosen, name, now=utcnow()).as_dict())
