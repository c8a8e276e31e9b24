"""The login limit: the attacker's address waits, the victim does not.

Every web test runs on each store the app can count in: the database (the embedded mode),
Redis (a key prefix of its own per test) and an unreachable Redis, where the database takes
over: the limit must hold on all three, never be off.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlalchemy import select

from core.config import get_settings
from desk.agent.models import LoginLimitCounter
from tests.subprocesses import free_port
from tests.web.conftest import csrf_token_in, sign_in
from web import create_app
from web.auth.limiter import (
    ADDRESS_MAX_FAILURES,
    BACKOFF_FIRST_SECONDS,
    LOGIN_SLOWDOWN_AFTER,
    PAIR_FREE_FAILURES,
    SLOWDOWN_SECONDS,
    DatabaseStorage,
    FallbackStorage,
    LoginLimiter,
    make_login_limiter,
    redis_storage,
)
from web.db import get_db

ATTACKER = "203.0.113.66"
VICTIM_DESK = "198.51.100.5"


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix no other test uses; its keys are removed afterwards."""
    prefix = f"tf-test-login-limit-{uuid.uuid4().hex}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture(params=["database", "redis", "redis-down"])
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def limiter(store: str, request: pytest.FixtureRequest) -> LoginLimiter:
    """The limiter the app builds for each store, counting in the request's session."""
    if store == "database":
        return make_login_limiter(dataclasses.replace(get_settings(), redis_url=None))
    if store == "redis":
        url = request.getfixturevalue("redis_url")
        prefix = request.getfixturevalue("redis_prefix")
    else:
        # A free port with nothing listening: every connection is refused.
        url, prefix = f"redis://127.0.0.1:{free_port()}/0", "unused"
    return LoginLimiter(FallbackStorage(redis_storage(url, prefix=prefix), DatabaseStorage(get_db)))


def attack(client, login: str, address: str, times: int = 1) -> list[int]:
    """Wrong passwords as an attacker sends them, refused or not: the status codes."""
    return [sign_in(client, login, "wrong-password", address=address).status_code for _ in range(times)]


def fail(client, login: str, address: str, times: int = 1) -> None:
    for _ in range(times):
        response = sign_in(client, login, "wrong-password", address=address)
        assert response.status_code == 200, response.status_code
        assert "The login or the password is not correct" in response.text


# --- the findings ------------------------------------------------------------------------


def test_after_an_attack_the_owner_signs_in_from_their_own_desk(make_app, limiter):
    client = make_app(limiter).test_client()
    # Far more tries for alice than the old limit of five, from many addresses.
    statuses = [code for n in range(10) for code in attack(client, "alice", f"203.0.113.{n + 1}", times=4)]
    assert statuses.count(200) > 5
    assert 429 in statuses

    signed_in = sign_in(client, "alice", address=VICTIM_DESK)

    assert signed_in.status_code == 302
    assert client.get("/").status_code == 200


def test_the_attackers_address_waits_and_the_wait_is_short_at_first(make_app, limiter):
    client = make_app(limiter).test_client()
    fail(client, "alice", ATTACKER, times=PAIR_FREE_FAILURES)
    assert attack(client, "alice", ATTACKER, times=2) == [429, 429]

    refused = sign_in(client, "alice", address=ATTACKER)  # even the right password

    assert refused.status_code == 429
    assert "Too many failed sign-in attempts" in refused.text
    assert "Please try again in" in refused.text
    # The first wait, seconds rather than the 15 minutes of before.
    assert 0 < int(refused.headers["Retry-After"]) <= BACKOFF_FIRST_SECONDS
    assert client.get("/").status_code == 302  # not signed in


def test_the_attackers_address_can_still_sign_in_to_other_logins(make_app, limiter):
    """An office behind one address is not locked out by one mistyped or attacked login."""
    client = make_app(limiter).test_client()
    attack(client, "alice", ATTACKER, times=5)

    assert sign_in(client, "bob", address=ATTACKER).status_code == 302


def test_a_login_under_attack_slows_down_failed_addresses_without_locking(make_app, limiter):
    client = make_app(limiter).test_client()
    for n in range(LOGIN_SLOWDOWN_AFTER + 1):
        fail(client, "alice", f"203.0.113.{n + 1}")
    # An address that has failed before (for another login) tries alice right away.
    fail(client, "nobody", "192.0.2.50")

    slowed = sign_in(client, "alice", address="192.0.2.50")

    assert slowed.status_code == 429
    assert "slowed down" in slowed.text
    assert 0 < int(slowed.headers["Retry-After"]) <= SLOWDOWN_SECONDS
    # The owner's clean address is not refused meanwhile.
    assert sign_in(client, "alice", address=VICTIM_DESK).status_code == 302


def test_an_address_trying_many_logins_is_capped(make_app, limiter):
    client = make_app(limiter).test_client()
    for n in range(ADDRESS_MAX_FAILURES):
        fail(client, f"nobody{n}", ATTACKER)  # one try each: no login backs off

    capped = sign_in(client, "secretary", address=ATTACKER)

    assert capped.status_code == 429
    assert "signing in from your network is paused" in capped.text
    assert int(capped.headers["Retry-After"]) > 60
    assert sign_in(client, "secretary", address="192.0.2.8").status_code == 302


