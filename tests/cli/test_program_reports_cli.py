"""`coalition export report attendance|customers|effectiveness|threshold`: the program's reports of the demo written
as CSV; the figures agree with the database's purchases; the threshold helper takes its inputs as options."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

from coalition.domain.money import round_half_up_div
from tests.cli.test_cli import demo_json, run, url
from tests.cli.test_exports_cli import _ledger

__all__ = ["url"]  # the fixture


def _export(url: str, out: Path, *args: str) -> list[dict[str, str]]:
    done = run("export", "report", *args, "--network", "demo", "--out", str(out), "--database-url", url)
    assert done.exit_code == 0, done.output
    return list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))


def test_the_cli_exports_the_program_reports(url: str, tmp_path: Path) -> None:
    demo_json(url)
    first, last, _postings = _ledger(url)
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        checks, revenue = connection.execute("SELECT count(*), sum(check_minor) FROM purchases").fetchone()
    period = ["--from", first.isoformat(), "--to", last.isoformat()]
    rows = _export(url, tmp_path / "attendance.csv", "attendance", *period)
    hours = [row for row in rows if row["by"] == "hour"]
    assert sum(int(row["checks"]) for row in hours) == checks
    assert sum(int(row["revenue_minor"]) for row in hours) == revenue
    assert all(int(row["checks"]) > 0 for row in hours)  # no rows of zeros
    [customers] = _export(url, tmp_path / "customers.csv", "customers", *period)
    assert int(customers["new_checks"]) + int(customers["returning_checks"]) == checks
    [effect] = _export(url, tmp_path / "effectiveness.csv", "effectiveness", *period)
    assert int(effect["revenue_minor"]) == revenue
    helper = ["--threshold", "100000", "--base-from", first.isoformat(), "--base-to", last.isoformat()]
    [answer] = _export(url, tmp_path / "threshold.csv", "threshold", *period, *helper)
    average = round_half_up_div(revenue, checks)
    assert int(answer["base_average_check_minor"]) == int(answer["current_average_check_minor"]) == average
    assert answer["new_threshold_minor"] == "100000"  # the same period: the same average, the same threshold
    refused = run("export", "report", "threshold", "--network", "demo", *period, "--out", str(tmp_path / "x.csv"),
                  "--database-url", url)  # fmt: skip
    assert refused.exit_code == 2 and "threshold" in refused.output
