"""``ticketflow queue create`` with its display name and process: the same use case as the
admin page (``flows.queue_admin``), as a fresh ``ticketflow`` process on a fresh database.
"""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import select

from core.db import session_scope
from desk.audit import service as audit
from desk.queue.models import Queue
from tests.subprocesses import TICKETFLOW, ticketflow_env


@pytest.mark.slow
def test_queue_create_sets_the_identity_and_the_process_and_refuses_unknown_ones(
    database_url_for_cli, factory, tmp_path
):
    env = ticketflow_env(database_url_for_cli, tmp_path / "var")

    def tf(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [TICKETFLOW, *args], env=env, capture_output=True, text=True, timeout=180, check=False
        )

    assert tf("db", "upgrade").returncode == 0
    assert tf("process", "deploy").returncode == 0
    unknown = tf("queue", "create", "Gifts", "--group", "club", "--create-group", "--process", "nope")
    assert unknown.returncode == 1
    assert "choose a deployed process" in unknown.stderr + unknown.stdout
    done = tf(
        "queue",
        "create",
        "Gifts",
        "--group",
        "club",
        "--create-group",
        "--address",
        "gifts@club.example",
        "--display-name",
        "Club Gifts",
        "--process",
        "donation",
        "--customer-facing",
    )
    assert done.returncode == 0, done.stderr
    with session_scope(factory) as session:
        gifts = session.scalars(select(Queue).where(Queue.name == "Gifts")).one()
        assert (gifts.display_name, gifts.process_id, gifts.system_address) == (
            "Club Gifts",
            "donation",
            "gifts@club.example",
        )
        [entry] = audit.entries_for(session, object_type="queue", object_id=gifts.id)
        assert (entry.action, entry.actor_type) == ("create", "system")
