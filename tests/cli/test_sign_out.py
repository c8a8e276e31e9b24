"""``ticketflow user sign-out LOGIN`` as an administrator runs it: a fresh process, fresh database.

It follows ``tests/cli/test_readme_commands.py``: SQLite and PostgreSQL, the real ``ticketflow``
executable.  The sessions it ends are opened through the service, as a sign-in does.
"""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db import session_scope
from desk.agent import service as agents
from desk.agent.models import AgentSession
from tests.subprocesses import TICKETFLOW, ticketflow_env


@pytest.mark.slow
def test_sign_out_ends_every_session_of_that_agent_only(database_url_for_cli, factory, tmp_path):
    env = ticketflow_env(database_url_for_cli, tmp_path / "var")

    def tf(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [TICKETFLOW, *args], env=env, capture_output=True, text=True, timeout=180, check=False
        )

    assert tf("db", "upgrade").returncode == 0
    for login in ("nina", "otto"):
        assert tf("user", "create", login, "--password", "s3cret-pass").returncode == 0
    with session_scope(factory) as session:
        for login in ("nina", "nina", "otto"):
            agents.start_session(
                session, agent=agents.get_agent(session, login=login), lifetime=timedelta(hours=12)
            )

    done = tf("user", "sign-out", "nina")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "agent nina signed out everywhere (2 session(s) ended)"
    with session_scope(factory) as session:
        live = session.scalars(select(AgentSession).where(AgentSession.revoked_at.is_(None))).all()
        assert [row.agent.login for row in live] == ["otto"]

    unknown = tf("user", "sign-out", "nobody")
    assert unknown.returncode == 1
    assert "no agent with login 'nobody'" in unknown.stdout + unknown.stderr
    assert "Traceback" not in unknown.stderr
