"""Background jobs: dramatiq on Redis in production, an in-process runner when embedded.

A job is a plain function taking ids (never ORM objects) that opens its own session and is
idempotent, because delivery is at-least-once.  Code that wants a job run calls
:func:`enqueue` with its session: the message is sent only after that session commits, so a
job never sees data that was rolled back.  Periodic jobs (sweeps that recover anything a lost
message left behind) are declared with :func:`periodic` and sent by the scheduler loop of
``ticketflow worker`` or ``ticketflow run``.

The modules that declare jobs are imported by the composition root (``ticketflow.bootstrap``);
``core`` knows none of them.  Every worker runs a scheduler, yet each periodic job is sent once
per period for the whole deployment: time is cut into rounds of the job's period, and a round
is sent by whichever scheduler claims it first (in Redis when jobs go through Redis, in memory
in the embedded mode, where there is one process).  A scheduler that cannot reach Redis logs,
backs off and carries on; the sweeps are idempotent, so a round sent late or twice is harmless.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from core.db import after_commit
from core.errors import ConfigurationError

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
        self.namespace = namespace
        self._dramatiq = dramatiq
        self._actors: dict[str, Any] = {}
        self._lock = threading.Lock()
        for name in _jobs:
            self._declare(name)

    def _declare(self, name: str) -> Any:
        with self._lock:
            if name not in self._actors:
                declare = self._dramatiq.actor(actor_name=name, broker=self.broker, max_retries=5)
                self._actors[name] = declare(_dramatiq_entry(name))
            return self._actors[name]

    def send(self, name: str, kwargs: dict[str, Any]) -> None:
        # A job registered after the backend was built is declared on first use, so the
        # sender never depends on the order of imports (the worker is built after bootstrap
        # and so consumes every job).
        actor = self._actors.get(name) or self._declare(name)
        actor.send(**kwargs)


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
    else:
        if name in _periodic:
            log.debug("periodic job %s done", name)


_current: dict[str, Backend] = {}


def get_backend() -> Backend:
    """The configured backend: dramatiq when ``TICKETFLOW_REDIS_URL`` is set."""
    if "backend" not in _current:
        from core.config import get_settings

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


class PeriodClaims(Protocol):
    """Who sends a periodic job's round: the first scheduler to claim it."""

    def now(self) -> float:
        """Seconds since the epoch, on the clock every scheduler of the deployment shares."""

    def claim(self, name: str, round_no: int, ttl_seconds: float) -> bool:
        """True for exactly one caller per ``(name, round_no)``."""

    def release(self, name: str, round_no: int) -> None:
        """Give a round back (its job could not be sent), so it is sent on the next tick."""


