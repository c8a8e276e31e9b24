"""The periodic job of the statistics: the weekly mails."""

from __future__ import annotations

import logging

from core.db import session_scope, utcnow
from core.jobs import periodic
from reports import weekly
from reports.models import ReportSubscription

log = logging.getLogger(__name__)


def send_weekly_reports() -> int:
    """Mail every subscriber whose report is due; one transaction each; returns how many."""
    now = utcnow()
    with session_scope() as session:
        agent_ids = [s.agent_id for s in weekly.due(session, now=now)]
    sent = 0
    for agent_id in agent_ids:
        try:
            with session_scope() as session:
                subscription = session.get(ReportSubscription, agent_id)
                if subscription is not None and weekly.send(session, subscription=subscription, now=now):
                    sent += 1
        except Exception:  # one bad subscriber must not stop the others; tried next hour
            log.exception("weekly report for agent %s failed", agent_id)
    return sent


@periodic(every_seconds=300)
def weekly_reports() -> None:
    """The check (every five minutes) behind :func:`send_weekly_reports`."""
    send_weekly_reports()
