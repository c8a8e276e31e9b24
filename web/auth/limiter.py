"""Login limiting that slows guessing down without letting an attacker lock anyone out.

Three limits, all on fixed windows of the ``limits`` library, keyed so that failures an
attacker causes fall on the attacker:

* **address and login**: the first :data:`PAIR_FREE_FAILURES` failures of one login from
  one address cost nothing; each further one makes that pair wait twice as long as the one
  before (:data:`BACKOFF_FIRST_SECONDS`, doubling up to :data:`BACKOFF_MAX_SECONDS`).  A
  success from the pair forgets its failures.
* **address**: :data:`ADDRESS_MAX_FAILURES` failures from one address within an hour,
  whatever the logins, and that address may not try again until the hour is over.
* **login**: a login with :data:`LOGIN_SLOWDOWN_AFTER` failures within 15 minutes (from
  anywhere) is *slowed down*, not locked: for :data:`SLOWDOWN_SECONDS` after each further
  failure, addresses that have failed recently are asked to try again in a few seconds.
  An address with no failure, like the owner's desk, is never refused.

Only failures count and only failures write; a refusal just reads, so a refused request
changes nothing.  The counters live in a ``limits`` storage: Redis when
``TICKETFLOW_REDIS_URL`` is set, shared by every worker, with the database
(:class:`DatabaseStorage`, table ``login_limit_counter``) taking over while Redis is
unreachable, so the limit is never off; without Redis (the embedded mode) the database is
the store.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, TypeVar

from limits import (
    RateLimitItem,
    RateLimitItemPerHour,
    RateLimitItemPerMinute,
    RateLimitItemPerSecond,
)
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import Table, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.config import Settings
from core.db import utcnow
from desk.agent.models import LoginLimitCounter
from web.db import get_db

log = logging.getLogger(__name__)

PAIR_FREE_FAILURES = 3
BACKOFF_FIRST_SECONDS = 10
BACKOFF_MAX_SECONDS = 15 * 60
ADDRESS_MAX_FAILURES = 30
LOGIN_SLOWDOWN_AFTER = 10
SLOWDOWN_SECONDS = 5

# The pair's failures are remembered for a day: waiting out one backoff must not reset it.
_PAIR_FAILURES = RateLimitItemPerHour(PAIR_FREE_FAILURES, 24)
_ADDRESS_FAILURES = RateLimitItemPerHour(ADDRESS_MAX_FAILURES)
_LOGIN_FAILURES = RateLimitItemPerMinute(LOGIN_SLOWDOWN_AFTER, 15)
_LOGIN_PAUSE = RateLimitItemPerSecond(1, SLOWDOWN_SECONDS)

SessionProvider = Callable[[], Session]
T = TypeVar("T")


def backoff_seconds(failures: int) -> int:
    """How long an address must wait for a login after its ``failures``-th failure."""
    if failures < PAIR_FREE_FAILURES:
        return 0
    # Capped before shifting: the count may grow, the wait may not.
    doublings = min(failures - PAIR_FREE_FAILURES, 16)
    return min(BACKOFF_FIRST_SECONDS << doublings, BACKOFF_MAX_SECONDS)


@dataclass(frozen=True)
class Refusal:
    """Why a sign-in attempt is not even checked, and in how many seconds it may be tried."""

    reason: Literal["address", "backoff", "slowdown"]
    retry_after: int


class LoginLimiter:
    """The three limits of the module docstring over one ``limits`` storage."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._windows = FixedWindowRateLimiter(storage)

    def check(self, *, login: str, address: str) -> Refusal | None:
        """A refusal when this attempt must not be checked, else None (only reads)."""
        login = normalise_login(login)
        if not self._windows.test(_ADDRESS_FAILURES, "address", address):
            return Refusal("address", self._retry_after(_ADDRESS_FAILURES, "address", address))
        wait = _pair_wait(self.storage.get(_pair_key(login, address)))
        if wait is not None and not self._windows.test(wait, "pair-wait", address, login):
            return Refusal("backoff", self._retry_after(wait, "pair-wait", address, login))
        clean = self.storage.get(_ADDRESS_FAILURES.key_for("address", address)) == 0
        if not clean and not self._windows.test(_LOGIN_PAUSE, "login-pause", login):
            return Refusal("slowdown", self._retry_after(_LOGIN_PAUSE, "login-pause", login))
        return None

    def record_failure(self, *, login: str, address: str) -> None:
        """Count a wrong password (or unknown login) from ``address``."""
        login = normalise_login(login)
        self._windows.hit(_ADDRESS_FAILURES, "address", address)
        failures = self.storage.incr(_pair_key(login, address), _PAIR_FAILURES.get_expiry())
        wait = _pair_wait(failures)
        if wait is not None:
            self._windows.hit(wait, "pair-wait", address, login)
        if not self._windows.hit(_LOGIN_FAILURES, "login", login):
            self._windows.hit(_LOGIN_PAUSE, "login-pause", login)

    def record_success(self, *, login: str, address: str) -> None:
        """Forget the failures of this login from this address (not the address's own)."""
        # Not the address's count: one known password must not let an address keep
        # guessing other logins; nor the login's, which an attack elsewhere may still earn.
        self.storage.clear(_pair_key(normalise_login(login), address))

    def _retry_after(self, item: RateLimitItem, *identifiers: str) -> int:
        reset = self._windows.get_window_stats(item, *identifiers).reset_time
        return max(1, math.ceil(reset - time.time()))


