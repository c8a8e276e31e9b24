"""Time accounting in pages: a template filter giving the minutes booked on a ticket."""

from __future__ import annotations

from flask import Flask

from desk.ticket.models import Ticket
from desk.time_accounting import service as time_accounting
from web.db import get_db


def time_spent(ticket: Ticket) -> int:
    """The minutes booked on ``ticket`` (one ``SUM``; used once per ticket page)."""
    return time_accounting.total_for(get_db(), ticket=ticket)


def init_app(app: Flask) -> None:
    """Register the ``time_spent`` filter."""
    app.add_template_filter(time_spent, "time_spent")
