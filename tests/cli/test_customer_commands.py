"""``ticketflow customer …`` as fresh processes: create, list, (de)activate, password, import.

The commands call the same services as the admin pages, so the same rules and audit entries
apply; the import of 1,000 rows with 10 bad ones reports each refused line with its reason.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db import session_scope
from core.security import verify_password
from desk.audit.models import AuditEntry
from desk.customer.models import CustomerUser
from tests.customer_csv import BAD_ROWS, GOOD_ROWS, thousand_customers
from tests.subprocesses import TICKETFLOW, ticketflow_env


@pytest.mark.slow
def test_customer_commands_and_the_csv_import(database_url_for_cli, factory, tmp_path: Path):
    env = ticketflow_env(database_url_for_cli, tmp_path / "var")

    def tf(*args: str, status: int = 0) -> str:
        done = subprocess.run(
            [TICKETFLOW, *args], env=env, capture_output=True, text=True, timeout=180, check=False
        )
        assert done.returncode == status, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        return (done.stdout + done.stderr).strip()

    tf("db", "upgrade")
    tf("seed", "demo")
    assert (
        tf("customer", "company-create", "INITECH", "Initech", "--city", "Austin")
        == "company INITECH created"
    )
    assert (
        tf(
            "customer",
            "create",
            "Mia@Initech.example",
            "--first-name",
            "Mia",
            "--company",
            "INITECH",
            "--language",
            "de",
        )
        == "customer mia@initech.example created"
    )
    refused = tf("customer", "create", "not-an-address", "--language", "xx", status=1)
    assert "not an e-mail address" in refused
    assert "one of en, de, ru, hu" in refused
    assert "no company with id 'NOPE'" in tf(
        "customer", "create", "a@b.example", "--company", "NOPE", status=1
    )
    assert tf("customer", "list", "initech").splitlines() == [
        "mia@initech.example\tmia@initech.example\tMia\tINITECH\tactive"
    ]
    assert tf("customer", "deactivate", "mia@initech.example") == "customer mia@initech.example is inactive"
    assert tf("customer", "deactivate", "mia@initech.example").endswith("(unchanged)")
    assert tf("customer", "reactivate", "MIA@initech.example") == "customer mia@initech.example is active"
    assert tf("customer", "password", "mia@initech.example", "--password", "portal-secret") == (
        "password of customer mia@initech.example set"
    )

    path = tmp_path / "people.csv"
    path.write_bytes(thousand_customers())
    dry = tf("customer", "import", str(path), "--dry-run").splitlines()
    assert dry[-1] == f"dry run: {GOOD_ROWS} would be imported, 10 refused, 0 companies would be created"
    lines = tf("customer", "import", str(path)).splitlines()
    assert lines[-1] == f"{GOOD_ROWS} imported, 10 refused, 0 companies created"
    assert [int(line.split(":")[0].removeprefix("line ")) for line in lines[:-1]] == sorted(BAD_ROWS)
    assert lines[0] == "line 50: bad e-mail address 'not-an-email'"
    assert "line 750: unknown company 'NOPE Ltd'" in lines

    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert "the file contains NUL bytes" in tf("customer", "import", str(binary), status=1)

    with session_scope(factory) as session:
        imported = session.scalar(select(func.count()).where(CustomerUser.email.like("%@import.example")))
        assert imported == GOOD_ROWS
        mia = session.scalars(select(CustomerUser).where(CustomerUser.login == "mia@initech.example")).one()
        assert (mia.first_name, mia.language, mia.company.name, mia.valid) == ("Mia", "de", "Initech", True)
        assert verify_password(mia.password_hash, "portal-secret")
        trail = session.execute(
            select(AuditEntry.object_type, AuditEntry.action)
            .where(AuditEntry.object_type.in_(["customer_user", "customer_company", "customer_import"]))
            .order_by(AuditEntry.id)
        ).all()
        # The dry run and the unchanged deactivation record nothing; the import one entry.
        assert [tuple(row) for row in trail] == [
            ("customer_company", "create"),
            ("customer_user", "create"),
            ("customer_user", "deactivate"),
            ("customer_user", "reactivate"),
            ("customer_user", "set_password"),
            ("customer_import", "import"),
        ]
