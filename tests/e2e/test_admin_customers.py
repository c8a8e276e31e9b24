"""In Chromium: the administrator imports customers from a CSV file (issue 11's acceptance).

Upload → preview (how the file was read, the columns, the first rows, the rows that would be
refused) → import → report: 990 of 1,000 customers imported, the 10 bad rows listed with
their line and reason, and the customers exist in the database.  Then one of them is edited
and deactivated on its page.
"""

from __future__ import annotations

from sqlalchemy import func, select

from core.db import session_scope
from desk.customer.models import CustomerUser
from tests.customer_csv import BAD_ROWS, GOOD_ROWS, thousand_customers
from tests.e2e.conftest import screenshot, sign_in


def test_upload_preview_import_report(page, live_server, e2e_factory):
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/admin/customers")
    page.get_by_role("link", name="Import from CSV").click()
    page.wait_for_load_state("networkidle")
    page.get_by_label("CSV file (at most 5 MiB)").set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": thousand_customers()}
    )
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_load_state("networkidle")

    summary = page.locator(".import-summary").inner_text()
    assert f"{GOOD_ROWS} of 1000 rows can be imported, 10 are refused." in summary
    assert "read as utf-8, columns separated by semicolon ;" in page.locator(".page-head").inner_text()
    mapping = page.locator(".import-mapping").inner_text()
    assert "E-Mail\te-mail address" in mapping
    assert "First name\tfirst name" in mapping
    assert page.locator(".import-rows tbody tr").count() == 10
    assert page.locator(".import-errors tbody tr").count() == 10
    screenshot(page, "admin-customer-import-preview")
    with session_scope(e2e_factory) as session:
        assert session.scalar(select(func.count()).where(CustomerUser.email.like("%@import.example"))) == 0

    page.get_by_role("button", name="Import the valid rows").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Import report"
    assert f"{GOOD_ROWS} customers imported, 10 rows refused." in page.locator(".import-summary").inner_text()
    rows = page.locator(".import-errors tbody tr")
    assert rows.count() == 10
    reported = {
        int(rows.nth(i).get_attribute("data-line")): rows.nth(i).get_attribute("data-code") for i in range(10)
    }
    assert reported == {line: code for line, (code, _row) in BAD_ROWS.items()}
    line_50 = page.locator('.import-errors tr[data-line="50"]').inner_text()
    assert "50" in line_50
    assert "“not-an-email” is not an e-mail address." in line_50
    screenshot(page, "admin-customer-import-report")
    with session_scope(e2e_factory) as session:
        assert (
            session.scalar(select(func.count()).where(CustomerUser.email.like("%@import.example")))
            == GOOD_ROWS
        )
        second = session.scalars(select(CustomerUser).where(CustomerUser.login == "customer0002")).one()
        assert (second.first_name, second.language) == ("Ольга", "ru")

    # The imported customer is found, edited and deactivated on its page.
    page.goto(f"{live_server}/admin/customers?q=customer0002%40import")
    page.get_by_role("link", name="customer0002").click()
    page.wait_for_load_state("networkidle")
    page.get_by_label("Last name").fill("Smirnova")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Deactivate").click()
    page.wait_for_load_state("networkidle")
    assert "This customer is deactivated" in page.locator(".page-head").inner_text()
    trail = page.locator(".audit-trail").inner_text()
    assert "deactivate" in trail
    assert "Smirnova" in trail
    with session_scope(e2e_factory) as session:
        second = session.scalars(select(CustomerUser).where(CustomerUser.login == "customer0002")).one()
        assert (second.last_name, second.valid) == ("Smirnova", False)


def test_a_binary_file_gets_a_clear_error_next_to_the_field(page, live_server):
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/admin/customers/import")
    page.get_by_label("CSV file (at most 5 MiB)").set_input_files(
        {"name": "photo.csv", "mimeType": "text/csv", "buffer": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"}
    )
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_load_state("networkidle")
    assert "the file contains NUL bytes" in page.locator("#field-file-error").inner_text()
