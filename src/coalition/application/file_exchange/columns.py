"""A file's columns and the typed rows read through them: every error at once, each with its row and column.

A `Column` names its header, says whether it is required and parses a non-empty cell into its value (raising
ValueError with the reason); an empty cell of an optional column is its `default`. `typed_rows` checks the header
(unknown, missing required and repeated columns are refused before any row is read), parses every cell, and refuses
a second row with the same key (the file's natural key, such as the card number).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from coalition.application.file_exchange.table import FileRefused, RawTable, RowError

Parse = Callable[[str], Any]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    parse: Parse
    required: bool = False
    default: Any = None
    doc: str = ""  # the type and meaning, for docs/files.md and the console's help


@dataclass(frozen=True, slots=True)
class TypedRow:
    number: int  # the spreadsheet's row number
    values: dict[str, Any]  # every column of the spec, parsed (defaults filled in)
    cells: dict[str, str]  # the row as read, for a rejects file


@dataclass(frozen=True, slots=True)
class TypedTable:
    header: tuple[str, ...]
    rows: tuple[TypedRow, ...]  # the rows without errors
    errors: tuple[RowError, ...]  # every error, in row order
    rejected: tuple[TypedRow, ...] = field(default=())  # the rows with errors (values parsed as far as they could)


def check_header(header: Sequence[str], columns: Sequence[Column]) -> None:
    known = {column.name for column in columns}
    errors: list[RowError] = []
    seen: set[str] = set()
    for name in header:
        if name in seen:
            errors.append(RowError(1, name, "the column is named twice"))
        elif name not in known:
            expected = ", ".join(column.name for column in columns)
            errors.append(RowError(1, name or "(empty)", f"unknown column; the columns are: {expected}"))
        seen.add(name)
    for column in columns:
        if column.required and column.name not in seen:
            errors.append(RowError(1, column.name, "a required column is missing"))
    if errors:
        raise FileRefused(errors)


def typed_rows(table: RawTable, columns: Sequence[Column], key: Callable[[dict[str, Any]], str | None]) -> TypedTable:
    """The table's rows typed by `columns`; `key` gives a row's natural key (None: no key), repeated keys refused."""
    check_header(table.header, columns)
    by_name = {column.name: column for column in columns}
    cell_errors: dict[int, list[RowError]] = {}
    for error in table.cell_errors:
        cell_errors.setdefault(error.row, []).append(error)
    good: list[TypedRow] = []
    rejected: list[TypedRow] = []
    errors: list[RowError] = []
    first_row_of: dict[str, int] = {}
    for raw in table.rows:
        row_errors = list(cell_errors.get(raw.number, []))
        if len(raw.cells) > len(table.header) and any(c.strip() for c in raw.cells[len(table.header) :]):
            row_errors.append(
                RowError(raw.number, "", f"the row has {len(raw.cells)} cells; the header names {len(table.header)}")
            )
        cells = {name: (raw.cells[i].strip() if i < len(raw.cells) else "") for i, name in enumerate(table.header)}
        values: dict[str, Any] = {}
        faulty = {error.column for error in row_errors}
        for column in columns:
            text = cells.get(column.name, "")
            if column.name in faulty:
                values[column.name] = column.default
            elif not text:
                if column.required:
                    row_errors.append(RowError(raw.number, column.name, "the cell is empty; this column is required"))
                values[column.name] = column.default
            else:
                try:
                    values[column.name] = by_name[column.name].parse(text)
                except ValueError as error:
                    row_errors.append(RowError(raw.number, column.name, str(error)))
                    values[column.name] = column.default
        if not row_errors:
            found = key(values)
            if found is not None:
                if found in first_row_of:
                    key_column = next((c.name for c in columns if c.required), "")
                    row_errors.append(
                        RowError(raw.number, key_column, f"the same key as row {first_row_of[found]}: {found}")
                    )
                else:
                    first_row_of[found] = raw.number
        row = TypedRow(raw.number, values, cells)
        if row_errors:
            errors.extend(row_errors)
            rejected.append(row)
        else:
            good.append(row)
    return TypedTable(table.header, tuple(good), tuple(errors), tuple(rejected))


# --- cell parsers ----------------------------------------------------------------------------------------------

_TRUE = frozenset({"1", "true", "yes", "y", "да", "д", "x", "+"})
_FALSE = frozenset({"0", "false", "no", "n", "нет", "н", "-"})
_WHOLE = re.compile(r"[+-]?[0-9]{1,15}")


def boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"expected yes or no (1/0, true/false), not {text!r}")


def whole_number(text: str) -> int:
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
    if cleaned.endswith(".0"):  # a spreadsheet's whole number
        cleaned = cleaned[:-2]
    if not _WHOLE.fullmatch(cleaned):
        raise ValueError(f"expected a whole number, not {text!r}")
    return int(cleaned)


def iso_date(text: str) -> date:
    cleaned = text.strip()
    for parse in (date.fromisoformat, _day_month_year):
        try:
            return parse(cleaned)
        except ValueError:
            continue
    raise ValueError(f"expected a date such as 1990-04-21 (or 21.04.1990), not {text!r}")


def _day_month_year(text: str) -> date:
    parts = text.split(".")
    if len(parts) != 3 or len(parts[2]) != 4:
        raise ValueError(text)
    return date(int(parts[2]), int(parts[1]), int(parts[0]))


def text_up_to(longest: int) -> Parse:
    def parse(text: str) -> str:
        if len(text) > longest:
            raise ValueError(f"at most {longest} characters, not {len(text)}")
        return text

    return parse
