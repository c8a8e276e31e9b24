"""The agent web UI: the Flask application factory.

``create_app()`` wires the pieces together: settings, one database session per request
(committed once at the edge, see :mod:`web.db`), CSRF protection on every form and htmx
request, login, security headers and friendly error pages.  Blueprints stay thin: they
validate input, call one service function and render a template.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.middleware.proxy_fix import ProxyFix

from core.composition import require_composed
from core.config import Settings, get_settings
from core.db import get_engine, make_sessionmaker
from web import (
    admin,
    api,
    auth,
    dashboard,
    db,
    designer,
    due,
    errors,
    i18n,
    inbox,
    input_policy,
    notifications,
    portal,
    problems,
    search,
    security,
    stats,
    teams,
    tickets,
    time_spent,
)
from web.auth.limiter import LoginLimiter, make_login_limiter

__all__ = ["create_app"]


def create_app(
    settings: Settings | None = None,
    *,
    session_factory: sessionmaker[Session] | None = None,
    login_limiter: LoginLimiter | None = None,
) -> Flask:
    """Build the web application.

    ``settings`` defaults to the process settings; ``session_factory`` to sessions on the
    configured database (tests pass one bound to their rolled-back connection);
    ``login_limiter`` to the one the settings choose (Redis when ``redis_url`` is set).
    Nothing here connects to the database or Redis, so importing :mod:`ticketflow.wsgi` is cheap.
    """
    if session_factory is None:
        # The process-wide engine when running on the process settings, so ``ticketflow run``
        # shares one pool between its migrations, jobs and the web.
        engine = get_engine() if settings is None else get_engine(settings.database_url)
        session_factory = make_sessionmaker(engine)
    if settings is None:
        settings = get_settings()

    # Every model, job and the hooks that send them (outbox delivery after a reply) must be
    # known in the web process too.  Wiring them is the composition root's work
    # (``ticketflow.bootstrap()``, called by ``ticketflow.wsgi`` and the CLI); web sits below
    # it and cannot call it, so it refuses to start half-wired.
    require_composed("web.create_app()")
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="ticketflow_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.env == "production",
        # Flask-Login's remember-me cookie is not offered, but keep it as strict if it ever is.
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.env == "production",
        # Agents keep a reply open for a long time; a one-hour token (the default) would
        # throw their text away with "the form expired".  A working day is long enough.
        WTF_CSRF_TIME_LIMIT=int(timedelta(hours=12).total_seconds()),
    )
    app.extensions["ticketflow.settings"] = settings
    # Block tags leave no blank lines behind: the served HTML stays readable.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    i18n.init_app(app)
    CSRFProtect(app)
    # After the CSRF check (a form without a valid token is refused first), before every
    # view: size, JSON depth and text rules for the web UI and the API alike.
    input_policy.init_app(app, settings)
    security.init_app(app, settings)
    errors.init_app(app)
    auth.init_app(app, login_limiter or make_login_limiter(settings))
    dashboard.init_app(app)
    inbox.init_app(app)
    tickets.init_app(app)
    search.init_app(app)
    admin.init_app(app)
    api.init_app(app)
    portal.init_app(app)
    problems.init_app(app)
    teams.init_app(app)
    notifications.init_app(app)
    stats.init_app(app)
    designer.init_app(app)
    due.init_app(app)
    time_spent.init_app(app)
    # Last: its after-request hook (the commit) then runs first, and a response it replaces
    # (a lost race turns into a 409 page) still gets the security headers.
    db.init_app(app, session_factory)
    if settings.proxy_count:
        # Behind nginx the client address is the proxy's: the login limiter would lump all
        # agents together.  Trust exactly as many X-Forwarded-* hops as configured.
        n = settings.proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    return app
