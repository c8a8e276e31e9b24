"""The agent's inbox (process tasks, claiming, releasing), the lists' bulk actions and saved views."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the inbox pages, the bulk actions and the saved views."""
    from web.inbox.bulk import bp as lists_bp
    from web.inbox.views import bp

    app.register_blueprint(bp)
    app.register_blueprint(lists_bp)
