"""Tables as CSV (UTF-8 with a BOM, so spreadsheet programs read non-Latin names right)."""

from __future__ import annotations

import csv
import io

from reports.figures import Table

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    # A queue or agent name that starts like a formula must stay text in a spreadsheet.
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def to_csv(table: Table) -> str:
    """The table with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_cell(value) for value in row])
    return "\ufeff" + buffer.getvalue()
