"""Escalation due times in pages: a template filter saying whether one has passed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask

from core.db import utcnow

SOON = timedelta(hours=1)


def due_state(due: datetime | None) -> str:
    """``breached`` when ``due`` has passed, ``soon`` within the hour, else ``""``."""
    if due is None:
        return ""
    moment = due if due.tzinfo is not None else due.replace(tzinfo=UTC)
    now = utcnow()
    if moment <= now:
        return "breached"
    return "soon" if moment - now <= SOON else ""


def init_app(app: Flask) -> None:
    """Register the ``due_state`` filter."""
    app.add_template_filter(due_state, "due_state")
