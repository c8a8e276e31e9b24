"""Reading the API writes nothing: a token's "last used" moves at most every few minutes."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

from core.db import utcnow
from desk.agent.models import ApiToken
from desk.agent.service import TOKEN_TOUCH_INTERVAL
from tests.query_count import count_statements


def _token_updates(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith("UPDATE") and "api_token" in s]


def test_ten_gets_write_the_token_once_and_again_only_after_the_interval(api_as, session, engine):
    api = api_as("secretary")

    with count_statements(engine) as statements:
        pages = [api.get("/queues") for _ in range(10)]

    assert all(page.status_code == 200 and page.get_json() for page in pages)  # real answers
    # Every statement the ten requests sent: not one other write either.
    writes = [s for s in statements if s.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))]
    assert len(_token_updates(statements)) == 1  # the first use is recorded
    assert writes == _token_updates(statements)
    token = session.scalars(select(ApiToken).where(ApiToken.name == "test")).one()
    first_use = token.last_used_at
    assert first_use is not None

    later_on = time_machine.travel(utcnow() + TOKEN_TOUCH_INTERVAL + timedelta(seconds=1), tick=False)
    with later_on, count_statements(engine) as later:
        assert api.get("/queues").status_code == 200

    assert len(_token_updates(later)) == 1
    session.refresh(token)
    assert token.last_used_at > first_use
