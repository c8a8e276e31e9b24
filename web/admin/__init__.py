"""Administration pages: the IMAP mailboxes and the failed inbound mail."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the administration pages."""
    from web.admin import (  # noqa: F401 (register their routes)
        agents,
        customer_import,
        customers,
        dashboard,
        failed_mail,
        groups,
        password_link,
        queues,
        service_levels,
        services,
        states,
        teams,
        texts,
    )
    from web.admin.views import admin_link, bp

    app.register_blueprint(bp)
    app.register_blueprint(password_link.link_bp)
    app.context_processor(admin_link)
