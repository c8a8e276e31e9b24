"""Signing in and out: the ``auth`` blueprint, Flask-Login and the login rate limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

import flask_login
from flask import Flask, Response, current_app, redirect, request, url_for
from flask.typing import ResponseReturnValue

from web.auth.limiter import LoginLimiter
from web.auth.users import load_user

_LIMITER_KEY = "ticketflow.login_limiter"

View = TypeVar("View", bound=Callable[..., ResponseReturnValue])


def init_app(app: Flask, limiter: LoginLimiter) -> None:
    """Set up Flask-Login on ``app`` and register the sign-in pages."""
    from web.auth.views import bp

    manager = flask_login.LoginManager()
    manager.init_app(app)
    manager.user_loader(load_user)
    manager.unauthorized_handler(_unauthorized)
    app.extensions[_LIMITER_KEY] = limiter
    app.register_blueprint(bp)


def get_limiter() -> LoginLimiter:
    """The login rate limiter of the current app."""
    return cast(LoginLimiter, current_app.extensions[_LIMITER_KEY])


def login_required(view: View) -> View:
    """Flask-Login's ``login_required`` with its type kept (Flask-Login is untyped)."""
    return cast(View, flask_login.login_required(view))


def _unauthorized() -> ResponseReturnValue:
    # Flask-Login would pass the absolute URL as ``next``, which the open-redirect check
    # rightly refuses; pass the path instead.  Only a GET is worth coming back to.
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    login_url = url_for("auth.login", next=target)
    if request.headers.get("HX-Request"):
        # htmx would swap the sign-in page into a fragment; tell it to load the page.
        response = Response(status=401)
        response.headers["HX-Redirect"] = login_url
        return response
    return redirect(login_url)
