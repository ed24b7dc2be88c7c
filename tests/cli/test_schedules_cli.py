"""`coalition schedules list|set|runs`, and cron's `coalition birthdays` recorded where the scheduler looks."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from coalition.adapters.cli.common import console
from coalition.adapters.cli.main import app


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), terminal_width=200)
    return result.exit_code, result.output


def test_schedules_are_listed_set_and_their_runs_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "_width", 200)  # a wide terminal: each cell on one line
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert _run("demo", "--database-url", url)[0] == 0
    code, output = _run("schedules", "list", "demo", "--database-url", url)
    assert code == 0, output
    for line in ("daily_reports", "daily at 00:30", "every 60 min", "daily at 06:00", "day 1 at 00:30"):
        assert line in output, output
    assert "COALITION_SMTP_HOST" in output  # the report waits for e-mail
    code, output = _run("schedules", "set", "demo", "birthdays", "--time", "07:15", "--database-url", url)
    assert code == 0 and "birthdays: enabled, daily at 07:15" in output, output
    code, output = _run("schedules", "set", "demo", "birthdays", "--time", "25:00", "--database-url", url)
    assert code == 2 and "error (time)" in output, output
    code, output = _run("schedules", "set", "demo", "payroll", "--disable", "--database-url", url)
    assert code == 2 and "error (job)" in output, output
    assert _run("birthdays", "demo", "--date", "2026-12-06", "--database-url", url)[0] == 0
    code, output = _run("schedules", "runs", "demo", "--database-url", url)
    assert code == 0 and "birthdays" in output and "2026-12-06" in output and "cli" in output, output
