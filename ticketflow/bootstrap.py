"""The composition root: one function that wires every package together.

Every entry point calls :func:`bootstrap` before it does anything else: the ``ticketflow``
command (and so the worker, the SMTP receiver and ``ticketflow run``), the WSGI module
(:mod:`ticketflow.wsgi`) and the tests' ``conftest``.  It loads every model, so every ORM
relationship resolves whatever a command touches; registers every job, so the worker declares
every actor and the scheduler knows every sweep; installs the SQLAlchemy listeners that give
new outbox rows and raw mails their jobs; and registers the process operators and lane rules
with the engine.  Nothing in the product depends on which module happened to be imported
first: the packages below declare, this module composes.
"""

from __future__ import annotations

import threading

from sqlalchemy.orm import configure_mappers

from core import composition

_lock = threading.Lock()


def bootstrap() -> None:
    """Load every model and register every job, listener and operator (idempotent)."""
    with _lock:
        if composition.is_composed():
            return
        _load_models()
        _register_jobs()
        _install_listeners()
        _register_process_hooks()
        _load_use_cases()
        # Resolve every relationship now: a missing model is a start-up error, not an
        # ``InvalidRequestError`` in the middle of the first command that touches it.
        configure_mappers()
        composition.mark_composed()


def _load_models() -> None:
    # desk first: the engine's and mail's models point at tickets and articles.
    import desk.models  # noqa: F401
    import engine.models  # noqa: F401
    import mail.models  # noqa: F401
    import reports.models  # noqa: F401


def _register_jobs() -> None:
    # The @job / @periodic declarations of these modules are the whole job registry: the
    # worker declares an actor for each, the scheduler sends each periodic one.
    import desk.ticket.tasks  # noqa: F401
    import engine.tasks  # noqa: F401
    import flows.jobs  # noqa: F401
    import mail.tasks  # noqa: F401
    import reports.jobs  # noqa: F401
    from flows import teams as _teams  # noqa: F401 (the temporary-membership expiry)


def _install_listeners() -> None:
    from core.db import on_unit_of_work
    from desk.permission import service as permissions
    from engine.task_projection import install_listeners as install_task_projection
    from mail.tasks import install_listeners

    install_listeners()
    install_task_projection()
    # A job's or a command's unit of work reads each agent's rights once, as a request does.
    on_unit_of_work(permissions.cache_in)


def _register_process_hooks() -> None:
    # The engine only looks operators and lane rules up by name; it never imports
    # ``processes``.  Importing these modules runs their @operator / @set_lane_resolver
    # declarations against the engine's registry, here and nowhere else.
    import processes.lanes
    import processes.operators  # noqa: F401


def _load_use_cases() -> None:
    # The use cases declare nothing at import time beyond their jobs (above), but loading
    # them here keeps every process's import graph the same, whatever entry point it has.
    import flows  # noqa: F401