def test_failures_of_the_same_login_in_other_spellings_count_together(make_app, limiter):
    client = make_app(limiter).test_client()
    fail(client, "alice", ATTACKER, times=PAIR_FREE_FAILURES - 1)
    fail(client, "ALICE ", ATTACKER)

    assert sign_in(client, "Alice", address=ATTACKER).status_code == 429


def test_a_successful_sign_in_forgets_the_failures_of_that_address_and_login(make_app, limiter):
    client = make_app(limiter).test_client()
    fail(client, "alice", VICTIM_DESK, times=PAIR_FREE_FAILURES - 1)
    assert sign_in(client, "alice", address=VICTIM_DESK).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token_in(client.get("/").text)})

    # Two more would have made four (a wait); after the reset they are two.
    fail(client, "alice", VICTIM_DESK, times=PAIR_FREE_FAILURES - 1)
    assert sign_in(client, "alice", address=VICTIM_DESK).status_code == 302


# --- the backoff over time (the database store: time-machine moves its clock) -------------


def test_each_further_failure_doubles_the_wait_and_the_wait_ends(make_app, time_machine):
    time_machine.move_to(datetime.now(UTC), tick=False)
    client = make_app(make_login_limiter(dataclasses.replace(get_settings(), redis_url=None))).test_client()
    fail(client, "alice", ATTACKER, times=PAIR_FREE_FAILURES)

    waits = []
    for _ in range(3):
        refused = sign_in(client, "alice", address=ATTACKER)
        assert refused.status_code == 429
        waits.append(int(refused.headers["Retry-After"]))
        time_machine.shift(timedelta(seconds=waits[-1]))
        fail(client, "alice", ATTACKER)  # allowed again, and wrong again

    assert waits == [BACKOFF_FIRST_SECONDS, 2 * BACKOFF_FIRST_SECONDS, 4 * BACKOFF_FIRST_SECONDS]
    time_machine.shift(timedelta(seconds=8 * BACKOFF_FIRST_SECONDS))
    assert sign_in(client, "alice", address=ATTACKER).status_code == 302


# --- where the counts are kept ---------------------------------------------------------------


def test_while_redis_is_down_the_counts_go_to_the_database(make_app, session):
    down = f"redis://127.0.0.1:{free_port()}/0"
    limiter = make_login_limiter(dataclasses.replace(get_settings(), redis_url=down))
    client = make_app(limiter).test_client()

    fail(client, "alice", ATTACKER, times=PAIR_FREE_FAILURES)

    assert sign_in(client, "alice", address=ATTACKER).status_code == 429
    keys = session.scalars(select(LoginLimitCounter.key)).all()
    assert any(ATTACKER in key and "alice" in key for key in keys)


def test_the_redis_store_is_shared_between_workers(redis_url, redis_prefix, make_app):
    # Two gunicorn workers each build their own limiter; they must count together.
    def worker() -> LoginLimiter:
        return LoginLimiter(
            FallbackStorage(redis_storage(redis_url, prefix=redis_prefix), DatabaseStorage(get_db))
        )

    first, second = make_app(worker()).test_client(), make_app(worker()).test_client()
    fail(first, "alice", ATTACKER, times=PAIR_FREE_FAILURES)

    assert sign_in(second, "alice", address=ATTACKER).status_code == 429
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{redis_prefix}*"))
    assert keys
    assert all(client.ttl(key) > 0 for key in keys)  # keys expire on their own
    client.close()


def test_settings_choose_redis_with_the_database_behind_it_or_the_database_alone():
    settings = get_settings()

    embedded = make_login_limiter(dataclasses.replace(settings, redis_url=None))
    shared = make_login_limiter(dataclasses.replace(settings, redis_url="redis://127.0.0.1:6379/15"))

    assert isinstance(embedded.storage, DatabaseStorage)
    assert isinstance(shared.storage, FallbackStorage)
    assert isinstance(shared.storage.fallback, DatabaseStorage)


def test_behind_a_proxy_the_forwarded_client_address_is_counted(web_session_factory):
    """With TICKETFLOW_PROXY_COUNT=1 one noisy client does not slow everyone behind nginx."""
    settings = dataclasses.replace(get_settings(), proxy_count=1, redis_url=None)
    app = create_app(
        settings, session_factory=web_session_factory, login_limiter=make_login_limiter(settings)
    )
    client = app.test_client()

    def attempt(login: str, forwarded_for: str) -> int:
        headers = {"X-Forwarded-For": forwarded_for}
        page = client.get("/login", headers=headers)
        return client.post(
            "/login",
            data={"login": login, "password": "wrong-password", "csrf_token": csrf_token_in(page.text)},
            headers=headers,
        ).status_code

    for _ in range(PAIR_FREE_FAILURES):
        attempt("nobody", "203.0.113.7")
    assert attempt("nobody", "203.0.113.7") == 429
    assert attempt("nobody", "198.51.100.2") == 200
