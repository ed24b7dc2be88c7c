"""Tables written as files: CSV in UTF-8 with a BOM (so that Excel opens it as UTF-8; the reader takes it back) and
XLSX (openpyxl's write-only workbook); a partial import's rejected rows in the uploaded file's own encoding and
delimiter (`rejects_bytes`), so that the software that wrote the file reads them back. Text a spreadsheet would run
as a formula gets a leading apostrophe, as in every CSV the server writes (application/csv_text.py); the reader
drops it again."""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterable, Sequence

from coalition.application.csv_text import csv_lines, neutralised_cell
from coalition.application.file_exchange.table import FileFormat, RawTable

MEDIA_TYPES = {
    FileFormat.CSV: "text/csv; charset=utf-8",
    FileFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def csv_bytes(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    delimiter: str = ",",
    encoding: str = "utf-8",
    bom: bool = True,
) -> bytes:
    """UTF-8 (with a BOM unless `bom` is false), or another encoding the reader takes (cp1251, cp1252, cp866, utf-16
    with its mark): a character it cannot write becomes `?` (the cells came from a file in it: only a reason could)."""
    text = csv_lines([list(header), *rows], delimiter)
    if encoding == "utf-8":
        return (codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8")
    return text.encode(encoding, errors="replace")


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


def rejects_bytes(table: RawTable, rows: Iterable[Sequence[object]]) -> bytes:
    """The rejected rows of `table` under its header and an `error` column, in the uploaded file's format; a CSV in
    its encoding and delimiter (UTF-8 with a BOM only when the upload had one)."""
    header = [*table.header, "error"]
    if table.file_format is FileFormat.XLSX:
        return xlsx_bytes(header, rows)
    return csv_bytes(header, rows, table.delimiter or ",", table.encoding or "utf-8", table.bom)


def rejects_media_type(file_format: FileFormat, encoding: str) -> str:
    """The media type of a rejects file: a CSV's charset is the upload's."""
    if file_format is FileFormat.CSV and encoding:
        return f"text/csv; charset={encoding}"
    return MEDIA_TYPES[file_format]
