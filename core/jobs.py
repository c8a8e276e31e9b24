"""Background jobs: dramatiq on Redis in production, an in-process runner when embedded.

A job is a plain function taking ids (never ORM objects) that opens its own session and is
idempotent, because delivery is at-least-once.  Code that wants a job run calls
:func:`enqueue` with its session: the message is sent only after that session commits, so a
job never sees data that was rolled back.  Periodic jobs (sweeps that recover anything a lost
message left behind) are declared with :func:`periodic` and sent by the scheduler loop of
``ticketflow worker`` or ``ticketflow run``.
"""

from __future__ import annotations

import importlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from core.db import after_commit

log = logging.getLogger(__name__)

JobFunc = Callable[..., None]

_jobs: dict[str, JobFunc] = {}


@dataclass(frozen=True)
class PeriodicJob:
    """A job sent every ``every_seconds`` by the scheduler."""

    name: str
    every_seconds: float


_periodic: dict[str, PeriodicJob] = {}


def job(func: JobFunc) -> JobFunc:
    """Register ``func`` as a job under its dotted name."""
    _jobs[job_name(func)] = func
    return func


def periodic(every_seconds: float) -> Callable[[JobFunc], JobFunc]:
    """Register a job that the scheduler sends every ``every_seconds``."""

    def register(func: JobFunc) -> JobFunc:
        job(func)
        name = job_name(func)
        _periodic[name] = PeriodicJob(name, every_seconds)
        return func

    return register


def job_name(func: JobFunc) -> str:
    """The registry name of a job function."""
    return f"{func.__module__}.{func.__qualname__}"


def registered_jobs() -> dict[str, JobFunc]:
    """All registered jobs by name."""
    return dict(_jobs)


def periodic_jobs() -> list[PeriodicJob]:
    """All periodic jobs."""
    return list(_periodic.values())


# Named, not imported at the top, so that ``core`` does not depend on the domain packages.
# ``desk.models`` comes first: a job must find every ORM mapper configured.
JOB_MODULES = (
    "desk.models",
    "engine.models",
    "mail.models",
    "desk.ticket.tasks",
    "engine.tasks",
    "mail.tasks",
)


def load_job_modules() -> None:
    """Import every module that declares jobs, so the registry is complete."""
    for module in JOB_MODULES:
        importlib.import_module(module)


class Backend(Protocol):
    """Where job messages go."""

    def send(self, name: str, kwargs: dict[str, Any]) -> None:
        """Deliver one job message."""


class InProcessBackend:
    """Runs jobs on a daemon thread of this process: the embedded mode of ``make demo``."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def send(self, name: str, kwargs: dict[str, Any]) -> None:
        self._ensure_thread()
        self._queue.put((name, kwargs))

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="jobs", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            name, kwargs = self._queue.get()
            run_job(name, kwargs)
            self._queue.task_done()

    def join(self) -> None:
        """Wait until every queued job has run (used by tests and at shutdown)."""
        self._queue.join()


class DramatiqBackend:
    """Sends jobs to dramatiq actors on a Redis broker."""

    def __init__(self, redis_url: str, namespace: str = "ticketflow") -> None:
        import dramatiq
        from dramatiq.brokers.redis import RedisBroker

        self.broker = RedisBroker(url=redis_url, namespace=namespace)  # type: ignore[no-untyped-call]
        self._actors: dict[str, Any] = {}
        for name in _jobs:
            declare = dramatiq.actor(actor_name=name, broker=self.broker, max_retries=5)
            self._actors[name] = declare(_dramatiq_entry(name))

    def send(self, name: str, kwargs: dict[str, Any]) -> None:
        self._actors[name].send(**kwargs)


def _dramatiq_entry(name: str) -> Callable[..., None]:
    def entry(**kwargs: Any) -> None:
        run_job(name, kwargs, reraise=True)

    entry.__name__ = name.rsplit(".", 1)[-1]
    return entry


def run_job(name: str, kwargs: dict[str, Any], *, reraise: bool = False) -> None:
    """Run one job by name, logging failures (dramatiq retries when ``reraise``)."""
    func = _jobs.get(name)
    if func is None:
        log.error("unknown job %s dropped", name)
        return
    try:
        func(**kwargs)
    except Exception:
        log.exception("job %s(%r) failed", name, kwargs)
        if reraise:
            raise


_current: dict[str, Backend] = {}


def get_backend() -> Backend:
    """The configured backend: dramatiq when ``TICKETFLOW_REDIS_URL`` is set."""
    if "backend" not in _current:
        from core.config import get_settings

        load_job_modules()
        redis_url = get_settings().redis_url
        _current["backend"] = DramatiqBackend(redis_url) if redis_url else InProcessBackend()
    return _current["backend"]


def set_backend(backend: Backend | None) -> None:
    """Replace the backend (tests, or a worker that built its own); None resets it."""
    _current.pop("backend", None)
    if backend is not None:
        _current["backend"] = backend


def enqueue(session: Session, func: JobFunc, **kwargs: Any) -> None:
    """Send ``func(**kwargs)`` as a job once ``session`` commits."""
    name = job_name(func)
    if name not in _jobs:
        raise KeyError(f"{name} is not a registered job")
    after_commit(session, lambda: get_backend().send(name, kwargs))


def run_scheduler(stop: threading.Event, backend: Backend | None = None) -> None:
    """Send each periodic job at its interval until ``stop`` is set.

    The first round goes out at once, so work missed while everything was down (timers,
    unlock timeouts) is done at start.
    """
    load_job_modules()
    target = backend or get_backend()
    next_due = dict.fromkeys(_periodic, 0.0)
    while not stop.is_set():
        now = time.monotonic()
        for name, spec in _periodic.items():
            if now >= next_due[name]:
                target.send(name, {})
                next_due[name] = now + spec.every_seconds
        stop.wait(1.0)
