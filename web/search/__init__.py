"""Ticket search: number, words, customer, queue, state type and creation date."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the search page."""
    from web.search.views import bp

    app.register_blueprint(bp)
