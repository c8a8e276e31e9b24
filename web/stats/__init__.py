"""The statistics page (/stats): charts, tables, CSV, and the per-step heat map."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the statistics page."""
    from web.stats.views import bp, stats_link

    app.register_blueprint(bp)
    app.context_processor(stats_link)
