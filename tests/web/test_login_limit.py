"""The login rate limit: 5 failures per login or per address in 15 minutes, then HTTP 429.

The web tests run once with the in-memory limiter and once with the Redis one against the
real Redis (database 15, a key prefix of its own per test); the limiter classes also get
tests of their sliding window with a fake clock.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from core.config import get_settings
from tests.web.conftest import csrf_token_in, sign_in
from web import create_app
from web.auth.limiter import (
    MAX_FAILURES,
    WINDOW_SECONDS,
    InMemoryLoginLimiter,
    LoginLimiter,
    RedisLoginLimiter,
    attempt_keys,
    make_login_limiter,
)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A key prefix no other test uses; its keys are removed afterwards."""
    prefix = f"tf-test:login-limit:{uuid.uuid4().hex}:"
    yield prefix
    for key in redis_client.scan_iter(match=f"{prefix}*"):
        redis_client.delete(key)


@pytest.fixture(params=["memory", "redis"])
def limiter_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limiter(limiter_kind: str, request: pytest.FixtureRequest, clock: FakeClock) -> LoginLimiter:
    """Each implementation, on a fake clock."""
    if limiter_kind == "memory":
        return InMemoryLoginLimiter(clock=clock)
    client = request.getfixturevalue("redis_client")
    prefix = request.getfixturevalue("redis_prefix")
    return RedisLoginLimiter(client, prefix=prefix, clock=clock)


# --- through the web -------------------------------------------------------------------


def test_the_sixth_attempt_is_refused_even_with_the_right_password(make_app, limiter):
    client = make_app(limiter).test_client()
    for _ in range(MAX_FAILURES):
        failed = sign_in(client, "alice", "wrong-password")
        assert failed.status_code == 200
        assert "The login or the password is not correct" in failed.text

    refused = sign_in(client, "alice")

    assert refused.status_code == 429
    assert "Too many failed sign-in attempts" in refused.text
    assert refused.headers["Retry-After"] == str(WINDOW_SECONDS)
    assert client.get("/").status_code == 302  # not signed in


def test_failures_for_one_login_from_many_addresses_block_that_login(make_app, limiter):
    client = make_app(limiter).test_client()
    for n in range(MAX_FAILURES):
        sign_in(client, "alice", "wrong-password", address=f"10.0.0.{n + 1}")

    assert sign_in(client, "alice", address="10.9.9.9").status_code == 429
    assert sign_in(client, "ALICE ", address="10.9.9.9").status_code == 429  # same login, other spelling
    # Other agents are not affected.
    assert sign_in(client, "bob", address="10.9.9.9").status_code == 302


def test_failures_for_many_logins_from_one_address_block_that_address(make_app, limiter):
    client = make_app(limiter).test_client()
    for login in ("alice", "bob", "chair", "trainee", "nobody"):
        sign_in(client, login, "wrong-password", address="192.0.2.7")

    assert sign_in(client, "secretary", address="192.0.2.7").status_code == 429
    assert sign_in(client, "secretary", address="192.0.2.8").status_code == 302


def test_the_block_ends_when_the_window_has_passed(make_app, limiter, clock):
    client = make_app(limiter).test_client()
    for _ in range(MAX_FAILURES):
        sign_in(client, "alice", "wrong-password")
    assert sign_in(client, "alice").status_code == 429

    clock.now += WINDOW_SECONDS + 1

    assert sign_in(client, "alice").status_code == 302


def test_a_successful_sign_in_clears_the_failures_of_that_login(make_app, limiter):
    client = make_app(limiter).test_client()
    for n in range(MAX_FAILURES - 1):
        sign_in(client, "alice", "wrong-password", address=f"10.0.1.{n}")
    assert sign_in(client, "alice", address="10.0.1.99").status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token_in(client.get("/").text)})

    # Four more failures would have made nine; after the reset they are four.
    for n in range(MAX_FAILURES - 1):
        sign_in(client, "alice", "wrong-password", address=f"10.0.2.{n}")
    assert sign_in(client, "alice", address="10.0.2.99").status_code == 302


# --- the limiters themselves -----------------------------------------------------------


def test_failures_older_than_the_window_do_not_count(limiter, clock):
    keys = attempt_keys(login="alice", address="127.0.0.1")
    for _ in range(MAX_FAILURES - 1):
        limiter.record_failure(keys)
    clock.now += WINDOW_SECONDS - 10
    limiter.record_failure(keys)
    assert limiter.is_blocked(keys)

    clock.now += 11  # the first four have left the window

    assert not limiter.is_blocked(keys)


def test_reset_forgets_one_key_only(limiter):
    login_key, address_key = keys = attempt_keys(login="alice", address="127.0.0.1")
    for _ in range(MAX_FAILURES):
        limiter.record_failure(keys)

    limiter.reset(login_key)

    assert not limiter.is_blocked([login_key])
    assert limiter.is_blocked([address_key])


def test_the_redis_limiter_is_shared_between_instances(redis_client, redis_prefix):
    # Two gunicorn workers each build their own limiter; they must count together.
    first = RedisLoginLimiter(redis_client, prefix=redis_prefix)
    second = RedisLoginLimiter(redis_client, prefix=redis_prefix)
    keys = attempt_keys(login="alice", address="127.0.0.1")
    for _ in range(MAX_FAILURES):
        first.record_failure(keys)

    assert second.is_blocked(keys)
    assert redis_client.ttl(f"{redis_prefix}{keys[0]}") > 0  # keys expire on their own


def test_an_unreachable_redis_does_not_lock_everyone_out_or_keep_them_waiting():
    # Nothing listens on port 1 of localhost: connections are refused at once.
    settings = dataclasses.replace(get_settings(), redis_url="redis://127.0.0.1:1/0")
    limiter = make_login_limiter(settings)
    keys = attempt_keys(login="alice", address="127.0.0.1")
    started = time.monotonic()

    limiter.record_failure(keys)
    limiter.reset(keys[0])
    blocked = limiter.is_blocked(keys)

    assert not blocked
    assert time.monotonic() - started < 3


def test_settings_choose_redis_when_a_redis_url_is_configured(redis_url):
    settings = get_settings()

    assert isinstance(make_login_limiter(dataclasses.replace(settings, redis_url=None)), InMemoryLoginLimiter)
    assert isinstance(
        make_login_limiter(dataclasses.replace(settings, redis_url=redis_url)), RedisLoginLimiter
    )


def test_behind_a_proxy_the_forwarded_client_address_is_counted(web_session_factory):
    """With TICKETFLOW_PROXY_COUNT=1 one noisy client does not block everyone behind nginx."""
    settings = dataclasses.replace(get_settings(), proxy_count=1)
    app = create_app(settings, session_factory=web_session_factory, login_limiter=InMemoryLoginLimiter())
    client = app.test_client()

    def attempt(login: str, forwarded_for: str) -> int:
        headers = {"X-Forwarded-For": forwarded_for}
        page = client.get("/login", headers=headers)
        return client.post(
            "/login",
            data={"login": login, "password": "wrong-password", "csrf_token": csrf_token_in(page.text)},
            headers=headers,
        ).status_code

    for n in range(5):
        attempt(f"nobody{n}", "203.0.113.7")
    assert attempt("nobody9", "203.0.113.7") == 429
    assert attempt("nobody9", "198.51.100.2") == 200
