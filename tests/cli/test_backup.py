"""`coalition backup` / `coalition restore` on the embedded SQLite database (docs/backups.md).

The round trip is taken while a real server process keeps selling: every purchase is wholly in the backup or wholly
out, `coalition verify` passes on the restored file, and balances and statements equal those of the backup's moment.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from coalition.adapters.storage import backup as sqlite_backup
from coalition.adapters.storage import migrate
from coalition.adapters.storage.pg_backup import dump_command, libpq
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.cli.backup_support import figures, run
from tests.cli.test_serve import VENV_BIN, _free_port, _healthy, _wait_until
from tests.http.water_park import DAY_END, DAY_START, Clock, water_park
from tests.http.water_park import buy as park_buy
from tests.support import auth, client, enrol, new_key

CARDS = [f"5500-{n:04d}" for n in range(1, 5)]


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def _park_with_a_statement(url: str) -> dict[str, Any]:
    """The water park with members, a day of purchases and its closed settlement statement (on the park's clock)."""
    migrate.upgrade(url)
    clock = Clock()
    services = build_services(Settings(database_url=url, operator_token=None, public_url="http://t"), clock=clock)
    try:
        _admin, keys, _partners = await water_park(services)
        network_id = (await services.admin.network("park")).id
        async with client(services) as http:
            for card in CARDS:
                await enrol(http, keys["Tickets"], card)
            for minute, card in enumerate(CARDS * 2):
                clock.moment = DAY_START + timedelta(minutes=minute)
                redeem = minute if minute >= len(CARDS) else 0  # the second round spends some points
                await park_buy(http, keys[("Tickets", "Cafe")[minute % 2]], card, f"{200 + minute}.00", redeem=redeem)
            clock.moment = DAY_END + timedelta(hours=1)
            await services.settlement.close(network_id, DAY_END)
        return {"network_id": network_id, "keys": keys, "figures": await figures(services, network_id, CARDS)}
    finally:
        await services.close()


async def _figures_at(url: str, network_id: int) -> dict[str, Any]:
    services = build_services(Settings(database_url=url, operator_token=None, public_url="http://t"))
    try:
        return await figures(services, network_id, CARDS)
    finally:
        await services.close()


@dataclass
class Sale:
    receipt: str
    card: str
    sent: float
    answered: float
    balance: int


class Till(threading.Thread):
    """Sells one purchase after another through the server until told to stop, recording each answer."""

    def __init__(self, base: str, key: str) -> None:
        super().__init__(daemon=True)
        self.base, self.key = base, key
        self.sales: list[Sale] = []
        self.failures: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as http:
            number = 0
            while not self.stopping.is_set():
                card, receipt = CARDS[number % len(CARDS)], f"till-{number}"
                body = {
                    "customer": card,
                    "amount": f"{100 + number % 7}.00",
                    "receipt": receipt,
                    "redeem_points": 3 if number % 3 == 2 else 0,
                }
                sent = time.monotonic()
                answer = http.post("/v1/purchases", json=body, headers=auth(self.key, new_key()))
                if answer.status_code != 201:
                    self.failures.append(answer.text)
                    return
                self.sales.append(Sale(receipt, card, sent, time.monotonic(), answer.json()["points_balance"]))
                number += 1


@pytest.mark.timeout(120)  # a copy that restarts whenever the till commits would never end
def test_a_backup_taken_while_the_server_sells_holds_each_purchase_wholly_or_not_at_all(tmp_path: Path):
    url = _url(tmp_path / "live.db")
    setup = anyio.run(_park_with_a_statement, url)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("w")
    selling_flat_out = os.environ | {"COALITION_RATE_LIMIT_TERMINAL_KEY": "off"}  # one till, as fast as it can
    server = subprocess.Popen(
        [VENV_BIN / "coalition", "serve", "--database-url", url, "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=selling_flat_out,
    )
    till = Till(base, setup["keys"]["Photo"])
    backup_file = tmp_path / "live.backup"
    try:
        _wait_until(lambda: _healthy(base))
        till.start()
        _wait_until(lambda: len(till.sales) >= 10 or bool(till.failures))

        def slowly(_what: str, done: int, _total: int) -> None:
            time.sleep(0.004)  # a long copy: the till keeps selling between its steps
            # and it sells at least one whole purchase after each of the first three pages copied, however slowly a
            # loaded host answers it (the copy's own pace is no measure of the till's); a copy that held the
            # server's writes up would never see them, and the wait fails
            _wait_until(lambda: len([s for s in till.sales if s.sent > started]) >= min(done, 3) or bool(till.failures))

        started = time.monotonic()
        info = sqlite_backup.backup(url, backup_file, progress=slowly, step_pages=1)
        finished = time.monotonic()
        _wait_until(lambda: any(sale.sent > finished for sale in till.sales) or bool(till.failures))
    finally:
        till.stopping.set()
        if till.ident is not None:  # started: the server may not have come up
            till.join(timeout=30)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    assert not till.failures, till.failures
    during = [sale for sale in till.sales if started < sale.sent and sale.answered < finished]
    assert len(during) >= 3, (len(during), finished - started)  # the till really sold while the copy ran
    assert info.source_journal_mode == "wal"

    restored_url = _url(tmp_path / "restored.db")
    restored = run("restore", str(backup_file), "--database-url", restored_url)
    assert restored.exit_code == 0, restored.output
    assert "FAIL" not in restored.output and "lots-cover-balance" in restored.output

    with sqlite3.connect(tmp_path / "restored.db") as db:
        kept = {row[0] for row in db.execute("SELECT receipt FROM purchases WHERE receipt LIKE 'till-%'")}
    sold = [sale.receipt for sale in till.sales]
    # the till sells one purchase after another, so the backup's moment splits them into a prefix and the rest
    assert kept == set(sold[: len(kept)])
    assert {s.receipt for s in till.sales if s.answered < started} <= kept
    assert not {s.receipt for s in till.sales if s.sent > finished} & kept

    after = anyio.run(_figures_at, restored_url, setup["network_id"])
    for card in CARDS:
        last = [sale.balance for sale in till.sales[: len(kept)] if sale.card == card]
        expected = last[-1] if last else setup["figures"]["members"][card]["points_balance"]
        assert after["members"][card]["points_balance"] == expected, card
    assert after["statements"] == setup["figures"]["statements"]
    # each member's statement is the live one's up to the backup's moment, line for line
    live = anyio.run(_figures_at, url, setup["network_id"])
    for card in CARDS:
        restored_lines = after["members"][card]["transactions"]
        assert restored_lines == live["members"][card]["transactions"][: len(restored_lines)]


# --- what the backup file says about itself -------------------------------------------------------------------


@pytest.fixture()
def park(tmp_path: Path) -> dict[str, Any]:
    url = _url(tmp_path / "park.db")
    setup: dict[str, Any] = anyio.run(_park_with_a_statement, url)
    return setup | {"url": url, "path": tmp_path / "park.db"}


def test_the_backup_names_its_schema_and_restores_into_a_fresh_file_with_equal_figures(park, tmp_path: Path):
    backup_file = tmp_path / "park.backup"
    made = run("backup", str(backup_file), "--database-url", park["url"])
    assert made.exit_code == 0, made.output
    assert f"schema {sqlite_backup.schema_revisions().head}" in made.output.replace("\n", " ")
    info = sqlite_backup.read_backup(backup_file)
    assert (info.format, info.schema_revision) == ("coalition-sqlite-backup/1", sqlite_backup.schema_revisions().head)
    assert info.counts["purchases"] == len(CARDS) * 2
    header = backup_file.read_bytes()[:20]
    assert header[18:20] == b"\x01\x01"  # rollback-journal mode: one self-contained file, no WAL beside it
    fresh = _url(tmp_path / "fresh.db")
    restored = run("restore", str(backup_file), "--database-url", fresh)
    assert restored.exit_code == 0, restored.output
    assert anyio.run(_figures_at, fresh, park["network_id"]) == park["figures"]
    with sqlite3.connect(tmp_path / "fresh.db") as db:  # the backup's own table stays in the backup
        assert not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'coalition_backup'").fetchall()


def test_a_backup_never_replaces_a_file_unless_forced_and_never_creates_a_database(park, tmp_path: Path):
    backup_file = tmp_path / "park.backup"
    backup_file.write_text("an older backup\n")
    refused = run("backup", str(backup_file), "--database-url", park["url"])
    assert refused.exit_code == 2 and "already exists" in refused.output
    assert backup_file.read_text() == "an older backup\n"
    assert run("backup", str(backup_file), "--database-url", park["url"], "--force").exit_code == 0
    missing = tmp_path / "missing.db"
    nothing = run("backup", str(tmp_path / "x.backup"), "--database-url", _url(missing))
    assert nothing.exit_code == 2 and "there is no database" in nothing.output
    assert not missing.exists() and not (tmp_path / "x.backup").exists()


# --- restore refusals: a clear message, a non-zero exit, the target unchanged ---------------------------------


@pytest.fixture()
def made(park, tmp_path: Path) -> dict[str, Any]:
    backup_file = tmp_path / "park.backup"
    assert run("backup", str(backup_file), "--database-url", park["url"]).exit_code == 0
    # the target: another database holding data (a copy of the park; then one more sale makes it differ)
    target = tmp_path / "target.db"
    assert run("restore", str(backup_file), "--database-url", _url(target)).exit_code == 0
    return park | {"backup": backup_file, "target": target, "target_url": _url(target)}


def _refused(made: dict[str, Any], backup_file: Path, says: str, *extra: str) -> None:
    before = _digest(made["target"])
    answer = run("restore", str(backup_file), "--database-url", made["target_url"], *extra)
    assert answer.exit_code == 2, answer.output
    assert says in " ".join(answer.output.split()), answer.output
    assert _digest(made["target"]) == before
    assert not [p.name for p in made["target"].parent.iterdir() if ".restoring-" in p.name]


def test_restore_refuses_a_target_that_holds_data_unless_forced(made):
    _refused(made, made["backup"], "holds data (1 networks, 4 members, 8 purchases")
    forced = run("restore", str(made["backup"]), "--database-url", made["target_url"], "--force")
    assert forced.exit_code == 0, forced.output
    assert "FAIL" not in forced.output


def test_restore_into_a_migrated_but_empty_database_needs_no_force(made, tmp_path: Path):
    empty = tmp_path / "empty.db"
    migrate.upgrade(_url(empty))
    answer = run("restore", str(made["backup"]), "--database-url", _url(empty))
    assert answer.exit_code == 0, answer.output


def test_restore_refuses_a_file_that_is_not_a_backup_even_when_forced(made, tmp_path: Path):
    text = tmp_path / "notes.txt"
    text.write_text("SELECT 1;\n")
    _refused(made, text, "is not a Coalition backup: it is not an SQLite file", "--force")
    # a Coalition database itself is not a backup: it does not say what it is
    _refused(
        made, made["path"], "is not a Coalition backup: an SQLite file without a coalition_backup table", "--force"
    )
    _refused(made, tmp_path / "nowhere.backup", "there is no backup at", "--force")


def test_restore_refuses_a_truncated_or_damaged_backup_even_when_forced(made, tmp_path: Path):
    whole = made["backup"].read_bytes()
    for name, cut in (("half", len(whole) // 2), ("one page short", len(whole) - 4096), ("header", 50)):
        truncated = tmp_path / f"{name}.backup"
        truncated.write_bytes(whole[:cut])
        _refused(made, truncated, "is truncated", "--force")
    # same size, a page in the middle overwritten: SQLite's integrity check finds it
    damaged = tmp_path / "damaged.backup"
    middle = (len(whole) // 4096 // 2) * 4096
    damaged.write_bytes(whole[:middle] + b"\xff" * 4096 + whole[middle + 4096 :])
    _refused(made, damaged, "is damaged", "--force")


def test_restore_refuses_a_backup_of_a_newer_schema_and_migrates_an_older_one(made, tmp_path: Path):
    newer = tmp_path / "newer.backup"
    newer.write_bytes(made["backup"].read_bytes())
    with sqlite3.connect(newer) as db:
        db.execute("UPDATE coalition_backup SET value = '0999' WHERE key = 'schema_revision'")
    _refused(made, newer, "schema revision '0999' is newer than this Coalition knows", "--force")

    old = tmp_path / "old.db"
    migrate.upgrade(_url(old), "0022")
    old_backup = tmp_path / "old.backup"
    assert run("backup", str(old_backup), "--database-url", _url(old)).exit_code == 0
    assert sqlite_backup.read_backup(old_backup).schema_revision == "0022"
    restored = tmp_path / "from-old.db"
    answer = run("restore", str(old_backup), "--database-url", _url(restored))
    assert answer.exit_code == 0, answer.output
    assert "migrated to this version" in " ".join(answer.output.split())
    with sqlite3.connect(restored) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchone()[0] == (
            sqlite_backup.schema_revisions().head
        )


def test_restore_refuses_a_database_in_use(made):
    holder = sqlite3.connect(made["target"], isolation_level=None)  # a server's connection, say
    try:
        holder.execute("PRAGMA journal_mode=WAL")
        holder.execute("SELECT COUNT(*) FROM members").fetchone()
        _refused(made, made["backup"], "is in use (is the server running?)", "--force")
    finally:
        holder.close()


def test_pg_dump_gets_the_password_through_the_environment_not_the_command_line(tmp_path: Path):
    connection = libpq("postgresql+asyncpg://coalition:s3cret@db.example:5433/loyalty")
    command = dump_command(connection, tmp_path / "x.dump")
    assert not any("s3cret" in part for part in command)
    assert "--dbname=postgresql://coalition@db.example:5433/loyalty" in command
    assert connection.environment()["PGPASSWORD"] == "s3cret"


def test_a_database_behind_a_symbolic_link_is_replaced_where_it_lives(made, tmp_path: Path):
    link = tmp_path / "current.db"
    link.symlink_to(made["target"])
    answer = run("restore", str(made["backup"]), "--database-url", _url(link), "--force")
    assert answer.exit_code == 0, answer.output
    assert link.is_symlink() and link.resolve() == made["target"].resolve()
    assert sqlite_backup.holdings(made["target"])


def test_backup_and_restore_refuse_a_directory_for_a_file(made, tmp_path: Path):
    folder = tmp_path / "folder"
    folder.mkdir()
    into_folder = run("backup", str(folder), "--database-url", made["url"], "--force")
    assert into_folder.exit_code == 2 and "is a directory" in into_folder.output
    over_folder = run("restore", str(made["backup"]), "--database-url", _url(folder), "--force")
    assert over_folder.exit_code == 2 and "is a directory" in over_folder.output
    assert folder.is_dir() and not list(folder.iterdir())
