"""Bytes to a raw table: CSV (UTF-8 with or without a BOM, cp1251, cp1252, cp866; comma or semicolon) or XLSX.

The encoding and the delimiter are declared or detected. Detection: a BOM or valid UTF-8 is UTF-8; otherwise the
bytes above 127 decide: mostly 0x80–0xBF is cp866 (DOS Cyrillic), runs of them (words written wholly in them) are
cp1251 (Windows Cyrillic), single ones among ASCII letters are cp1252 (Western European accents). A declared
encoding that cannot decode the file is refused naming the first row that fails. The delimiter is the one of comma,
semicolon or tab found most often in the header line, outside quotes.

A cell that a spreadsheet would run as a formula is refused with its row and column: in CSV, text starting with `=`
or `@`, or with `+` or `-` unless it is a number or a phone number (`-5`, `+7 999 123-45-67`); in XLSX, a formula
cell. A cell starting with an apostrophe before one of those characters is what our export wrote to neutralise it
(application/csv_text.py): the apostrophe is dropped and the text kept.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any

from coalition.application.file_exchange.table import (
    FileFormat,
    FileLimits,
    FileRefused,
    RawRow,
    RawTable,
    RowError,
)
from coalition.domain.input_text import CONTROL_CHARACTER_MESSAGE, has_control_character

ENCODINGS = ("utf-8", "cp1251", "cp1252", "cp866")
UTF16 = "utf-16"  # detected by its byte-order mark only (never declared): Python's codec reads the mark
DELIMITERS = (",", ";", "\t")
_ENCODING_NAMES = {"utf8": "utf-8", "utf-8-sig": "utf-8", "windows-1251": "cp1251", "windows-1252": "cp1252"}
_NUMBERISH = re.compile(r"[+-][0-9][0-9 ().,-]*")
_FORMULA_START = ("=", "+", "-", "@")
_XLSX_MAGIC = b"PK\x03\x04"
_MAX_UNZIPPED_RATIO = 20  # an XLSX unpacking to more than 20 times the size limit is refused (a zip bomb)


def declared_encoding(value: str | None) -> str | None:
    """The encoding's canonical name, or InvalidInput-like FileRefused naming the choices."""
    if value is None or not value.strip():
        return None
    name = value.strip().lower().replace("_", "-")
    name = _ENCODING_NAMES.get(name, name)
    if name not in ENCODINGS:
        raise FileRefused([RowError(0, "encoding", f"encoding is one of {', '.join(ENCODINGS)}, not {value!r}")])
    return name


def import_key(data: bytes, encoding: str | None, delimiter: str | None) -> str:
    """What an import is kept and answered again by (its `digest`): the file's SHA-256, and the encoding and delimiter
    declared with it, which change how it reads. An option left out adds nothing, so that a file imported without
    options keeps the key it had; a declared option is in its canonical name (`UTF-8` is `utf-8`, `semicolon` `;`)."""
    digest = hashlib.sha256(data)
    declared = (("encoding", declared_encoding(encoding)), ("delimiter", declared_delimiter(delimiter)))
    options = [f"{name}={value}" for name, value in declared if value]
    if options:
        digest.update(b"\0" + "\0".join(options).encode())
    return digest.hexdigest()


