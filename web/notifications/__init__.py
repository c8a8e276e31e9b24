"""The bell in the header and the /notifications page (in-app notifications, issue 14)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the page and the bell's context processor."""
    from web.notifications.views import bell, bp

    app.register_blueprint(bp)
    app.context_processor(bell)
