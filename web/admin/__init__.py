"""Administration pages: the IMAP mailboxes and the failed inbound mail."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the administration pages."""
    from web.admin import failed_mail  # noqa: F401 (registers its routes on the blueprint)
    from web.admin.views import admin_link, bp

    app.register_blueprint(bp)
    app.context_processor(admin_link)
