"""The weekly statistics mail: who gets it, and what it says.

An agent who may read statistics subscribes (the statistics page has the switch, an
administrator may subscribe others); the job (every five minutes) mails every subscriber whose last mail is
a week old the figures of the last seven days, over the queues that agent may read, through
the outbox like every other mail, with every figure as an XLSX workbook attached (the
statistics page's download; stored once as a blob, so a retry sends the same file).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.errors import NotFound, ValidationError
from core.i18n import N_, translator
from desk.actor import Actor
from desk.agent.models import Agent
from desk.outbox import service as outbox
from desk.permission import service as permissions
from desk.queue.identity import desk_address
from reports import access, export, figures
from reports.models import ReportSubscription
from reports.query import filters_from

WEEK = timedelta(days=7)
SHOWN = (
    "created_closed_per_day",
    "open_by_queue",
    "response_and_solution_times",
    "sla_breaches",
    "process_steps",
)


def _target(session: Session, actor: Actor, agent_id: int | None) -> Agent:
    if agent_id is None or (isinstance(actor, Agent) and actor.id == agent_id):
        if not isinstance(actor, Agent):
            raise NotFound("no such agent")
        access.require_read(session, actor)
        return actor
    permissions.require_admin(session, actor)
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise NotFound(N_("agent %(id)s does not exist"), id=agent_id)
    if not access.may_read(session, agent):
        raise ValidationError("cannot subscribe", errors={"agent": ["this agent may not read statistics"]})
    return agent


def is_subscribed(session: Session, agent: Agent) -> bool:
    """Whether ``agent`` gets the weekly mail."""
    return session.get(ReportSubscription, agent.id) is not None


def subscribe(session: Session, *, actor: Actor, agent_id: int | None = None) -> ReportSubscription:
    """Subscribe the actor (or, for an administrator, another agent who may read statistics)."""
    agent = _target(session, actor, agent_id)
    found = session.get(ReportSubscription, agent.id)
    if found is None:
        found = ReportSubscription(agent_id=agent.id)
        session.add(found)
        session.flush()
    return found


def unsubscribe(session: Session, *, actor: Actor, agent_id: int | None = None) -> None:
    """Stop the weekly mail."""
    agent = _target(session, actor, agent_id)
    found = session.get(ReportSubscription, agent.id)
    if found is not None:
        session.delete(found)
        session.flush()


def due(session: Session, *, now: datetime) -> Sequence[ReportSubscription]:
    """Subscriptions whose last mail is at least a week old (or never sent)."""
    return session.scalars(
        select(ReportSubscription)
        .where(or_(ReportSubscription.last_sent_at.is_(None), ReportSubscription.last_sent_at <= now - WEEK))
        .order_by(ReportSubscription.agent_id)
    ).all()


# The titles and column headers of the statistics page (web/templates/stats/index.html):
# the same message ids, so the mail reads like the page in the reader's language.
TITLES = {
    "created_closed_per_day": N_("Tickets created and closed per day"),
    "open_by_queue": N_("Open tickets by queue"),
    "response_and_solution_times": N_("First response and solution times (minutes)"),
    "sla_breaches": N_("Service-level breaches"),
    "process_steps": N_("Where tickets wait: process steps"),
}
HEADERS = {
    "day": N_("Day"),
    "created": N_("Created"),
    "closed": N_("Closed"),
    "queue": N_("Queue"),
    "open": N_("Open"),
    "answered": N_("Answered"),
    "first_response_median_min": N_("First response, median"),
    "first_response_p90_min": N_("First response, 90th percentile"),
    "solved": N_("Solved"),
    "solution_median_min": N_("Solution, median"),
    "solution_p90_min": N_("Solution, 90th percentile"),
    "first_response": N_("First response"),
    "update": N_("Update"),
    "solution": N_("Solution"),
    "process": N_("Process"),
    "step": N_("Step"),
    "name": N_("Name"),
    "waiting_now": N_("Waiting now"),
    "median_min": N_("Median (min)"),
    "p90_min": N_("90th percentile (min)"),
    "rework_instances": N_("Rework"),
}


def compose(
    tables: Sequence[figures.Table],
    *,
    start: str,
    end: str,
    language: str | None = None,
    workbook: str | None = None,
) -> str:
    """The mail's text in ``language`` (the reader's): each figure as a small fixed-width table.

    ``workbook``: the file name of the XLSX attached to the mail, which the text points to.
    """
    _ = translator(language)
    lines = [_("Ticketflow statistics from %(start)s to %(end)s.", start=start, end=end), ""]
    for table in tables:
        if table.name not in SHOWN:
            continue
        title = TITLES.get(table.name)
        lines.append(_(title) if title else table.name.replace("_", " ").capitalize())
        lines.append("  " + " | ".join(_(HEADERS[c]) if c in HEADERS else c for c in table.columns))
        for row in table.rows[:20] or [(_("no data"),)]:
            lines.append("  " + " | ".join("–" if v is None else str(v) for v in row))
        lines.append("")
    lines.append(_("The full figures, charts and CSV files are on the statistics page."))
    if workbook:
        lines.append(
            _("Every figure is also attached to this mail as an Excel workbook (%(file)s).", file=workbook)
        )
    return "\n".join(lines)


def send(session: Session, *, subscription: ReportSubscription, now: datetime) -> bool:
    """Mail one subscriber's report; False (and the subscription kept) when it cannot go."""
    agent = session.get(Agent, subscription.agent_id)
    sender = desk_address(session)
    if agent is None or not agent.active or not agent.email or sender is None:
        return False
    if not access.may_read(session, agent):
        return False
    chosen = filters_from(session, actor=agent, today=now.date() - timedelta(days=1))
    chosen = figures.Filters(
        start=now.date() - timedelta(days=7),
        end=now.date() - timedelta(days=1),
        queue_ids=chosen.queue_ids,
    )
    tables = figures.all_tables(session, chosen, now=now)
    _ = translator(agent.language)
    end = chosen.end.isoformat()
    workbook = f"statistics-{chosen.start:%Y%m%d}-{chosen.end:%Y%m%d}.xlsx"
    outbox.queue_mail(
        session,
        ticket=None,
        article=None,
        from_addr=sender,
        to_addr=agent.email,
        # In the subscriber's language; the dates stay ISO (the same in every language).
        subject=_("Weekly statistics %(start)s – %(end)s", start=chosen.start.isoformat(), end=end),
        body_text=compose(
            tables,
            start=chosen.start.isoformat(),
            end=chosen.end.isoformat(),
            language=agent.language,
            workbook=workbook,
        ),
        auto_submitted="auto-generated",
        attachment=(workbook, export.to_xlsx(tables)),
    )
    subscription.last_sent_at = now
    session.flush()
    return True
