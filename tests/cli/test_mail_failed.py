"""``ticketflow mail failed`` and ``mail reprocess --all-failed`` as fresh processes.

A piped mail fails for real (every queue invalid: no queue for inbound mail), is listed with
its reason, fails again while the cause is there, and becomes a ticket once it is fixed.
"""

from __future__ import annotations

import re
import subprocess
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlalchemy import select, update

from core.db import session_scope
from desk.queue.models import Queue
from desk.rawmail.models import RawMail
from desk.ticket.models import Ticket
from tests.subprocesses import TICKETFLOW, ticketflow_env

SUBJECT = "Heizung fällt aus"


def _mail() -> bytes:
    mail = EmailMessage()
    mail["From"] = "Hanna Heat <hanna@heat.example>"
    mail["To"] = "support@helpdesk.example"
    mail["Subject"] = SUBJECT
    mail["Message-ID"] = make_msgid(domain="heat.example")
    mail.set_content("Seit heute Morgen ist es kalt.")
    return mail.as_bytes()


@pytest.mark.slow
def test_failed_mail_is_listed_and_reprocessed_after_the_fix(database_url_for_cli, factory, tmp_path):
    env = ticketflow_env(database_url_for_cli, tmp_path / "var")

    def tf(*args: str, stdin: bytes | None = None, status: int = 0, fails_mail: bool = False) -> str:
        done = subprocess.run(
            [TICKETFLOW, *args], env=env, input=stdin, capture_output=True, timeout=180, check=False
        )
        assert done.returncode == status, (args, done.stdout.decode(), done.stderr.decode())
        # A mail that fails is logged with its traceback (for the operator); nothing else may.
        if not fails_mail:
            assert b"Traceback" not in done.stderr, done.stderr.decode()
        return (done.stdout if status == 0 else done.stderr).decode().strip()

    tf("db", "upgrade")
    tf("seed", "demo")
    assert tf("mail", "failed") == "no failed mail"
    with session_scope(factory) as session:
        session.execute(update(Queue).values(valid=False))

    stored = tf("mail", "ingest", "--sender", "bounces@heat.example", stdin=_mail(), fails_mail=True)
    match = re.fullmatch(r"stored as raw mail (\d+)", stored)
    assert match, stored
    raw_id = int(match.group(1))

    lines = tf("mail", "failed").splitlines()
    assert len(lines) == 2, lines
    fields = lines[0].split("\t")
    assert fields[0] == str(raw_id)
    assert fields[2:6] == ["pipe", "bounces@heat.example", SUBJECT, "1 attempt(s)"]
    assert fields[6] == "LookupError: there is no queue for inbound mail; create one first"
    assert lines[1].startswith("1 failed mail(s)")

    # While the cause is still there, the mail fails again and stays listed.
    again = tf("mail", "reprocess", "--all-failed", fails_mail=True).splitlines()
    assert again[0].startswith(f"raw mail {raw_id}: failed (LookupError: there is no queue for inbound mail")
    assert again[1] == "0 of 1 processed, 1 failed again"
    assert "2 attempt(s)" in tf("mail", "failed")

    with session_scope(factory) as session:  # the fix
        session.execute(update(Queue).values(valid=True))
    assert tf("mail", "reprocess", "--all-failed").splitlines() == [
        f"raw mail {raw_id}: processed",
        "1 of 1 processed",
    ]
    assert tf("mail", "failed") == "no failed mail"
    assert tf("mail", "reprocess", "--all-failed") == "no failed mail"
    with session_scope(factory) as session:
        raw = session.get(RawMail, raw_id)
        assert raw is not None
        assert raw.status == "processed"
        assert session.scalars(select(Ticket.title).where(Ticket.id == raw.ticket_id)).one() == SUBJECT

    for wrong in (("mail", "reprocess"), ("mail", "reprocess", str(raw_id), "--all-failed")):
        assert "give either a RAW_MAIL_ID or --all-failed" in tf(*wrong, status=2)
