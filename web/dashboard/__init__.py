"""The agent's start page: the tickets they may read, newest first."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the dashboard pages."""
    from web.dashboard.views import bp

    app.register_blueprint(bp)
