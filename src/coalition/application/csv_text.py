"""CSV as the statements, entries and reports are downloaded and attached: comma-separated, one row a line.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return before one) as a
formula, so a partner, outlet, receipt or login named `=HYPERLINK(...)` would run in the reader's spreadsheet.
Such text cells get a leading apostrophe (OWASP's advice), which spreadsheets show as text. Numbers stay numbers:
an amount such as `-600.00` is no formula and is written as it is.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)


def neutralised_cell(cell: object) -> object:
    """The cell as written: text a spreadsheet would run as a formula gets a leading apostrophe."""
    if not isinstance(cell, str) or not cell.startswith(FORMULA_PREFIXES) or _PLAIN_NUMBER.fullmatch(cell):
        return cell
    return "'" + cell


def csv_text(rows: Iterable[Sequence[object]]) -> str:
    return csv_lines(rows, ",")


DELIMITERS = {"comma": ",", "semicolon": ";"}
ENCODINGS = ("utf-8", "cp1251")


def csv_lines(rows: Iterable[Sequence[object]], delimiter: str = ",") -> str:
    """Rows as CSV with a chosen delimiter (a comma, or the semicolon a spreadsheet in a Russian locale expects)."""
    buffer = io.StringIO()
    minimal = csv.writer(buffer, lineterminator="\n", delimiter=delimiter)
    # The writer quotes a cell holding a line feed (its line terminator) but not a lone carriage return, which
    # readers take for a row's end: a row with one is quoted whole.
    quoted = csv.writer(buffer, lineterminator="\n", delimiter=delimiter, quoting=csv.QUOTE_ALL)
    for row in rows:
        cells = [neutralised_cell(cell) if cell.__class__ is str else cell for cell in row]
        if any(cell.__class__ is str and "\r" in cell for cell in cells):
            quoted.writerow(cells)
        else:
            minimal.writerow(cells)
    return buffer.getvalue()


def encoded(text: str, encoding: str) -> bytes:
    """The text in `encoding` (utf-8 or cp1251); a character Windows-1251 has no letter for becomes `?`."""
    return text.encode(encoding, errors="replace")
