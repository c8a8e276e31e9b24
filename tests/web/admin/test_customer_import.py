"""The CSV import pages: upload → preview → import → report, and hostile files.

The acceptance of issue 11 through the pages: 1,000 customers with 10 bad rows; the report
page shows the 10 lines with their reasons and the 990 customers exist.
"""

from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from desk.customer.models import CustomerImport, CustomerUser
from tests.customer_csv import BAD_ROWS, GOOD_ROWS, thousand_customers
from tests.web.conftest import csrf_token_in


def _upload(client, data: bytes, name: str = "people.csv", **fields: str):
    page = client.get("/admin/customers/import")
    assert page.status_code == 200
    form = {"csrf_token": csrf_token_in(page.text), "file": (io.BytesIO(data), name), **fields}
    return client.post("/admin/customers/import", data=form, content_type="multipart/form-data")


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _report_rows(html: str) -> dict[int, str]:
    rows = re.findall(r'<tr data-line="(\d+)" data-code="([a-z_]+)">(.*?)</tr>', html, re.S)
    return {int(line): code for line, code, _cells in rows}


def test_upload_preview_import_report_of_a_thousand_customers(client, login, session):
    login("admin")
    uploaded = _upload(client, thousand_customers())
    assert uploaded.status_code == 303
    preview = client.get(uploaded.headers["Location"])
    assert preview.status_code == 200
    text = _text(preview.text)
    assert "read as utf-8, columns separated by semicolon ;" in text
    assert f"{GOOD_ROWS} of 1000 rows can be imported, 10 are refused." in text
    assert "E-Mail e-mail address" in text
    assert "Language language" in text
    assert "customer0001@import.example" in text
    assert _report_rows(preview.text) == {line: code for line, (code, _row) in BAD_ROWS.items()}
    assert session.scalar(select(func.count()).where(CustomerUser.email.like("%@import.example"))) == 0

    token = csrf_token_in(preview.text.split('action="/admin/customers/import/', 1)[1])
    ran = client.post(uploaded.headers["Location"], data={"csrf_token": token})
    assert ran.status_code == 303
    report = client.get(ran.headers["Location"])
    text = _text(report.text)
    assert f"{GOOD_ROWS} customers imported, 10 rows refused." in text
    assert _report_rows(report.text) == {line: code for line, (code, _row) in BAD_ROWS.items()}
    assert "“not-an-email” is not an e-mail address." in text
    assert "The login “customer0001” is in the file twice (also on line 2)." in text
    assert "A customer with the e-mail address “jane.roe@acme.example” exists already." in text
    assert "Unknown language “xx” (en, de, ru or hu)." in text
    assert "The required field e-mail address is empty." in text
    assert "Unknown company “NOPE Ltd”" in text
    session.expire_all()
    assert (
        session.scalar(select(func.count()).where(CustomerUser.email.like("%@import.example"))) == GOOD_ROWS
    )
    # Running it again (a replayed form) imports nothing twice.
    again = client.post(uploaded.headers["Location"], data={"csrf_token": token})
    assert again.status_code == 409
    assert (
        session.scalar(select(func.count()).where(CustomerUser.email.like("%@import.example"))) == GOOD_ROWS
    )


def test_the_report_answers_in_every_language(client, login):
    login("admin")
    uploaded = _upload(client, b"email,language\nbad,en\n")
    token = csrf_token_in(client.get(uploaded.headers["Location"]).text.split("import_id", 1)[-1])
    ran = client.post(uploaded.headers["Location"], data={"csrf_token": token})
    for language in ("de", "ru", "hu"):
        page = client.get(ran.headers["Location"], headers={"Accept-Language": language})
        assert page.status_code == 200
        assert _report_rows(page.text) == {2: "bad_email"}


def test_a_windows_1251_file_with_commas_and_the_create_companies_choice(client, login, session):
    login("admin")
    data = "email,first name,company id,company\nivan.s@ural.example,Иван,URAL,Урал\n".encode("cp1251")
    uploaded = _upload(client, data, create_companies="on")
    assert uploaded.status_code == 303
    assert uploaded.headers["Location"].endswith("?create_companies=on")
    preview = client.get(uploaded.headers["Location"])
    assert "read as windows-1251, columns separated by comma ," in _text(preview.text)
    assert "Иван" in preview.text
    assert "1 companies will be created." in _text(preview.text)
    token = csrf_token_in(preview.text.split('action="/admin/customers/import/', 1)[1])
    client.post(
        uploaded.headers["Location"].split("?")[0], data={"csrf_token": token, "create_companies": "on"}
    )
    ivan = session.scalars(select(CustomerUser).where(CustomerUser.email == "ivan.s@ural.example")).one()
    assert (ivan.first_name, ivan.company.customer_id, ivan.company.name) == ("Иван", "URAL", "Урал")


def test_hostile_uploads_are_422_with_the_reason_next_to_the_file_field(client, login, session):
    login("admin")
    cases = {
        b"email\nx@y.example\x00\n": "NUL bytes",
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4: "NUL bytes",
        bytes(range(1, 128)) * 10: "control character",
        b"email\n" + b"x" * 300_000 + b"\n": "cannot be read as CSV",
        b"email\n" * 1_000_000: "larger than 5 MiB",
        b"name\nnobody\n": "no column for the e-mail address",
        b"": "the file is empty",
    }
    for data, reason in cases.items():
        response = _upload(client, data)
        assert response.status_code == 422, reason
        error = re.search(r'id="field-file-error">([^<]*)<', response.text)
        assert error, (reason, response.text[-2000:])
        assert reason in error.group(1), (reason, error.group(1))
    no_file = client.post(
        "/admin/customers/import",
        data={"csrf_token": csrf_token_in(client.get("/admin/customers/import").text)},
    )
    assert no_file.status_code == 422
    assert "choose a CSV file" in no_file.text
    bad_choice = _upload(client, b"email\nx@y.example\n", encoding="ebcdic", delimiter="pipe")
    assert bad_choice.status_code == 422
    assert 'id="field-encoding-error"' in bad_choice.text
    assert 'value="ebcdic"' not in bad_choice.text
    assert session.scalar(select(func.count()).select_from(CustomerImport)) == 0


def test_an_unknown_import_is_404(client, login):
    login("admin")
    assert client.get("/admin/customers/import/987654").status_code == 404
    assert client.get("/admin/customers/import/99999999999999").status_code == 404