def declared_delimiter(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    named = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t"}.get(value.strip().lower(), value)
    if named not in DELIMITERS:
        raise FileRefused([RowError(0, "delimiter", "delimiter is a comma, a semicolon or a tab")])
    return named


def format_of(data: bytes, filename: str = "") -> FileFormat:
    """XLSX by its zip signature or its name, else CSV."""
    if data.startswith(_XLSX_MAGIC) or filename.lower().endswith(".xlsx"):
        return FileFormat.XLSX
    return FileFormat.CSV


def read_table(
    data: bytes,
    *,
    filename: str = "",
    limits: FileLimits = FileLimits(),
    encoding: str | None = None,
    delimiter: str | None = None,
) -> RawTable:
    """The file's header and rows, or FileRefused with every file-level error (size, encoding, quoting, rows)."""
    if len(data) > limits.max_bytes:
        raise FileRefused(
            [RowError(0, "", f"the file has {len(data)} bytes; at most {limits.max_bytes} are taken")], too_large=True
        )
    if format_of(data, filename) is FileFormat.XLSX:
        return _read_xlsx(data, limits)
    return _read_csv(data, limits, declared_encoding(encoding), declared_delimiter(delimiter))


# --- CSV -------------------------------------------------------------------------------------------------------


def detect_encoding(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return UTF16  # Excel's "Unicode Text": UTF-16 with its byte-order mark, tab-separated
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    high = [b for b in data if b >= 0x80]
    upper_half = sum(1 for b in high if b >= 0xC0 or b in (0xA8, 0xB8))
    if upper_half * 2 < len(high):
        return "cp866"
    runs = [len(run) for run in re.findall(rb"[\x80-\xff]+", data)]
    return "cp1251" if sum(runs) >= 2.5 * len(runs) else "cp1252"


def _first_bad_line(data: bytes, encoding: str) -> int:
    if encoding == UTF16:  # its line feeds are two bytes: the lines of what decodes up to the first bad pair
        return data.decode(encoding, errors="replace").split("\ufffd", 1)[0].count("\n") + 1
    for number, line in enumerate(data.split(b"\n"), start=1):
        try:
            line.decode(encoding)
        except UnicodeDecodeError:
            return number
    return 0


def _decode(data: bytes, encoding: str | None) -> tuple[str, str]:
    chosen = encoding or detect_encoding(data)
    body = data[len(codecs.BOM_UTF8) :] if chosen == "utf-8" and data.startswith(codecs.BOM_UTF8) else data
    try:
        return body.decode(chosen), chosen
    except UnicodeDecodeError:
        row = _first_bad_line(body, chosen)
        hint = "declare the file's encoding" if encoding is None else "is it another encoding?"
        raise FileRefused(
            [RowError(row, "", f"row {row} has bytes that are not {chosen}: {hint} ({', '.join(ENCODINGS)})")]
        ) from None


def detect_delimiter(header_line: str) -> str:
    counts = {d: 0 for d in DELIMITERS}
    quoted = False
    for character in header_line:
        if character == '"':
            quoted = not quoted
        elif not quoted and character in counts:
            counts[character] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def looks_like_formula(text: str) -> bool:
    """Text a spreadsheet would run: `=…`, `@…`, or `+…`/`-…` that is not a number or a phone number."""
    if not text.startswith(_FORMULA_START):
        return False
    return not (text[0] in "+-" and _NUMBERISH.fullmatch(text))


def _unneutralised(text: str) -> str:
    """Our export's `'=text` back to `=text` (see application/csv_text.py)."""
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@\t\r":
        return text[1:]
    return text


def _read_csv(data: bytes, limits: FileLimits, encoding: str | None, delimiter: str | None) -> RawTable:
    text, used = _decode(data, encoding)
    first_line = text.split("\n", 1)[0]
    sep = delimiter or detect_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    try:
        records = _records(reader, limits)
        header_cells = next(records, None)
        if header_cells is None:
            raise FileRefused([RowError(1, "", "the file is empty: the first row names the columns")])
        header = tuple(_header_text(cell) for cell in header_cells[1])
        rows: list[RawRow] = []
        errors: list[RowError] = []
        for number, cells in records:
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            kept: list[str] = []
            for index, cell in enumerate(cells):
                column = header[index] if index < len(header) else f"#{index + 1}"
                errors.extend(_cell_problems(number, column, cell, limits))
                kept.append(_unneutralised(cell))
            rows.append(RawRow(number, tuple(kept)))
    except csv.Error as error:
        raise FileRefused([RowError(reader.line_num, "", f"the CSV cannot be read here: {error}")]) from None
    bom = used == "utf-8" and data.startswith(codecs.BOM_UTF8)
    return RawTable(header, tuple(rows), FileFormat.CSV, used, sep, tuple(errors), bom)


def _records(reader: Any, limits: FileLimits) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells); the row number is the line the record starts on, as a spreadsheet shows it."""
    for row, cells in enumerate(reader, start=1):
        if row > limits.max_rows + 1:
            raise FileRefused([RowError(row, "", f"the file has more than {limits.max_rows} rows; split it")])
        if len(cells) > limits.max_columns:
            raise FileRefused([RowError(row, "", f"a row has at most {limits.max_columns} cells")])
        yield row, cells


def _header_text(cell: str) -> str:
    """A column's name as the header spells it, trimmed; control characters and excess length dropped (it is
    only compared with the known names, and quoted in errors)."""
    return "".join(c for c in cell.strip() if not has_control_character(c))[:64]


def _cell_problems(
    row: int, column: str, cell: str, limits: FileLimits, *, text_formulas: bool = True
) -> list[RowError]:
    if len(cell) > limits.max_cell_chars:
        return [RowError(row, column, f"the cell has {len(cell)} characters; at most {limits.max_cell_chars}")]
    if has_control_character(cell, multiline=True):
        return [RowError(row, column, CONTROL_CHARACTER_MESSAGE)]
    if text_formulas and looks_like_formula(cell):
        return [RowError(row, column, "the cell holds a formula; files carry values only")]
    return []


# --- XLSX ------------------------------------------------------------------------------------------------------


def _check_zip(data: bytes, limits: FileLimits) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        raise FileRefused([RowError(0, "", "the file is neither CSV text nor an XLSX workbook")]) from None
    if unpacked > _MAX_UNZIPPED_RATIO * limits.max_bytes:
        raise FileRefused([RowError(0, "", "the workbook unpacks to too much data")], too_large=True)


def xlsx_text(value: object) -> str:
    """A cell's value as the text the columns read: whole numbers without `.0`, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _read_xlsx(data: bytes, limits: FileLimits) -> RawTable:
    _check_zip(data, limits)
    from openpyxl import load_workbook  # only when a workbook comes in

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds for a broken workbook
        raise FileRefused([RowError(0, "", "the XLSX workbook cannot be opened")]) from None
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise FileRefused([RowError(0, "", "the workbook has no sheet")])
        header: tuple[str, ...] | None = None
        rows: list[RawRow] = []
        errors: list[RowError] = []
        for number, cells in enumerate(sheet.iter_rows(), start=1):
            if number > limits.max_rows + 1:
                raise FileRefused([RowError(number, "", f"the sheet has more than {limits.max_rows} rows; split it")])
            if len(cells) > limits.max_columns and any(getattr(c, "value", None) for c in cells[limits.max_columns :]):
                raise FileRefused([RowError(number, "", f"a row has at most {limits.max_columns} cells")])
            cells = cells[: limits.max_columns]
            if header is None:
                header = tuple(_header_text(xlsx_text(getattr(c, "value", None))) for c in cells)
                while header and not header[-1]:
                    header = header[:-1]
                continue
            texts: list[str] = []
            for index, cell in enumerate(cells):
                column = header[index] if index < len(header) else f"#{index + 1}"
                value = getattr(cell, "value", None)
                if getattr(cell, "data_type", None) == "f" or (isinstance(value, str) and value.startswith("=")):
                    errors.append(RowError(number, column, "the cell holds a formula; files carry values only"))
                    texts.append("")
                    continue
                text = xlsx_text(value)
                if len(text) > limits.max_cell_chars:
                    errors.append(
                        RowError(
                            number, column, f"the cell has {len(text)} characters; at most {limits.max_cell_chars}"
                        )
                    )
                texts.append(_unneutralised(text))
            while texts and not texts[-1]:
                texts.pop()
            if texts:
                rows.append(RawRow(number, tuple(texts)))
        if header is None:
            raise FileRefused([RowError(1, "", "the sheet is empty: the first row names the columns")])
    finally:
        workbook.close()
    return RawTable(header, tuple(rows), FileFormat.XLSX, "", "", tuple(errors))