class LocalClaims:
    """Claims in memory: the embedded mode, where one process runs the only scheduler."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.time()

    def claim(self, name: str, round_no: int, ttl_seconds: float) -> bool:
        with self._lock:
            if self._last.get(name, -1) >= round_no:
                return False
            self._last[name] = round_no
            return True

    def release(self, name: str, round_no: int) -> None:
        with self._lock:
            if self._last.get(name) == round_no:
                del self._last[name]


class RedisClaims:
    """Claims in Redis, shared by every worker: ``SET key holder NX PX ttl`` per round.

    The round number comes from Redis's own clock (``TIME``), so workers on machines whose
    clocks disagree still agree on the rounds; a key outlives its round and then expires.
    """

    def __init__(self, client: Any, namespace: str = "ticketflow") -> None:
        self._client = client
        self._prefix = f"{namespace}:periodic"
        self._holder = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def now(self) -> float:
        seconds, micros = self._client.time()
        return float(seconds) + float(micros) / 1_000_000

    def claim(self, name: str, round_no: int, ttl_seconds: float) -> bool:
        key = f"{self._prefix}:{name}:{round_no}"
        return bool(self._client.set(key, self._holder, nx=True, px=max(1000, int(ttl_seconds * 1000))))

    def release(self, name: str, round_no: int) -> None:
        self._client.delete(f"{self._prefix}:{name}:{round_no}")


def claims_for(backend: Backend) -> PeriodClaims:
    """Redis claims for the Redis backend (many workers), memory claims otherwise."""
    if isinstance(backend, DramatiqBackend):
        return RedisClaims(backend.broker.client, backend.namespace)
    return LocalClaims()


def _env_seconds(name: str, default: float, *, minimum: float) -> float:
    value = os.environ.get(f"TICKETFLOW_{name}", "")
    try:
        seconds = float(value) if value else default
    except ValueError:
        raise ConfigurationError(f"TICKETFLOW_{name} must be a number, not {value!r}") from None
    if seconds < minimum:
        raise ConfigurationError(f"TICKETFLOW_{name} must be at least {minimum}")
    return seconds


@dataclass(frozen=True)
class SchedulerTiming:
    """How often the scheduler looks, how long it backs off at most, and a period multiplier.

    From ``TICKETFLOW_SCHEDULER_TICK_SECONDS`` (1), ``TICKETFLOW_SCHEDULER_MAX_BACKOFF_SECONDS``
    (30) and ``TICKETFLOW_PERIODIC_SCALE`` (1: the declared periods; tests shorten them).
    """

    tick: float = 1.0
    max_backoff: float = 30.0
    scale: float = 1.0

    @classmethod
    def from_env(cls) -> SchedulerTiming:
        """The timing the environment asks for."""
        return cls(
            tick=_env_seconds("SCHEDULER_TICK_SECONDS", 1.0, minimum=0.05),
            max_backoff=_env_seconds("SCHEDULER_MAX_BACKOFF_SECONDS", 30.0, minimum=0.05),
            scale=_env_seconds("PERIODIC_SCALE", 1.0, minimum=0.001),
        )


def run_scheduler(
    stop: threading.Event,
    backend: Backend | None = None,
    claims: PeriodClaims | None = None,
    timing: SchedulerTiming | None = None,
) -> None:
    """Send each periodic job once per period (deployment-wide) until ``stop`` is set.

    The current round of every job is due at start, so work missed while everything was down
    (timers, unlock timeouts) is done at once, unless another scheduler sent that round.  Any
    failure (Redis unreachable, a send refused) is logged and retried after a capped
    exponential backoff; the loop never ends because of it.
    """
    target = backend or get_backend()
    claims = claims or claims_for(target)
    timing = timing or SchedulerTiming.from_env()
    if not _periodic:
        log.warning("no periodic jobs are registered: was ticketflow.bootstrap() called?")
    seen: dict[str, int] = {}
    failures = 0
    while not stop.is_set():
        try:
            _send_due_rounds(target, claims, timing.scale, seen)
        except Exception as exc:  # the scheduler must outlive any outage
            failures += 1
            delay = min(timing.max_backoff, timing.tick * 2 ** min(failures - 1, 20))
            if failures == 1:
                log.warning("scheduler cannot send periodic jobs (%s); retrying", exc, exc_info=True)
            else:
                log.warning("scheduler still failing (%s); next try in %.1f s", exc, delay)
            stop.wait(delay)
            continue
        if failures:
            log.warning("scheduler is sending periodic jobs again after %d failed tries", failures)
            failures = 0
        stop.wait(timing.tick)


def _send_due_rounds(target: Backend, claims: PeriodClaims, scale: float, seen: dict[str, int]) -> None:
    now = claims.now()
    for name, spec in list(_periodic.items()):
        period = spec.every_seconds * scale
        round_no = int(now // period)
        if seen.get(name) == round_no:
            continue  # this scheduler already sent it or saw it claimed
        if claims.claim(name, round_no, ttl_seconds=2 * period):
            try:
                target.send(name, {})
            except Exception:
                try:
                    claims.release(name, round_no)
                except Exception:  # Redis is likely down too: the key expires on its own
                    log.debug("could not give back round %s of %s", round_no, name)
                raise
            log.debug("periodic job %s round %d sent", name, round_no)
        seen[name] = round_no
