"""The file exchange's reading core, without a database: encodings, delimiters, formulas, limits, typed rows."""

from __future__ import annotations

import codecs
import io

import pytest
from openpyxl import Workbook

from coalition.application.file_exchange.columns import Column, typed_rows, whole_number
from coalition.application.file_exchange.reading import detect_encoding, looks_like_formula, read_table
from coalition.application.file_exchange.table import FileLimits, FileRefused
from coalition.application.file_exchange.writing import csv_bytes, xlsx_bytes
from coalition.application.member_files import MEMBER_COLUMNS, member_key

RUSSIAN = "card_number;name;consent_data_processing\n100;Пётр Иванов;да\n101;Мария Соколова;да\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251", "cp866"])
def test_russian_text_is_read_in_every_encoding_shops_use(encoding: str) -> None:
    table = read_table(RUSSIAN.encode(encoding))
    assert table.delimiter == ";"
    assert table.encoding == ("utf-8" if encoding.startswith("utf") else encoding)
    assert [row.cells[1] for row in table.rows] == ["Пётр Иванов", "Мария Соколова"]


def test_western_text_in_cp1252_is_detected() -> None:
    data = "card_number,name\n200,José Müller\n201,Françoise Dupré\n".encode("cp1252")
    assert detect_encoding(data) == "cp1252"
    assert read_table(data).rows[0].cells == ("200", "José Müller")


def test_a_declared_encoding_that_cannot_decode_names_the_row() -> None:
    data = "card_number,name\n1,Anna\n2,Пётр\n".encode("cp1251")
    with pytest.raises(FileRefused) as refused:
        read_table(data, encoding="utf-8")
    assert refused.value.errors[0].row == 3
    assert "not utf-8" in refused.value.errors[0].reason


def test_declared_delimiter_and_encoding_win() -> None:
    data = "a;b\n1;2\n".encode("cp1251")
    table = read_table(data, encoding="windows-1251", delimiter="comma")
    assert table.header == ("a;b",)


def test_formulas_are_refused_but_numbers_and_phones_are_not() -> None:
    assert looks_like_formula("=SUM(A1:A2)") and looks_like_formula("@cmd") and looks_like_formula("+A1")
    assert not looks_like_formula("-5") and not looks_like_formula("+7 999 123-45-67")
    table = read_table(b'card_number,name,phone\n1,=HYPERLINK("x"),+7 999 123-45-67\n2,\'=kept as text,\n')
    assert [(e.row, e.column) for e in table.cell_errors] == [(2, "name")]
    assert table.rows[1].cells[1] == "=kept as text"  # our export's neutralised cell comes back as it was


def test_xlsx_formula_cells_are_refused_with_row_and_column() -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["card_number", "points_balance"])
    sheet.append(["300", 10])
    sheet.append(["301", "=B2*2"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    table = read_table(buffer.getvalue(), filename="members.xlsx")
    assert table.rows[0].cells == ("300", "10")
    assert [(e.row, e.column) for e in table.cell_errors] == [(3, "points_balance")]


def test_limits_refuse_the_whole_file() -> None:
    with pytest.raises(FileRefused) as refused:
        read_table(b"x" * 101, limits=FileLimits(max_bytes=100))
    assert refused.value.too_large
    with pytest.raises(FileRefused) as refused:
        read_table(b"a\n1\n2\n3\n", limits=FileLimits(max_rows=2))
    assert refused.value.errors[0].row == 4
    table = read_table(b"a\n" + b"y" * 20 + b"\n", limits=FileLimits(max_cell_chars=10))
    assert table.cell_errors[0].row == 2


def test_header_problems_come_all_at_once() -> None:
    table = read_table(b"name,colour,name\nAnna,red,Anna\n")
    with pytest.raises(FileRefused) as refused:
        typed_rows(table, MEMBER_COLUMNS, member_key)
    found = {(e.column, e.reason.split(";")[0]) for e in refused.value.errors}
    assert ("colour", "unknown column") in found
    assert ("card_number", "a required column is missing") in found
    assert ("name", "the column is named twice") in found


def test_typed_rows_answer_every_error_and_duplicate_keys() -> None:
    columns = (Column("key", str, True), Column("n", whole_number, False, 0))
    table = read_table(b"key,n\na,1\nb,x\na,3\n,4\n")
    typed = typed_rows(table, columns, lambda values: values["key"])
    assert [row.values for row in typed.rows] == [{"key": "a", "n": 1}]
    assert [(e.row, e.column) for e in typed.errors] == [(3, "n"), (4, "key"), (5, "key")]


def test_written_files_read_back() -> None:
    rows = [["1", "=danger", -5], ["2", "Пётр", 0]]
    for data in (csv_bytes(["a", "b", "c"], rows), xlsx_bytes(["a", "b", "c"], rows)):
        table = read_table(data)
        assert [row.cells for row in table.rows] == [("1", "=danger", "-5"), ("2", "Пётр", "0")]
        assert not table.cell_errors
    assert csv_bytes(["a"], []).startswith(codecs.BOM_UTF8)


def test_a_utf16_file_with_its_byte_order_mark_is_read() -> None:
    """Excel's "Unicode Text" (UTF-16 with a BOM, tab-separated) was read as cp1252 and refused as an unknown
    column 'ÿþcard_number'."""
    data = "card_number\tname\n1\tPëtr Орлов\n".encode("utf-16")
    table = read_table(data)
    assert (table.encoding, table.delimiter) == ("utf-16", "\t")
    assert table.header == ("card_number", "name")
    assert table.rows[0].cells == ("1", "Pëtr Орлов")
    big_endian = codecs.BOM_UTF16_BE + "card_number;name\n2;Анна\n".encode("utf-16-be")
    assert read_table(big_endian).rows[0].cells == ("2", "Анна")
    broken = "card_number\tname\n1\tA\n2\tB\n".encode("utf-16") + b"\x00\xd8\x41\x00"  # a lone surrogate
    with pytest.raises(FileRefused) as refused:
        read_table(broken)
    assert refused.value.errors[0].row == 4


def test_a_bad_declared_encoding_or_delimiter_names_its_option() -> None:
    with pytest.raises(FileRefused) as refused:
        read_table(b"card_number\n1\n", encoding="koi8-r")
    assert (refused.value.errors[0].row, refused.value.errors[0].column) == (0, "encoding")
    with pytest.raises(FileRefused) as refused:
        read_table(b"card_number\n1\n", delimiter="pipe")
    assert (refused.value.errors[0].row, refused.value.errors[0].column) == (0, "delimiter")
