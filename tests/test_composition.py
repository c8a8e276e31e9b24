"""The composition root in a fresh interpreter: what bootstrap wires, and what refuses without it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.subprocesses import ticketflow_env


def _python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = ticketflow_env(f"sqlite:///{tmp_path / 'unused.sqlite3'}", tmp_path)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_web_app_refuses_to_start_half_wired(tmp_path):
    done = _python(
        """
        from web import create_app
        create_app()
        """,
        tmp_path,
    )
    assert done.returncode != 0
    assert "call ticketflow.bootstrap.bootstrap() first" in done.stderr


def test_bootstrap_registers_models_jobs_listeners_and_operators_once(tmp_path):
    done = _python(
        """
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        from core import jobs
        from engine import registry
        from mail import tasks
        from ticketflow.bootstrap import bootstrap

        assert not event.contains(Session, "after_flush", tasks._send_new_outbox_rows)
        bootstrap()
        bootstrap()
        assert event.contains(Session, "after_flush", tasks._send_new_outbox_rows)
        print(sorted(spec.name for spec in jobs.periodic_jobs()))
        print(sorted(registry.operators()))
        from web import create_app
        print(create_app().name)
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    periodic, operators, app = done.stdout.splitlines()
    for name in (
        "desk.ticket.tasks.release_expired_locks",
        "engine.tasks.fire_due_timers",
        "flows.jobs.sweep_pending",
        "flows.jobs.sweep_escalations",
        "reports.jobs.weekly_reports",
        "mail.tasks.sweep_outbox",
        "mail.tasks.sweep_raw_mails",
        "mail.tasks.fetch_mailboxes",
    ):
        assert name in periodic
    assert "'move_queue'" in operators
    assert "'send_acknowledgement'" in operators
    assert app == "web"
