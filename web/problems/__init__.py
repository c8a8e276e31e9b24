"""The problem page of a ticket (S9): its incidents, one message to every reporter, closing."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the problem page and its forms."""
    from web.problems.views import bp

    app.register_blueprint(bp)
