"""A CSV file of 1,000 customer users with 10 bad rows, each bad for a different reason.

Shared by the service, page, CLI and browser tests of the import (issue 11's acceptance).
The good rows are ``customer0001@import.example`` …; the bad rows sit at fixed lines.
"""

from __future__ import annotations

import csv
import io

HEADER = ["Login", "E-Mail", "First name", "Last name", "Company", "Language"]
# line → (reason code, row).  Line 1 is the header, data rows start on line 2.
BAD_ROWS: dict[int, tuple[str, list[str]]] = {
    50: ("bad_email", ["", "not-an-email", "Bad", "Address", "", "en"]),
    # the login of the good row on line 2 again
    150: ("duplicate_login", ["customer0001", "someone.else@import.example", "Twin", "Login", "", "en"]),
    # the address of the good row on line 3 again
    250: ("duplicate_email", ["twin.mail", "customer0002@import.example", "Twin", "Mail", "", "de"]),
    # a demo customer's login (the demo logins are the addresses)
    350: ("login_exists", ["john.doe@acme.example", "john.other@import.example", "John", "Again", "", "en"]),
    450: ("email_exists", ["jane.other", "jane.roe@acme.example", "Jane", "Again", "", "en"]),
    550: ("unknown_language", ["lang.bad", "lang.bad@import.example", "Lang", "Bad", "", "xx"]),
    650: ("missing_field", ["no.mail", "", "No", "Mail", "", "en"]),
    750: ("unknown_company", ["no.company", "no.company@import.example", "No", "Company", "NOPE Ltd", "en"]),
    850: ("bad_login", ["two words", "two.words@import.example", "Two", "Words", "", "en"]),
    950: ("too_long", ["long.name", "long.name@import.example", "L" * 201, "Name", "", "en"]),
}
LANGUAGES = ("en", "de", "ru", "hu")
GOOD_ROWS = 990


def thousand_customers(delimiter: str = ";") -> bytes:
    """The file as UTF-8 with a BOM (as spreadsheets save it), 1,000 data rows."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(HEADER)
    good = 0
    for line in range(2, 1002):
        if line in BAD_ROWS:
            writer.writerow(BAD_ROWS[line][1])
            continue
        good += 1
        company = "ACME Corp." if good % 3 == 0 else ""
        writer.writerow(
            [
                f"customer{good:04d}",
                f"customer{good:04d}@import.example",
                "Jürgen" if good % 2 else "Ольга",
                f"Kunde {good}",
                company,
                LANGUAGES[good % 4],
            ]
        )
    assert good == GOOD_ROWS
    return ("\ufeff" + out.getvalue()).encode("utf-8")
