"""Tables as CSV (UTF-8 with a BOM, so spreadsheet programs read non-Latin names right) and XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import xlsxwriter

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


def to_xlsx(tables: Sequence[Table]) -> bytes:
    """A workbook with one sheet per table; text stays text (no formula is ever written)."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    bold = workbook.add_format({"bold": True})
    for table in tables:
        sheet = workbook.add_worksheet(table.name[:31])
        sheet.write_row(0, 0, table.columns, bold)
        for index, row in enumerate(table.rows, start=1):
            for column, value in enumerate(row):
                if isinstance(value, str):
                    sheet.write_string(index, column, value)
                elif value is not None:
                    sheet.write_number(index, column, value)
        sheet.set_column(0, max(len(table.columns) - 1, 0), 18)
    workbook.close()
    return buffer.getvalue()
