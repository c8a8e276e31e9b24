"""The agent's availability (S11): the switch in the header and what pickers need to mark."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the availability switch and its template helpers."""
    from web.teams.views import bp, template_helpers

    app.register_blueprint(bp)
    app.context_processor(template_helpers)
