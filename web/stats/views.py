"""Statistics views: thin; the figures come from :mod:`reports` (the API uses the same)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from core.db import utcnow
from core.errors import ValidationError
from desk.agent.models import Agent
from desk.permission import service as permissions
from desk.queue import service as queue_service
from engine import definitions
from reports import access, figures, weekly
from reports.export import to_csv, to_xlsx
from reports.query import from_args
from web.auth import login_required
from web.auth.users import current_agent
from web.db import get_db

bp = Blueprint("stats", __name__, url_prefix="/stats")


def stats_link() -> dict[str, object]:
    """``may_read_stats()`` for the header link."""

    def may_read_stats() -> bool:
        return access.may_read(get_db(), current_agent())

    return {"may_read_stats": may_read_stats}


def _filters() -> figures.Filters:
    session = get_db()
    queue_ids = [int(v) for v in request.args.getlist("queue") if v.isdigit() and len(v) < 10][:100]
    return from_args(
        session, actor=current_agent(), today=utcnow().date(), args=request.args, queue_ids=queue_ids
    )


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    """The page: filters, every figure as a chart and a table, CSV links, the heat map."""
    session = get_db()
    agent = current_agent()
    errors: dict[str, list[str]] = {}
    status = 200
    try:
        chosen = _filters()
        tables = figures.all_tables(session, chosen, now=utcnow())
    except ValidationError as exc:
        access.require_read(session, agent)
        errors, status = exc.errors, 422
        chosen = from_args(session, actor=agent, today=utcnow().date(), args={}, queue_ids=())
        tables = figures.all_tables(session, chosen, now=utcnow())
    readable = (
        None if permissions.is_admin(session, agent) else permissions.queue_ids_with(session, agent, "ro")
    )
    queues = [q for q in queue_service.list_queues(session) if readable is None or q.id in readable]
    processes = sorted({v.process_id for v in definitions.list_versions(session)})
    agents = session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.login)).all()
    page = render_template(
        "stats/index.html",
        tables={t.name: t for t in tables},
        filters=chosen,
        args=request.args,
        errors=errors,
        queues=queues,
        processes=processes,
        agents=agents,
        query=request.query_string.decode("ascii", "replace"),
        subscribed=weekly.is_subscribed(session, agent) if isinstance(agent, Agent) else False,
    )
    return page, status


@bp.post("/subscription")
@login_required
def subscription() -> ResponseReturnValue:
    """Switch the weekly statistics mail on or off for the signed-in agent."""
    session = get_db()
    if request.form.get("weekly") == "on":
        weekly.subscribe(session, actor=current_agent())
        flash("stats_subscribed", "success")
    else:
        weekly.unsubscribe(session, actor=current_agent())
        flash("stats_unsubscribed", "success")
    return redirect(url_for("stats.index"), code=303)


@bp.get("/data.json")
@login_required
def data() -> ResponseReturnValue:
    """Every figure as JSON, for the charts."""
    session = get_db()
    tables = figures.all_tables(session, _filters(), now=utcnow())
    return jsonify({t.name: t.as_dict() for t in tables})


@bp.get("/<name>.csv")
@login_required
def csv(name: str) -> ResponseReturnValue:
    """One figure as CSV."""
    session = get_db()
    chosen = _filters()  # the right to statistics and the filters first
    if name not in figures.FIGURES:
        abort(404)
    return Response(
        to_csv(figures.one_table(session, chosen, name, now=utcnow())),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="ticketflow-{name}.csv"'},
    )


@bp.get("/statistics.xlsx")
@login_required
def xlsx() -> ResponseReturnValue:
    """Every figure as one workbook, a sheet each."""
    session = get_db()
    tables = figures.all_tables(session, _filters(), now=utcnow())
    return Response(
        to_xlsx(tables),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="ticketflow-statistics.xlsx"'},
    )


@bp.get("/process/<process_id>.bpmn")
@login_required
def process_diagram(process_id: str) -> ResponseReturnValue:
    """The newest version's diagram of a process, for the heat map."""
    session = get_db()
    access.require_read(session, current_agent())
    version = definitions.latest_version(session, process_id[:255])
    if version is None:
        abort(404)
    return Response(version.bpmn_xml, mimetype="application/xml")
