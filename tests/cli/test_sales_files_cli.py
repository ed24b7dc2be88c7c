"""`coalition import purchases|refunds` on the demo network (SQLite): a file recorded with the progress bar's
summary, a refused file printing row and column (exit 2, nothing written), partial mode writing the rejects, the
same rows again recorded once, and a refund of an imported purchase in a later file."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from coalition.application.commands import key_hash
from coalition.demo import OUTLETS
from tests.cli.test_cli import demo_json, run, url

__all__ = ["url"]  # the fixture


def _till(url: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        found = connection.execute("SELECT id FROM terminals WHERE key_hash = ?", (key_hash(OUTLETS[0].terminal_key),))
        return int(found.fetchone()[0])


def _purchases(url: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM purchases WHERE receipt LIKE 'CLI-%'").fetchone()[0])


def test_import_purchases_and_refunds_on_the_command_line(url: str, tmp_path: Path) -> None:
    demo_json(url)
    till = _till(url)
    when = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0).isoformat()
    rows = [f"CLI-1,{when},{till},10000001,1000.00", f"CLI-2,{when},{till},10000002,200.00"]
    source = tmp_path / "purchases.csv"
    source.write_text("receipt,occurred_at,terminal,customer,amount\n" + "\n".join(rows) + "\n")

    bad = tmp_path / "bad.csv"
    bad.write_text("receipt,occurred_at,terminal,customer,amount\n" + rows[0] + "\n" + rows[0] + "\n")
    refused = run("import", "purchases", str(bad), "--network", "demo", "--database-url", url)
    assert refused.exit_code == 2, refused.output
    assert "receipt" in refused.output and "row 2" in refused.output  # the duplicate names the first row
    assert _purchases(url) == 0

    first = run("import", "purchases", str(source), "--network", "demo", "--database-url", url)
    assert first.exit_code == 0, first.output
    assert "2 recorded now (1200.00 RUB)" in first.output
    again = tmp_path / "purchases-again.csv"
    again.write_text(source.read_text() + "\n")
    second = run("import", "purchases", str(again), "--network", "demo", "--json", "--database-url", url)
    assert json.loads(second.stdout.strip().splitlines()[-1])["already_recorded"] == 2
    assert _purchases(url) == 2

    partial = tmp_path / "partial.csv"
    partial.write_text(f"receipt,occurred_at,terminal,customer,amount\nCLI-3,{when},{till},10000001,5.00\n"
                       f"CLI-4,{when},{till},nobody,5.00\n")  # fmt: skip
    rejects = tmp_path / "rejects.csv"
    taken = run("import", "purchases", str(partial), "--network", "demo", "--partial", "--rejects", str(rejects),
                "--database-url", url)  # fmt: skip
    assert taken.exit_code == 0, taken.output
    assert "CLI-4" in rejects.read_text(encoding="utf-8-sig") and _purchases(url) == 3

    refunds = tmp_path / "refunds.csv"
    refunds.write_text(f"receipt,occurred_at,terminal,original_receipt,amount\nCLI-R1,{when},{till},CLI-1,1000.00\n")
    back = run("import", "refunds", str(refunds), "--network", "demo", "--json", "--database-url", url)
    assert back.exit_code == 0, back.output
    assert json.loads(back.stdout.strip().splitlines()[-1])["recorded"] == 1

    # all or nothing: a row refused when recorded (CLI-1 imported with 1000.00, now 999.00) refuses the file
    edited = tmp_path / "edited.csv"
    edited.write_text(f"receipt,occurred_at,terminal,customer,amount\nCLI-1,{when},{till},10000001,999.00\n"
                      f"CLI-5,{when},{till},10000002,5.00\n")  # fmt: skip
    before = _purchases(url)
    refused_now = run("import", "purchases", str(edited), "--network", "demo", "--database-url", url)
    assert refused_now.exit_code == 2, refused_now.output
    assert "receipt" in refused_now.output and "CLI-1" in refused_now.output
    assert _purchases(url) == before  # CLI-5 not written
