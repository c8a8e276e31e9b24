"""The agent's inbox: the process tasks they may work on, claiming and releasing them."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the inbox pages."""
    from web.inbox.views import bp

    app.register_blueprint(bp)
