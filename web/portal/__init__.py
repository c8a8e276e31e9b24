"""The customer portal (``/portal``): customers sign in, read and write their tickets.

Its own blueprint, layout and session: the portal cookie (``ticketflow_portal``, scoped to
``/portal``) names a :class:`desk.portal.models.CustomerSession`, and the agent's
Flask-Login session is never read here, so neither identity reaches the other's pages.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the portal's pages."""
    from web.portal.views import bp

    app.register_blueprint(bp)
