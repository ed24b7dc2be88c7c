"""Any export's table (application/exports.py `Table`) written as CSV or XLSX, a chunk at a time: the one writer every
export and report goes through, over HTTP (a StreamingResponse), in the console and in the CLI (docs/exports.md).

CSV: UTF-8 (optionally with the byte-order mark Excel needs to read UTF-8) or Windows-1251, comma or semicolon, one
row a line; text cells a spreadsheet would run as formulas (starting with = + - @) get a leading apostrophe
(application/csv_text.py). XLSX: openpyxl in write-only mode (rows go to a temporary file as they come, so memory
stays constant), formula-like text stored as text (never a formula), a new sheet after 1,048,575 rows.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, Literal

import anyio.to_thread

from coalition.application.csv_text import DELIMITERS, ENCODINGS, csv_lines, encoded
from coalition.application.exports import Cell, Table
from coalition.domain.errors import InvalidInput

Format = Literal["csv", "xlsx"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_ROWS = 1_048_575  # Excel's rows per sheet, less the header
BLOCK = 64 * 1024
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # characters XML 1.0 (and so XLSX) cannot hold


@dataclass(frozen=True, slots=True)
class CsvOptions:
    delimiter: str = ","
    encoding: str = "utf-8"
    bom: bool = False  # UTF-8 only: the mark Excel needs to read the file as UTF-8


def export_format(text: str) -> Format:
    for known in FORMATS:
        if text == known:
            return known
    raise InvalidInput("choose csv or xlsx", field="format")


def csv_options(delimiter: str = "comma", encoding: str = "utf-8", bom: bool = False) -> CsvOptions:
    """The options as the CLI and the API take them, each refusal naming its field."""
    if delimiter not in DELIMITERS:
        raise InvalidInput("the delimiter is comma or semicolon", field="delimiter")
    normal = encoding.strip().lower().replace("_", "-")
    normal = {"utf8": "utf-8", "windows-1251": "cp1251"}.get(normal, normal)
    if normal not in ENCODINGS:
        raise InvalidInput("the encoding is utf-8 or cp1251", field="encoding")
    if bom and normal != "utf-8":
        raise InvalidInput("a byte-order mark is for UTF-8 only", field="bom")
    return CsvOptions(DELIMITERS[delimiter], normal, bom)


def media_type(fmt: Format, options: CsvOptions) -> str:
    if fmt == "xlsx":
        return XLSX_MEDIA_TYPE
    return f"text/csv; charset={'windows-1251' if options.encoding == 'cp1251' else 'utf-8'}"


def file_name(table: Table, fmt: Format) -> str:
    return f"{table.name}.{fmt}"


async def table_bytes(table: Table, fmt: Format, options: CsvOptions | None = None) -> AsyncIterator[bytes]:
    """The table's file, a piece at a time."""
    if fmt == "xlsx":
        async for block in _xlsx(table):
            yield block
        return
    chosen = options or CsvOptions()
    if chosen.bom:
        yield "\ufeff".encode()
    yield encoded(csv_lines([table.header], chosen.delimiter), chosen.encoding)
    async for rows in table.chunks:
        yield encoded(csv_lines(rows, chosen.delimiter), chosen.encoding)


def _xlsx_cell(sheet: Any, value: Cell) -> Any:
    from openpyxl.cell import WriteOnlyCell

    if not isinstance(value, str):
        return value
    text = _ILLEGAL_XML.sub("\ufffd", value)
    if not text.startswith("="):
        return text
    written = WriteOnlyCell(sheet, value=text)
    written.data_type = "s"  # text, never a formula: openpyxl would otherwise store `=…` as one
    return written


class _Book:
    """A write-only workbook whose sheets take at most SHEET_ROWS rows each."""

    def __init__(self, table: Table) -> None:
        from openpyxl import Workbook  # imported when an XLSX is made

        self.table = table
        self.workbook = Workbook(write_only=True)
        self.sheets = 0
        self.rows = SHEET_ROWS
        self.sheet: Any = None

    def append(self, rows: Sequence[Sequence[Cell]]) -> None:
        for row in rows:
            if self.rows >= SHEET_ROWS:
                self._new_sheet()
            self.sheet.append([_xlsx_cell(self.sheet, value) for value in row])
            self.rows += 1

    def _new_sheet(self) -> None:
        self.sheets += 1
        title = self.table.name[:28] if self.sheets == 1 else f"{self.table.name[:24]} ({self.sheets})"
        self.sheet = self.workbook.create_sheet(title=title.replace(":", "-"))
        self.sheet.append(list(self.table.header))
        self.rows = 0

    def save(self, file: IO[bytes]) -> None:
        if self.sheet is None:
            self._new_sheet()
        self.workbook.save(file)


async def _xlsx(table: Table) -> AsyncIterator[bytes]:
    book = _Book(table)
    async for rows in table.chunks:
        book.append(rows)
    with tempfile.TemporaryFile() as file:
        await anyio.to_thread.run_sync(book.save, file)
        file.seek(0)
        while block := file.read(BLOCK):
            yield block


async def write_table(table: Table, fmt: Format, options: CsvOptions | None, out: IO[bytes]) -> int:
    """The table written into `out` as it comes (the CLI); the number of bytes written."""
    written = 0
    async for block in table_bytes(table, fmt, options):
        out.write(block)
        written += len(block)
    return written
