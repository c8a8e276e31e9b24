"""Login rate limiting: too many failed sign-ins for one login or one address are refused.

After :data:`MAX_FAILURES` failed attempts within :data:`WINDOW_SECONDS` for the same login
*or* the same client address, further attempts are refused before the password is checked,
so guessing is slow even though argon2 answers in milliseconds.  Counting per login stops
guessing one account from many addresses; counting per address stops trying many accounts
from one place.

Two implementations behind :class:`LoginLimiter` (style rule 10): an in-memory one for the
embedded single process, and a Redis one shared by every gunicorn worker and machine,
chosen by :func:`make_login_limiter` when ``TICKETFLOW_REDIS_URL`` is set.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from core.config import Settings

log = logging.getLogger(__name__)

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60

Clock = Callable[[], float]


def attempt_keys(*, login: str, address: str) -> tuple[str, str]:
    """The counters one sign-in attempt belongs to: its login and its client address."""
    # Case-folded so "Alice" and "alice" share one counter even if logins are case-sensitive:
    # that only makes the limit stricter.
    return f"login:{login.strip().casefold()}", f"addr:{address}"


class LoginLimiter(Protocol):
    """Counts failed sign-ins per key over a sliding window."""

    def is_blocked(self, keys: Sequence[str]) -> bool:
        """True when any of ``keys`` has reached the failure limit within the window."""

    def record_failure(self, keys: Sequence[str]) -> None:
        """Count one failed attempt against each of ``keys``."""

    def reset(self, key: str) -> None:
        """Forget the failures of ``key`` (after a successful sign-in for that login)."""


class InMemoryLoginLimiter:
    """Failures kept in this process: right for the embedded mode (one process)."""

    # Beyond this many keys, expired ones are swept on the next failure, so an attacker
    # cycling through logins cannot grow the dict for longer than the window.
    _SWEEP_ABOVE = 10_000

    def __init__(
        self,
        *,
        max_failures: int = MAX_FAILURES,
        window_seconds: float = WINDOW_SECONDS,
        clock: Clock = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        # The threaded development server and gthread workers call in from several threads.
        self._lock = threading.Lock()

    def is_blocked(self, keys: Sequence[str]) -> bool:
        """True when any of ``keys`` has reached the failure limit within the window."""
        now = self._clock()
        with self._lock:
            return any(self._recent(key, now) >= self.max_failures for key in keys)

    def record_failure(self, keys: Sequence[str]) -> None:
        """Count one failed attempt against each of ``keys``."""
        now = self._clock()
        with self._lock:
            if len(self._failures) > self._SWEEP_ABOVE:
                for key in list(self._failures):
                    self._recent(key, now)
            for key in keys:
                self._failures.setdefault(key, deque()).append(now)

    def reset(self, key: str) -> None:
        """Forget the failures of ``key``."""
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> int:
        times = self._failures.get(key)
        if times is None:
            return 0
        while times and times[0] <= now - self.window_seconds:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0
        return len(times)


class RedisLoginLimiter:
    """Failures kept in Redis sorted sets (member per failure, scored by time).

    Shared by every web worker.  If Redis cannot be reached, sign-in still works (the
    limit is not applied) and the error is logged: a Redis outage must not lock every
    agent out, and argon2 keeps guessing slow meanwhile.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "ticketflow:login-failures:",
        max_failures: int = MAX_FAILURES,
        window_seconds: float = WINDOW_SECONDS,
        clock: Clock = time.time,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        # Wall-clock time: every worker and machine must agree on it, unlike monotonic time.
        self._clock = clock

    def is_blocked(self, keys: Sequence[str]) -> bool:
        """True when any of ``keys`` has reached the failure limit within the window."""
        since = self._clock() - self.window_seconds
        try:
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.zcount(self.prefix + key, f"({since}", "+inf")
            counts = pipe.execute()
        except redis.RedisError:
            log.exception("login limiter: Redis unavailable, not limiting")
            return False
        return any(int(count) >= self.max_failures for count in counts)

    def record_failure(self, keys: Sequence[str]) -> None:
        """Count one failed attempt against each of ``keys``."""
        now = self._clock()
        member = f"{now}:{uuid.uuid4().hex}"
        try:
            pipe = self.client.pipeline(transaction=True)
            for key in keys:
                name = self.prefix + key
                pipe.zadd(name, {member: now})
                pipe.zremrangebyscore(name, "-inf", now - self.window_seconds)
                # The whole set goes once its newest failure has left the window.
                pipe.expire(name, int(self.window_seconds) + 1)
            pipe.execute()
        except redis.RedisError:
            log.exception("login limiter: Redis unavailable, failure not counted")

    def reset(self, key: str) -> None:
        """Forget the failures of ``key``."""
        try:
            self.client.delete(self.prefix + key)
        except redis.RedisError:
            log.exception("login limiter: Redis unavailable, could not reset %r", key)


def make_login_limiter(settings: Settings) -> LoginLimiter:
    """Redis when ``settings.redis_url`` is set (several workers), else in memory."""
    if settings.redis_url:
        # Short timeouts and one quick retry: redis-py's defaults (5 s, three retries with
        # backoff) would keep a sign-in page waiting for many seconds while Redis is down.
        client = redis.Redis.from_url(
            settings.redis_url,
            socket_connect_timeout=1.0,
            socket_timeout=1.0,
            retry=Retry(NoBackoff(), 1),
        )
        return RedisLoginLimiter(client)
    return InMemoryLoginLimiter()
