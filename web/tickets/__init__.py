"""The ticket view (thread, history, process diagram and tasks, every action) and new phone tickets."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the ticket pages and actions."""
    from web.tickets import actions, phone, pickers, views

    app.register_blueprint(views.bp)
    app.register_blueprint(actions.bp)
    app.register_blueprint(phone.bp)
    app.register_blueprint(pickers.bp)
