"""The WSGI entry point for gunicorn: ``gunicorn web.wsgi:app`` (``ticketflow web``).

Building the app reads the settings and creates the engine, but connects to nothing, so
importing this module works with the default settings.
"""

from __future__ import annotations

from web import create_app

app = create_app()
