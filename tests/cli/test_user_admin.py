"""``ticketflow user create/deactivate/activate``: the admin pages' services, from a fresh process."""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import select

from core.db import session_scope
from desk.agent.models import Agent
from desk.audit.models import AuditEntry
from tests.subprocesses import TICKETFLOW, ticketflow_env


@pytest.mark.slow
def test_agents_are_created_deactivated_and_reactivated_with_an_audit_trail(
    database_url_for_cli, factory, tmp_path
):
    env = ticketflow_env(database_url_for_cli, tmp_path / "var")

    def tf(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [TICKETFLOW, *args], env=env, capture_output=True, text=True, timeout=180, check=False
        )

    assert tf("db", "upgrade").returncode == 0
    for login in ("nina", "otto"):
        created = tf("user", "create", login, "--password", "s3cret-pass", "--email", f"{login}@example.org")
        assert created.returncode == 0, created.stderr
    refused = tf("user", "create", "bad", "--password", "s3cret-pass", "--email", "not-an-address")
    assert refused.returncode == 1
    assert "not an e-mail address" in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr

    done = tf("user", "deactivate", "nina", "otto")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["nina: changed", "otto: changed"]
    again = tf("user", "activate", "nina")
    assert again.stdout.splitlines() == ["nina: changed"]

    with session_scope(factory) as session:
        active = {row[0]: row[1] for row in session.execute(select(Agent.login, Agent.active))}
        assert active == {"nina": True, "otto": False}
        trail = [
            (e.object_label, e.action, e.actor_name)
            for e in session.scalars(
                select(AuditEntry).where(AuditEntry.object_type == "agent").order_by(AuditEntry.id)
            )
        ]
        assert trail == [
            ("nina", "create", "system"),
            ("otto", "create", "system"),
            ("nina", "deactivate", "system"),
            ("otto", "deactivate", "system"),
            ("nina", "reactivate", "system"),
        ]

    unknown = tf("user", "deactivate", "nobody")
    assert unknown.returncode == 1
    assert "no agent with login 'nobody'" in unknown.stdout + unknown.stderr
