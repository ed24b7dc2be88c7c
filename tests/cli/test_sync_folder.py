"""The watched folder (`coalition sync`, issue 17, docs/files.md) on both engines: members, purchases, refunds and an
export request picked up, results written, files moved; a refused file goes to failed/ with every error; and a sync
process killed (SIGKILL) in the middle of a 5,000-row purchases file, started again, records every purchase exactly
once, with balances equal to the same file imported once without a kill."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from sqlalchemy import text

from coalition.adapters.storage.verify import verify
from coalition.adapters.sync_folder import SyncFolder, sync_once, watch
from coalition.application.member_import import ImportOptions
from coalition.application.sales_files import SalesKind
from coalition.application.sales_import import SalesImportOptions
from coalition.domain.errors import DomainError
from coalition.wiring import Services
from tests.support import make_network

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


def _when(minutes_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).replace(microsecond=0).isoformat()


def _members(count: int) -> bytes:
    lines = ["card_number,points_balance"] + [f"{60000 + i},{i % 7 * 10}" for i in range(count)]
    return ("\n".join(lines) + "\n").encode()


def _purchases(terminal: int, rows: int, members: int) -> bytes:
    lines = ["receipt,occurred_at,terminal,customer,amount,redeem_points"]
    for i in range(rows):
        lines.append(f"P-{i},{_when(2000 - i * 2000 // rows)},{terminal},{60000 + i % members},{100 + i % 50}.00,0")
    return ("\n".join(lines) + "\n").encode()


async def _terminal(services: Services, key: str) -> int:
    return (await services.pos.authenticate(key)).terminal_id


async def _balances(services: Services, network_id: int) -> dict[str, int]:
    async with services.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT c.number, b.balance FROM member_balances b JOIN cards c ON c.member_id = b.member_id "
                "JOIN members m ON m.id = b.member_id WHERE m.network_id = :n"
            ),
            {"n": network_id},
        )
        return {str(row[0]): int(row[1]) for row in rows}


async def _purchase_count(services: Services, network_id: int) -> tuple[int, int]:
    async with services.engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT COUNT(*), COUNT(DISTINCT p.receipt) FROM purchases p JOIN outlets o ON o.id = p.outlet_id "
                    "WHERE o.network_id = :n"
                ),
                {"n": network_id},
            )
        ).one()
        return int(row[0]), int(row[1])


async def _purchase_count_unless_locked(services: Services, database_url: str, network_id: int) -> int | None:
    """The count, or None when SQLite is locked by the stopped process (it may be stopped inside a commit); PostgreSQL
    readers never wait for a writer."""
    if not database_url.startswith("sqlite"):
        return (await _purchase_count(services, network_id))[0]
    connection = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=0.05)
    try:
        row = connection.execute(
            "SELECT COUNT(*) FROM purchases p JOIN outlets o ON o.id = p.outlet_id WHERE o.network_id = ?",
            (network_id,),
        ).fetchone()
        return int(row[0])
    except sqlite3.OperationalError as error:
        if "locked" in str(error) or "busy" in str(error):
            return None
        raise
    finally:
        connection.close()


async def test_the_folder_imports_exports_and_moves_what_it_processed(services: Services, tmp_path: Path) -> None:
    net = await make_network(services)
    shop = await _terminal(services, net.shop_key)
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    (inbox / "members-1.csv").write_bytes(_members(3))
    (inbox / "purchases-1.csv").write_bytes(_purchases(shop, 6, 3))
    (inbox / "refunds-bad.csv").write_bytes(
        f"receipt,occurred_at,terminal,original_receipt,amount\nB-1,{_when(1)},{shop},NOPE,1.00\n".encode()
    )
    (inbox / "export-balances.request").write_text(
        json.dumps({"what": "balances", "to": datetime.now(UTC).date().isoformat()})
    )
    (inbox / "notes.txt").write_text("left alone")
    lines: list[str] = []
    folder = SyncFolder(inbox, outbox, net.ref.id)
    assert await sync_once(services, folder, lines.append, resume=True) == 4
    members = json.loads((outbox / "members-1.csv.result.json").read_text())
    assert members["status"] == "imported" and members["result"]["created"] == 3
    purchases = json.loads((outbox / "purchases-1.csv.result.json").read_text())["result"]
    # 100.00 to 105.00: 615.00 in all; 3 % of each check is 3.00 to 3.15, whole points: 3 a check
    assert (purchases["recorded"], purchases["amount_minor"], purchases["points_earned"]) == (6, 61_500, 18)
    refused = json.loads((outbox / "refunds-bad.csv.result.json").read_text())
    assert refused["status"] == "refused" and refused["errors"][0]["column"] == "original_receipt"
    export = json.loads((outbox / "export-balances.request.result.json").read_text())
    assert export["status"] == "exported" and (outbox / "export-balances.csv").exists()
    assert sorted(p.name for p in (inbox / "done").iterdir()) == [
        "export-balances.request",
        "members-1.csv",
        "purchases-1.csv",
    ]
    assert [p.name for p in (inbox / "failed").iterdir()] == ["refunds-bad.csv"]
    assert (inbox / "notes.txt").exists() and not list((inbox / "processing").iterdir())
    assert (await _balances(services, net.ref.id)) == {"60000": 6, "60001": 16, "60002": 26}
    # the same purchases file dropped again: answered from the first import, nothing written
    (inbox / "purchases-1.csv").write_bytes((inbox / "done" / "purchases-1.csv").read_bytes())
    assert await sync_once(services, folder, lines.append) == 1
    assert json.loads((outbox / "purchases-1.csv.result.json").read_text())["result"]["replayed"] is True
    assert await _purchase_count(services, net.ref.id) == (6, 6)
    # one process per inbox: a second watcher is refused while the first holds the lock
    with (inbox / ".sync.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(DomainError):
            await watch(services, folder, lines.append, 1.0, True, anyio.sleep)
    assert await watch(services, folder, lines.append, 1.0, True, anyio.sleep) == 0


async def test_a_sync_killed_mid_file_records_every_purchase_once(
    services: Services, database_url: str, tmp_path: Path
) -> None:
    rows, member_count = 5000, 200
    net = await make_network(services)
    twin = await make_network(services, "twin")
    for ref in (net.ref, twin.ref):
        await services.member_import.run(ref.id, _members(member_count), ImportOptions("members.csv"))
    data = _purchases(await _terminal(services, net.shop_key), rows, member_count)
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    (inbox / "purchases-day.csv").write_bytes(data)
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}", "COALITION_DATABASE_URL": database_url}
    # --partial: chunks commit as they go, so a kill mid-file leaves some recorded (by default the file is one
    # transaction a lane, and a killed worker leaves nothing: tests/storage/test_import_processes.py)
    command = [sys.executable, "-m", "coalition.adapters.cli.main", "sync", "--inbox", str(inbox), "--outbox",
               str(outbox), "--network", "shop", "--once", "--partial"]  # fmt: skip
    # its own process group: on PostgreSQL a file of 5,000 purchases is recorded by worker processes
    # (adapters/import_processes.py), stopped and killed with the sync as a service manager kills a service's group
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        # The process runs in steps of 10 ms and is stopped (SIGSTOP) while the test counts, so it cannot finish the
        # file between the count that first sees a purchase and the kill, however slow the machine is that moment.
        deadline = time.monotonic() + 120
        while True:
            time.sleep(0.01)
            os.killpg(process.pid, signal.SIGSTOP)
            seen = await _purchase_count_unless_locked(services, database_url, net.ref.id)
            if seen is not None and seen > 0:
                break
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            assert time.monotonic() < deadline
            os.killpg(process.pid, signal.SIGCONT)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.kill()
        process.wait(30)
    at_kill = (await _purchase_count(services, net.ref.id))[0]
    assert 0 < at_kill < rows  # killed mid-file
    assert (inbox / "processing" / "purchases-day.csv").exists()
    again = subprocess.run(command, env=env, capture_output=True, timeout=300)
    assert again.returncode == 0, again.stdout.decode() + again.stderr.decode()
    assert await _purchase_count(services, net.ref.id) == (rows, rows)
    result = json.loads((outbox / "purchases-day.csv.result.json").read_text())["result"]
    assert (result["recorded"] + result["already_recorded"], result["already_recorded"]) == (rows, at_kill)
    assert (inbox / "done" / "purchases-day.csv").exists()
    # the same file imported once, without a kill, into a twin network with the same members
    twin_data = data.replace(
        f",{await _terminal(services, net.shop_key)},".encode(),
        f",{await _terminal(services, twin.shop_key)},".encode(),
    )
    await services.sales_import.run(twin.ref.id, SalesKind.PURCHASES, twin_data, SalesImportOptions("twin.csv"))
    assert await _balances(services, net.ref.id) == await _balances(services, twin.ref.id)
    assert not (await verify(services.engine))


async def test_a_file_refused_when_recorded_goes_to_failed_with_nothing_written(
    services: Services, tmp_path: Path
) -> None:
    """All or nothing: an edited receipt (refused by the till's command when recorded, not by the check) refuses the
    file as a static error does — failed/, every error in the result, the file's other rows not written."""
    net = await make_network(services)
    shop = await _terminal(services, net.shop_key)
    await services.member_import.run(net.ref.id, _members(3), ImportOptions("members.csv"))
    first = _purchases(shop, 3, 3)
    await services.sales_import.run(net.ref.id, SalesKind.PURCHASES, first, SalesImportOptions("p.csv"))
    before = await _balances(services, net.ref.id)
    edited = first.replace(b"P-0,", b"P-9,").replace(b"P-1,", b"P-0,").replace(b"101.00", b"999.00")
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    (inbox / "purchases-edited.csv").write_bytes(edited)  # P-0 again with another amount, and a new P-9
    lines: list[str] = []
    assert await sync_once(services, SyncFolder(inbox, outbox, net.ref.id), lines.append) == 1
    refused = json.loads((outbox / "purchases-edited.csv.result.json").read_text())
    assert refused["status"] == "refused"
    assert [(e["row"], e["column"]) for e in refused["errors"]] == [(3, "receipt")]
    assert [p.name for p in (inbox / "failed").iterdir()] == ["purchases-edited.csv"]
    assert await _purchase_count(services, net.ref.id) == (3, 3)  # P-9 not written
    assert await _balances(services, net.ref.id) == before
