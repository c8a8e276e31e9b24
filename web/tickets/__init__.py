"""The ticket view: the thread, history, process tasks and every action on a ticket."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the ticket pages and actions."""
    from web.tickets import actions, views

    app.register_blueprint(views.bp)
    app.register_blueprint(actions.bp)
