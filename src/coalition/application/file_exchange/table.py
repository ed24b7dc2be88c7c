"""What reading a file answers: a raw table of text cells with their row numbers, and errors that name the row, the
column and the reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

MEBIBYTE = 1024 * 1024


class FileFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


@dataclass(frozen=True, slots=True)
class FileLimits:
    """What one file may hold; above them the file is refused before any row is checked."""

    max_bytes: int = 20 * MEBIBYTE
    max_rows: int = 100_000  # data rows, the header apart
    max_cell_chars: int = 1000
    max_columns: int = 64


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem of the file: its row as a spreadsheet numbers it (the header is row 1; 0: the file as a whole),
    the column's name as the header spells it ("" when no column is at fault) and the reason."""

    row: int
    column: str
    reason: str

    def json(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "reason": self.reason}


class FileRefused(Exception):
    """The file cannot be taken: every error found, each with its row and column. `too_large` marks a file above the
    size limit (HTTP answers 413 to it, 422 to the others)."""

    def __init__(self, errors: list[RowError], *, too_large: bool = False) -> None:
        super().__init__("; ".join(f"row {e.row}, column {e.column or '-'}: {e.reason}" for e in errors[:5]))
        self.errors = errors
        self.too_large = too_large


@dataclass(frozen=True, slots=True)
class RawRow:
    number: int  # the spreadsheet's row number (the header is row 1)
    cells: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RawTable:
    """A file's header and rows of text cells, as read. `encoding` and `delimiter` are what reading used (CSV)."""

    header: tuple[str, ...]
    rows: tuple[RawRow, ...]
    file_format: FileFormat
    encoding: str = ""
    delimiter: str = ""
    cell_errors: tuple[RowError, ...] = field(default=())  # formulas and over-long cells found while reading
    bom: bool = False  # a UTF-8 CSV that began with its byte-order mark
