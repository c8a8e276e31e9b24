"""Whether this process was composed: the flag ``ticketflow.bootstrap()`` sets.

The packages below the composition root only declare (models, jobs, listeners, operators);
``ticketflow.bootstrap()`` wires them.  Code that would silently misbehave in a process that
skipped the wiring (a web app whose replies never get a delivery job, an engine that knows no
operators) calls :func:`require_composed` and fails at start with a message that names the
fix, instead of misbehaving later.  ``core`` cannot import ``ticketflow``, hence the flag.
"""

from __future__ import annotations

from core.errors import ConfigurationError

_state = {"composed": False}


def mark_composed() -> None:
    """Record that every model, job, listener and operator is registered."""
    _state["composed"] = True


def is_composed() -> bool:
    """True once ``ticketflow.bootstrap()`` has run in this process."""
    return _state["composed"]


def require_composed(what: str) -> None:
    """Raise a :class:`ConfigurationError` naming ``what`` unless the process is composed."""
    if not _state["composed"]:
        raise ConfigurationError(
            f"{what} needs the composed application: call ticketflow.bootstrap.bootstrap() first"
        )
