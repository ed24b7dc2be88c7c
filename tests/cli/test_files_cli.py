"""`coalition import members` and `coalition export members` on the demo network (SQLite): a file imported with its
opening balances, the same file again changing nothing, a refused file printing row and column (exit 2, nothing
written), partial mode writing the rejects, and an export read back."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from coalition.application.file_exchange.reading import read_table
from tests.cli.test_cli import demo_json, run, url

__all__ = ["url"]  # the fixture

FILE = (
    "card_number;name;phone;consent_data_processing;points_balance\n"
    "5001;Пётр Иванов;+7 999 500-00-01;да;100\n"
    "5002;Мария Соколова;;да;250\n"
    "5003;;;;0\n"
)


def _members(url: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM members").fetchone()[0])


def test_import_export_members_on_the_command_line(url: str, tmp_path: Path) -> None:
    demo_json(url)
    before = _members(url)
    source = tmp_path / "members.csv"
    source.write_bytes(FILE.encode("cp1251"))
    first = run("import", "members", str(source), "--network", "demo", "--json", "--database-url", url)
    assert first.exit_code == 0, first.output
    result = json.loads(first.stdout.strip().splitlines()[-1])
    assert (result["created"], result["opening_points"], result["encoding"]) == (3, 350, "cp1251")
    again = run("import", "members", str(source), "--network", "demo", "--json", "--database-url", url)
    assert json.loads(again.stdout.strip().splitlines()[-1])["replayed"] is True
    assert _members(url) == before + 3

    bad = tmp_path / "bad.csv"
    bad.write_text("card_number,colour\n1,red\n")
    refused = run("import", "members", str(bad), "--network", "demo", "--database-url", url)
    assert refused.exit_code == 2
    assert "colour" in refused.output and "unknown column" in refused.output

    partial = tmp_path / "partial.csv"
    partial.write_text("card_number,points_balance\n5101,10\n5102,ten\n")
    rejects = tmp_path / "rejects.csv"
    taken = run(
        "import",
        "members",
        str(partial),
        "--network",
        "demo",
        "--partial",
        "--rejects",
        str(rejects),
        "--database-url",
        url,
    )
    assert taken.exit_code == 0, taken.output
    assert "1 created" in taken.output
    rows = read_table(rejects.read_bytes()).rows
    assert [row.cells[:2] for row in rows] == [("5102", "ten")]

    out = tmp_path / "export.xlsx"
    exported = run(
        "export", "members", "--network", "demo", "--format", "xlsx", "--out", str(out), "--database-url", url
    )
    assert exported.exit_code == 0, exported.output
    table = read_table(out.read_bytes())
    points = table.header.index("points_balance")
    cards = {row.cells[0]: row.cells[points] for row in table.rows}
    assert cards["5001"] == "100" and cards["5002"] == "250" and cards["5101"] == "10"
