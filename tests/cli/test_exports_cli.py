"""`coalition export`: the demo's ledger, balances and a report written to files as CSV (also Windows-1251 with
semicolons) and XLSX; the file holds what the database holds; refusals name their field and exit 2."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import openpyxl

from tests.cli.test_cli import demo_json, run, url

__all__ = ["url"]  # the fixture


def _ledger(url: str) -> tuple[date, date, int]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        first, last = connection.execute(
            "SELECT min(recorded_at), max(recorded_at) FROM ledger_transactions"
        ).fetchone()
        postings = connection.execute("SELECT count(*) FROM postings").fetchone()[0]
    # a day either side: the export's days are the outlets' (Moscow), the stored moments UTC
    return (
        date.fromisoformat(first[:10]) - timedelta(days=1),
        date.fromisoformat(last[:10]) + timedelta(days=1),
        postings,
    )


def test_the_cli_exports_the_whole_ledger_balances_and_a_report(url: str, tmp_path: Path) -> None:
    demo_json(url)
    first, last, postings = _ledger(url)
    out = tmp_path / "ledger.csv"
    period = ["--from", first.isoformat(), "--to", last.isoformat()]
    done = run("export", "transactions", "--network", "demo", *period, "--out", str(out), "--database-url", url)
    assert done.exit_code == 0, done.output
    assert f"{postings}/{postings}" in done.stdout  # the progress bar's count: every posting, one row each
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == postings
    assert sum(int(row["amount"]) for row in rows if row["unit"] == "points") == 0  # the ledger balances

    windows = tmp_path / "ledger-1251.csv"
    options = ["--encoding", "cp1251", "--delimiter", "semicolon"]
    done = run(
        "export", "transactions", "--network", "demo", *period, *options, "--out", str(windows), "--database-url", url
    )
    assert done.exit_code == 0, done.output
    windows_rows = list(csv.DictReader(io.StringIO(windows.read_bytes().decode("cp1251")), delimiter=";"))
    # Windows-1251 has Cyrillic but no "é": a character it lacks is written "?" (docs/exports.md)
    assert windows_rows == [{k: v.encode("cp1251", "replace").decode("cp1251") for k, v in r.items()} for r in rows]
    assert "Caf? counter" in {row["outlet"] for row in windows_rows}

    balances = tmp_path / "balances.xlsx"
    done = run(
        "export", "balances", "--network", "demo", "--to", last.isoformat(), "--format", "xlsx",
        "--out", str(balances), "--database-url", url,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    values = list(openpyxl.load_workbook(balances, read_only=True).worksheets[0].iter_rows(values_only=True))
    assert values[0] == ("member_id", "name", "points", "wallet", "currency", "as_of")
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        stored = dict(connection.execute("SELECT member_id, balance FROM member_balances").fetchall())
    assert {row[0]: row[2] for row in values[1:] if row[0] in stored} == stored  # the running balances agree

    report = tmp_path / "outlets.csv"
    done = run(
        "export", "report", "sales-by-outlet", "--network", "demo", *period, "--out", str(report),
        "--database-url", url,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert report.read_text(encoding="utf-8").startswith("outlet_id,outlet,partner_id,partner,currency,checks,")


def test_refusals_name_the_field(url: str, tmp_path: Path) -> None:
    demo_json(url)
    out = str(tmp_path / "x.csv")
    base = ["--network", "demo", "--out", out, "--database-url", url]
    cases = {
        "(format)": ["export", "transactions", "--from", "2026-01-01", "--format", "pdf", *base],
        "(partner)": ["export", "transactions", "--from", "2026-01-01", "--partner", "9999", *base],
        "(from)": ["export", "transactions", "--from", "01.01.2026", *base],
        "(encoding)": ["export", "transactions", "--from", "2026-01-01", "--encoding", "latin-1", *base],
        "(name)": ["export", "report", "everything", "--from", "2026-01-01", *base],
        "(to)": ["export", "transactions", "--from", "2026-01-02", "--to", "2026-01-01", *base],
    }
    for field, args in cases.items():
        result = run(*args)
        assert result.exit_code == 2, (field, result.output)
        assert field in result.output, (field, result.output)
