"""`coalition worker` (issue 16): runs the scheduler without HTTP, records the demo network's due runs, and stops
cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def _runs(database: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT job, status FROM job_runs ORDER BY job").fetchall()


def _ended(runs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(job, status) for job, status in runs if status != "running"]


def test_the_worker_runs_the_due_jobs_and_stops_on_sigterm(tmp_path: Path) -> None:
    database = tmp_path / "worker.db"
    url = f"sqlite:///{database}"
    for command in (["migrate"], ["demo"]):
        subprocess.run([VENV_BIN / "coalition", *command, "--database-url", url], check=True, capture_output=True)
    log = (tmp_path / "worker.log").open("w")
    env = os.environ | {"COALITION_SCHEDULER_TICK_SECONDS": "0.2", "COALITION_BACKGROUND": "off"}
    worker = subprocess.Popen(
        [VENV_BIN / "coalition", "worker", "--database-url", url], stdout=log, stderr=subprocess.STDOUT, env=env
    )
    try:
        # a run's row is inserted as "running" when it is claimed and becomes "done" when the job ends: wait for six
        # runs that ended, not for six rows (the sixth may still be running when it is first seen)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_ended(_runs(database))) < 6:
            time.sleep(0.2)
        # without SMTP the daily report waits; expiry, birthdays, the outbox's cleanup, the last month's close, the
        # points_expiring messages and the campaigns ran (each job's latest due period: today's or yesterday's)
        assert sorted(_runs(database)) == [
            ("birthdays", "done"),
            ("campaigns", "done"),
            ("expire", "done"),
            ("outbox_cleanup", "done"),
            ("period_close", "done"),
            ("points_expiring", "done"),
        ]
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)
        log.close()
    output = (tmp_path / "worker.log").read_text()
    assert worker.returncode == 0, output
    assert "worker running: scheduler" in output and "worker stopped" in output, output
    assert "Traceback" not in output, output
