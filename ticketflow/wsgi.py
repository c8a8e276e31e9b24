"""The WSGI entry point for gunicorn: ``gunicorn ticketflow.wsgi:app`` (``ticketflow web``).

It composes the application first (every model, job, listener and operator), then builds
the app.  Building reads the settings and creates the engine but connects to nothing, so
importing this module works with the default settings.
"""

from __future__ import annotations

from ticketflow.bootstrap import bootstrap
from web import create_app

bootstrap()
app = create_app()