def normalise_login(login: str) -> str:
    """The form of a login that counters use."""
    # Case-folded so "Alice" and "alice" share counters even if logins are case-sensitive:
    # that only makes the limit stricter.
    return login.strip().casefold()


def _pair_key(login: str, address: str) -> str:
    return _PAIR_FAILURES.key_for("pair", address, login)


def _pair_wait(failures: int) -> RateLimitItem | None:
    # One item per wait length: the item of the latest failure is the one to test, and
    # no failure is recorded while it runs (the attempt is refused before the password).
    seconds = backoff_seconds(failures)
    return RateLimitItemPerSecond(1, seconds) if seconds else None


class DatabaseStorage(Storage):
    """A ``limits`` storage in the ``login_limit_counter`` table (``limits`` has no SQL one).

    It writes through the session ``session_provider`` returns, the request's in the web:
    it only flushes, and the response commits.  That is enough because only failed
    sign-ins write, and their page is a success; a refusal writes nothing.
    """

    STORAGE_SCHEME = None

    def __init__(self, session_provider: SessionProvider) -> None:
        super().__init__()
        self._session = session_provider

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        """A database error is an error of the request (no fallback below this one)."""
        return ()

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to ``key``, starting a window of ``expiry`` seconds if none runs."""
        session = self._session()
        now = utcnow()
        table = LoginLimitCounter.__table__
        assert isinstance(table, Table)  # noqa: S101 (narrows the type for mypy)
        # Expired counters are gone before they can be counted on; the index makes this cheap.
        session.execute(delete(LoginLimitCounter).where(LoginLimitCounter.expires_at <= now))
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = (
            insert(table)
            .values(key=key, hits=amount, expires_at=now + timedelta(seconds=expiry))
            .on_conflict_do_update(index_elements=["key"], set_={"hits": table.c.hits + amount})
            .returning(table.c.hits)
        )
        return int(session.execute(statement).scalar_one())

    def get(self, key: str) -> int:
        """The count of ``key`` in its running window (0 when none runs)."""
        hits = self._session().scalar(
            select(LoginLimitCounter.hits).where(
                LoginLimitCounter.key == key, LoginLimitCounter.expires_at > utcnow()
            )
        )
        return int(hits or 0)

    def get_expiry(self, key: str) -> float:
        """When the window of ``key`` ends (a Unix time; now when none runs)."""
        expires = self._session().scalar(
            select(LoginLimitCounter.expires_at).where(LoginLimitCounter.key == key)
        )
        return max(expires.timestamp(), time.time()) if expires else time.time()

    def check(self) -> bool:
        """True when the database answers."""
        return self._session().scalar(select(func.count()).select_from(LoginLimitCounter)) is not None

    def reset(self) -> int | None:
        """Forget every counter."""
        result = self._session().execute(delete(LoginLimitCounter))
        return int(getattr(result, "rowcount", 0))

    def clear(self, key: str) -> None:
        """Forget ``key``."""
        self._session().execute(delete(LoginLimitCounter).where(LoginLimitCounter.key == key))


class FallbackStorage(Storage):
    """Redis first; while it fails, the database, so the limit holds through an outage.

    After a failure Redis is left alone for :attr:`retry_seconds`, so an outage costs one
    connection timeout now and then, not one per sign-in.  Counts made during the outage
    stay in the database; when Redis is back, counting starts again there.
    """

    STORAGE_SCHEME = None

    def __init__(
        self,
        primary: Storage,
        fallback: Storage,
        *,
        retry_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.primary = primary
        self.fallback = fallback
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._down_until = -math.inf
        self._lock = threading.Lock()

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        """The fallback's errors pass through as they are."""
        return ()

    def _use(self, operation: Callable[[Storage], T]) -> T:
        if self._clock() >= self._down_until:
            try:
                return operation(self.primary)
            except StorageError as exc:
                with self._lock:
                    self._down_until = self._clock() + self.retry_seconds
                log.warning("login limiter: Redis unavailable (%s), counting in the database", exc)
        return operation(self.fallback)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """See :meth:`limits.storage.Storage.incr`."""
        return self._use(lambda storage: storage.incr(key, expiry, amount))

    def get(self, key: str) -> int:
        """See :meth:`limits.storage.Storage.get`."""
        return self._use(lambda storage: storage.get(key))

    def get_expiry(self, key: str) -> float:
        """See :meth:`limits.storage.Storage.get_expiry`."""
        return self._use(lambda storage: storage.get_expiry(key))

    def check(self) -> bool:
        """True when either store answers."""
        return self.primary.check() or self.fallback.check()

    def reset(self) -> int | None:
        """Forget every counter in both stores."""
        self._use(lambda storage: storage.reset())
        return self.fallback.reset()

    def clear(self, key: str) -> None:
        """Forget ``key`` (in both stores: the database may hold counts from an outage)."""
        self._use(lambda storage: storage.clear(key))
        self.fallback.clear(key)


def redis_storage(url: str, *, prefix: str = "ticketflow-login") -> RedisStorage:
    """The ``limits`` Redis storage with timeouts fit for a sign-in page."""
    # Short timeouts and no retries: redis-py's defaults (5 s, three retries with backoff)
    # would keep the sign-in page waiting for many seconds before the database takes over.
    return RedisStorage(
        url,
        key_prefix=prefix,
        wrap_exceptions=True,
        socket_connect_timeout=1.0,
        socket_timeout=1.0,
        retry=Retry(NoBackoff(), 0),  # type: ignore[arg-type]  # passed on to redis.Redis
    )


class InMemoryLoginLimiter(LoginLimiter):
    """The limits on counters in this process only: for tests and one-off tools."""

    def __init__(self) -> None:
        super().__init__(MemoryStorage())


def make_login_limiter(settings: Settings, session_provider: SessionProvider = get_db) -> LoginLimiter:
    """Redis (falling back to the database) when ``settings.redis_url`` is set, else the database.

    ``session_provider`` gives the database session to count in: the request's by default.
    """
    database = DatabaseStorage(session_provider)
    if settings.redis_url:
        return LoginLimiter(FallbackStorage(redis_storage(settings.redis_url), database))
    return LoginLimiter(database)
