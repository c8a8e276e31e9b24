"""The REST API under ``/api/v1`` (flask-smorest, marshmallow, OpenAPI 3).

Views are thin: they validate input with a marshmallow schema, call the desk and engine
services (which check every permission) and serialize the result.  Requests authenticate
with ``Authorization: Bearer <token>`` only (an agent's or a customer user's token; tasks,
processes, agents and customers are for agents only, see :mod:`web.api.common`), so the
blueprints are exempt from CSRF; the
request's session is committed by :mod:`web.db` like every other request.  Every error is
``{"code", "message", "errors"}`` (:mod:`web.api.errors`).  The spec is served at
``/api/v1/openapi.json`` and rendered, without any external script, at ``/api/v1/docs``.
"""

from __future__ import annotations

from typing import Any

import flask_smorest
from flask import Blueprint, Flask, render_template

from web.api import (
    admin_agents,
    admin_customers,
    admin_queues,
    articles,
    bulk,
    directory,
    errors,
    messages,
    notifications,
    problems,
    process_migration,
    processes,
    queues,
    stats,
    tasks,
    tickets,
)
from web.api.common import authenticate, refuse_observer_writes, require_admin_token, require_agent
from web.api.schemas import ErrorSchema

__all__ = ["init_app"]

API_PREFIX = "/api/v1"
RESOURCES = (
    tickets.bp,
    bulk.bp,
    articles.bp,
    tasks.bp,
    processes.bp,
    queues.bp,
    directory.bp,
    admin_customers.bp,
    admin_queues.bp,
    admin_agents.bp,
    problems.bp,
    stats.bp,
    messages.bp,
    process_migration.bp,
    notifications.bp,
)
# Customer tokens get 403 on every endpoint of these (tickets, articles and queues decide per
# view).
AGENT_ONLY = (
    bulk.bp,
    tasks.bp,
    processes.bp,
    directory.bp,
    admin_customers.bp,
    admin_queues.bp,
    admin_agents.bp,
    problems.bp,
    stats.bp,
    messages.bp,
    process_migration.bp,
    notifications.bp,
)
# Administration: 403 unless the token's agent has rw on the admin group.
ADMIN_ONLY = (admin_customers.bp, admin_queues.bp, admin_agents.bp)

# Blueprints are set up once, at import; every app (tests build many) registers them.
for _resource in RESOURCES:
    _resource.smorest.before_request(authenticate)
    _resource.smorest.before_request(refuse_observer_writes)
for _resource in AGENT_ONLY:
    _resource.smorest.before_request(require_agent)
for _resource in ADMIN_ONLY:
    _resource.smorest.before_request(require_admin_token)
errors.register_blueprint_handlers([r.smorest for r in RESOURCES])


class _Api(flask_smorest.Api):  # type: ignore[misc]
    """flask-smorest's Api with our error body, and without its app-wide error handler.

    Its handler would answer JSON for the HTML pages too; :mod:`web.api.errors` answers
    JSON only under ``/api/``.
    """

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        return None


def init_app(app: Flask) -> None:
    """Register the API's resources, its spec, its docs page and its JSON errors on ``app``."""
    app.config.update(
        API_TITLE="Ticketflow API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": "Tickets, articles, tasks and processes of Ticketflow."},
            "security": [{"bearerAuth": []}],
            "servers": [{"url": "/"}],
        },
    )
    api = _Api(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "ticketflow user token LOGIN"}
    )
    csrf = app.extensions.get("csrf")
    for resource in RESOURCES:
        if csrf is not None:
            csrf.exempt(resource.smorest)
        api.register_blueprint(resource.smorest)
    errors.register_app_handler(app)
    app.register_blueprint(_docs_blueprint(api))


def _docs_blueprint(api: Any) -> Blueprint:
    docs = Blueprint("api_docs_page", __name__, template_folder="templates")

    @docs.route(f"{API_PREFIX}/docs")
    def show_docs() -> str:
        """The API reference, rendered on the server from the OpenAPI document."""
        return render_template("api/docs.html", spec=api.spec.to_dict())

    return docs
