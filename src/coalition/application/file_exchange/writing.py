"""Tables written as files: CSV in UTF-8 with a BOM (so that Excel opens it as UTF-8; the reader takes it back) and
XLSX (openpyxl's write-only workbook). Text a spreadsheet would run as a formula gets a leading apostrophe, as in
every CSV the server writes (application/csv_text.py); the reader drops it again."""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterable, Sequence

from coalition.application.csv_text import csv_lines, neutralised_cell
from coalition.application.file_exchange.table import FileFormat

MEDIA_TYPES = {
    FileFormat.CSV: "text/csv; charset=utf-8",
    FileFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]], delimiter: str = ",") -> bytes:
    return codecs.BOM_UTF8 + csv_lines([list(header), *rows], delimiter).encode("utf-8")


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[object]], sheet_title: str = "Sheet1") -> bytes:
    from openpyxl import Workbook  # only when a workbook is written

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    sheet.append(list(header))
    for row in rows:
        sheet.append([neutralised_cell(cell) for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def table_bytes(
    file_format: FileFormat, header: Sequence[str], rows: Iterable[Sequence[object]], delimiter: str = ","
) -> bytes:
    """`delimiter`: a CSV's (a rejects file keeps the uploaded file's, so that a spreadsheet opens both alike)."""
    if file_format is FileFormat.XLSX:
        return xlsx_bytes(header, rows)
    return csv_bytes(header, rows, delimiter)
