"""One database session per request, committed once at the edge.

Views and services get the request's session from :func:`get_db`; services only flush.
When the response is a success (below 400, redirects included) the session is committed,
which also runs the after-commit hooks (mail, jobs); an error page or an unhandled
exception rolls it back, so a service that flushed half a change before raising leaves
nothing behind.  A commit that loses a race with another writer (a stale version counter)
turns the response into the friendly 409 page.
"""

from __future__ import annotations

from typing import cast

from flask import Flask, Response, current_app, g
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from desk.permission import service as permissions
from web.errors import render_error

_FACTORY_KEY = "ticketflow.session_factory"
_G_KEY = "ticketflow_db_session"


def init_app(app: Flask, session_factory: sessionmaker[Session]) -> None:
    """Open sessions from ``session_factory`` and end each one with its request.

    Call it after the other ``after_request`` hooks are registered (Flask runs them in
    reverse order), so a response replaced here still passes through them.
    """
    app.extensions[_FACTORY_KEY] = session_factory
    app.after_request(_finish_with_response)
    # Runs after every request; it finds a session only when ``after_request`` never ran
    # (an exception escaped everything), and then rolls back.
    app.teardown_request(_discard)


def get_db() -> Session:
    """The session of the current request, opened on first use."""
    session = cast(Session | None, g.get(_G_KEY))
    if session is None:
        factory = cast(sessionmaker[Session], current_app.extensions[_FACTORY_KEY])
        session = factory()
        # A request is a short unit of work: its permission checks share one lookup.
        permissions.cache_in(session)
        setattr(g, _G_KEY, session)
    return session


def _finish_with_response(response: Response) -> Response:
    try:
        _end(commit=response.status_code < 400)
    except StaleDataError:
        # Someone else changed the same row since we read it; nothing was saved.
        return render_error(409)
    return response


def _discard(_exc: BaseException | None) -> None:
    _end(commit=False)


def _end(*, commit: bool) -> None:
    session = cast(Session | None, g.pop(_G_KEY, None))
    if session is None:
        return
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
