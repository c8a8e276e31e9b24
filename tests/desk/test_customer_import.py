"""The CSV import of customer users: reading any file, the per-row report, the acceptance.

Issue 11's acceptance: 1,000 customers with 10 bad rows (each bad for a different reason):
990 imported, the 10 reported with their line and reason, in one transaction.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from core.errors import Conflict, PermissionDenied, ValidationError
from desk.audit import service as audit
from desk.customer import csv_import
from desk.customer.models import CustomerCompany, CustomerImport, CustomerUser
from tests.customer_csv import BAD_ROWS, GOOD_ROWS, thousand_customers


def _imported(session) -> int:
    return session.scalar(select(func.count()).where(CustomerUser.email.like("%@import.example")))


def test_a_thousand_customers_with_ten_bad_rows(session, agent):
    admin = agent("admin")
    stored = csv_import.upload(session, actor=admin, data=thousand_customers(), file_name="people.csv")
    preview = csv_import.preview(session, actor=admin, stored=stored)
    assert (preview.parsed.encoding, preview.parsed.delimiter) == ("utf-8", ";")
    assert sorted(preview.parsed.mapping.values()) == sorted(
        ["login", "email", "first_name", "last_name", "company", "language"]
    )
    assert len(preview.first_rows) == 10
    assert preview.first_rows[0][0] == 2
    assert len(preview.plan.customers) == GOOD_ROWS
    assert _imported(session) == 0, "the preview writes nothing"

    done = csv_import.run(session, actor=admin, stored=stored)
    assert (done.imported_count, done.rejected_count, done.status) == (GOOD_ROWS, 10, "imported")
    report = {row.line: row.code for row in csv_import.report_of(done)}
    assert report == {line: code for line, (code, _row) in BAD_ROWS.items()}
    assert _imported(session) == GOOD_ROWS
    third = session.scalars(select(CustomerUser).where(CustomerUser.login == "customer0003")).one()
    assert (third.first_name, third.last_name, third.language, third.company.customer_id) == (
        "Jürgen",
        "Kunde 3",
        "hu",
        "ACME",
    )
    assert (
        session.scalars(select(CustomerUser).where(CustomerUser.login == "customer0002")).one().first_name
        == "Ольга"
    )
    # The file is not kept once its customers exist; one audit entry carries the counts.
    assert done.data == b""
    [entry] = audit.entries_for(session, object_type="customer_import", object_id=done.id)
    assert entry.new["imported"] == GOOD_ROWS
    assert entry.new["rejected"] == 10
    assert not audit.entries_for(session, object_type="customer_user")
    with pytest.raises(Conflict):
        csv_import.run(session, actor=admin, stored=done)


def test_messages_name_line_and_reason(session, agent):
    admin = agent("admin")
    stored = csv_import.upload(session, actor=admin, data=thousand_customers(","))
    done = csv_import.run(session, actor=admin, stored=stored)
    rows = {row.line: row.message for row in csv_import.report_of(done)}
    assert rows[50] == "bad e-mail address 'not-an-email'"
    assert rows[150] == "duplicate login 'customer0001' (also on line 2)"
    assert rows[250] == "duplicate e-mail address 'customer0002@import.example' (also on line 3)"
    assert rows[350] == "a customer with login 'john.doe@acme.example' exists already"
    assert rows[450] == "a customer with e-mail address 'jane.roe@acme.example' exists already"
    assert rows[550] == "unknown language 'xx' (one of en, de, ru, hu)"
    assert rows[650] == "missing required field email"
    assert rows[750] == "unknown company 'NOPE Ltd'"
    assert rows[850] == "a login is one word, not 'two words'"
    assert rows[950] == "first_name is longer than 200 characters"


def test_create_companies_makes_the_unknown_company(session, agent):
    admin = agent("admin")
    data = (
        "email,company id,company\nwho@new.example,NEWCO,New Company\nother@new.example,NEWCO,New Company\n"
    )
    stored = csv_import.upload(session, actor=admin, data=data.encode())
    refused = csv_import.preview(session, actor=admin, stored=stored)
    assert [row.code for row in refused.plan.errors] == ["unknown_company", "unknown_company"]
    done = csv_import.run(session, actor=admin, stored=stored, create_companies=True)
    assert (done.imported_count, done.companies_created) == (2, 1)
    newco = session.scalars(select(CustomerCompany).where(CustomerCompany.customer_id == "NEWCO")).one()
    assert newco.name == "New Company"
    assert {
        u.email for u in session.scalars(select(CustomerUser).where(CustomerUser.company_id == newco.id))
    } == {
        "who@new.example",
        "other@new.example",
    }


@pytest.mark.parametrize(
    ("encoded", "encoding", "first_name"),
    [
        ("email;Vorname\nj@x.de;Jürgen Groß\n".encode(), "utf-8", "Jürgen Groß"),
        ("\ufeffemail,first name\nj@x.de,Jürgen\n".encode("utf-8"), "utf-8", "Jürgen"),
        ("email;first name\nj@x.fr;Émile Çé\n".encode("cp1252"), "windows-1252", "Émile Çé"),
        (
            "email;имя\nivan@x.ru;Иван Петрович Сидоров\n".encode("cp1251"),
            "windows-1251",
            "Иван Петрович Сидоров",
        ),
        (b"email\tfirstname\nj@x.de\tTab\n", "utf-8", "Tab"),
    ],
)
def test_encodings_and_delimiters_are_detected(encoded, encoding, first_name):
    parsed = csv_import.parse(encoded)
    assert parsed.encoding == encoding
    assert parsed.rows[0][1][1] == first_name


def test_a_chosen_encoding_is_used_and_a_wrong_one_is_a_clear_error():
    data = "email;имя\nivan@x.ru;Иван\n".encode("cp1251")
    assert csv_import.parse(data, encoding="windows-1251").rows[0][1][1] == "Иван"
    with pytest.raises(ValidationError) as refused:
        csv_import.parse(data, encoding="utf-8")
    assert refused.value.errors["file"][0].startswith("the file is not valid utf-8")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"email\nx@y.z\x00\n", "the file contains NUL bytes"),
        ("email\n".encode("utf-16"), "the file contains NUL bytes"),
        (bytes(range(1, 128)) * 20, "holds a control character"),
        (bytes(range(128, 256)) * 20, "the file is not valid windows-125"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "the file contains NUL bytes"),
        (b"email\n" + b"a" * 200_000 + b"\n", "line 2 cannot be read as CSV"),
        (b"email\n" + b"a" * 5_000 + b"\n", "line 2 is too long"),
        (b"name,city\nx,y\n", "no column for the e-mail address"),
        (b"email\n" * (csv_import.MAX_BYTES // 6 + 1), "larger than 5 MiB"),
    ],
)
def test_hostile_files_are_a_clear_error(data, message):
    with pytest.raises(ValidationError) as refused:
        csv_import.parse(data)
    assert message in refused.value.errors["file"][0]


def test_only_administrators_upload_and_nothing_is_stored_for_an_unreadable_file(session, agent):
    with pytest.raises(PermissionDenied):
        csv_import.upload(session, actor=agent("alice"), data=b"email\nx@y.example\n")
    with pytest.raises(ValidationError):
        csv_import.upload(session, actor=agent("admin"), data=b"\x00\x01")
    assert session.scalar(select(func.count()).select_from(CustomerImport)) == 0
    stored = csv_import.upload(session, actor=agent("admin"), data=b"email\nx@y.example\n")
    with pytest.raises(PermissionDenied):
        csv_import.run(session, actor=agent("observer"), stored=stored)
    assert json.loads(stored.report) == []
    assert stored.status == "uploaded"
