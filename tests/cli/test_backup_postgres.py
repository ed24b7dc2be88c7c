"""`coalition backup` / `coalition restore` on PostgreSQL: pg_dump (custom format) and pg_restore, round trip."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from datetime import timedelta
from pathlib import Path

import anyio
import psycopg
import pytest

from coalition.settings import Settings
from coalition.wiring import build_services
from tests.cli.backup_support import figures, run
from tests.conftest import PG_ADMIN_URL, _pg_url
from tests.http.water_park import DAY_END, DAY_START, Clock, buy, water_park
from tests.support import client, enrol

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.postgres,
    pytest.mark.skipif(shutil.which("pg_dump") is None, reason="needs pg_dump and pg_restore on PATH"),
]

CARDS = [f"7700-{n:04d}" for n in range(1, 7)]


@pytest.fixture()
def empty_database() -> object:
    name = f"coalition_restore_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE template0")
    yield _pg_url(name)
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def _network_with_purchases_and_a_statement(url: str) -> tuple[int, dict]:
    clock = Clock()
    services = build_services(Settings(database_url=url, operator_token=None, public_url="http://t"), clock=clock)
    try:
        _admin_key, keys, _partners = await water_park(services)
        network_id = (await services.admin.network("park")).id
        async with client(services) as http:
            for card in CARDS:
                await enrol(http, keys["Tickets"], card)
            for minute, card in enumerate(CARDS * 3):
                clock.moment = DAY_START + timedelta(minutes=minute)
                key = keys[("Tickets", "Cafe", "Photo")[minute % 3]]
                await buy(http, key, card, f"{300 + 17 * minute}.50", redeem=(7 if minute >= len(CARDS) else 0))
            clock.moment = DAY_END + timedelta(hours=1)
            await services.settlement.close(network_id, DAY_END)
            clock.moment = DAY_END + timedelta(hours=2)  # after the statement: in the next, open period
            await buy(http, keys["Arcade"], CARDS[0], "99.99", redeem=5)
        return network_id, await figures(services, network_id, CARDS)
    finally:
        await services.close()


async def _figures_of(url: str, network_id: int) -> dict:
    services = build_services(Settings(database_url=url, operator_token=None, public_url="http://t"))
    try:
        return await figures(services, network_id, CARDS)
    finally:
        await services.close()


async def test_pg_dump_and_pg_restore_round_trip_keeps_balances_and_statements(
    pg_database_url, empty_database, tmp_path: Path
):
    network_id, before = await _network_with_purchases_and_a_statement(pg_database_url)
    assert before["statements"] and before["statements"][0]["statement"]["partners"]
    assert all(m["points_balance"] > 0 for m in before["members"].values())
    archive = tmp_path / "coalition.dump"

    dumped = await anyio.to_thread.run_sync(run, "backup", str(archive), "--database-url", pg_database_url)
    assert dumped.exit_code == 0, dumped.output
    assert "pg_dump" in dumped.output
    assert archive.read_bytes().startswith(b"PGDMP")  # pg_dump's custom format

    restored = await anyio.to_thread.run_sync(run, "restore", str(archive), "--database-url", empty_database)
    assert restored.exit_code == 0, restored.output
    assert "FAIL" not in restored.output and "transactions-balance" in restored.output  # verify ran and passed
    assert await _figures_of(empty_database, network_id) == before
    verified = await anyio.to_thread.run_sync(run, "verify", "--database-url", empty_database)
    assert verified.exit_code == 0, verified.output


async def test_pg_restore_refuses_a_database_with_tables_and_a_file_that_is_not_a_dump(
    pg_database_url, empty_database, tmp_path: Path
):
    archive = tmp_path / "coalition.dump"
    dumped = await anyio.to_thread.run_sync(run, "backup", str(archive), "--database-url", pg_database_url)
    assert dumped.exit_code == 0, dumped.output
    # the source (migrated: it has tables) is not an empty database
    into_tables = await anyio.to_thread.run_sync(run, "restore", str(archive), "--database-url", pg_database_url)
    assert into_tables.exit_code == 2, into_tables.output
    assert "restore into a new, empty database" in into_tables.output
    # a file that is not a pg_dump archive, and a truncated one: refused before anything is written
    not_a_dump = tmp_path / "notes.txt"
    not_a_dump.write_text("hello\n")
    cut = tmp_path / "cut.dump"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    for bad in (not_a_dump, cut):
        answer = await anyio.to_thread.run_sync(run, "restore", str(bad), "--database-url", empty_database)
        assert answer.exit_code == 2, answer.output
        said = " ".join(answer.output.split())
        assert "not a pg_dump custom-format archive" in said or "restored nothing (one transaction)" in said, said
        with psycopg.connect(empty_database) as conn:
            assert conn.execute("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    again = await anyio.to_thread.run_sync(run, "backup", str(archive), "--database-url", pg_database_url)
    assert again.exit_code == 2 and "already exists" in again.output
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == digest


async def test_without_a_pg_dump_that_can_dump_the_server_the_exact_command_is_printed(
    pg_database_url, tmp_path, monkeypatch
):
    from coalition.adapters.storage import pg_backup

    with psycopg.connect(pg_database_url) as conn:
        server = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
    archive = tmp_path / "coalition.dump"
    for found in (None, server - 1):
        monkeypatch.setattr(pg_backup, "tool_major", lambda _tool, found=found: found)
        answer = await anyio.to_thread.run_sync(run, "backup", str(archive), "--database-url", pg_database_url)
        assert answer.exit_code == 2, answer.output
        said = " ".join(answer.output.split())
        assert f"pg_dump must be version {server} or newer" in said
        assert f"/usr/lib/postgresql/{server}/bin/pg_dump --format=custom --no-owner --no-privileges " in said
        assert f"--file={archive} --dbname={pg_database_url}" in said
        assert not archive.exists()


async def test_a_dump_of_an_older_schema_is_restored_and_migrated(empty_database, tmp_path: Path):
    from coalition.adapters.storage import migrate
    from coalition.adapters.storage.backup import schema_revisions

    old = f"coalition_old_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {old} TEMPLATE template0")
    try:
        await anyio.to_thread.run_sync(migrate.upgrade, _pg_url(old), "0022")
        archive = tmp_path / "old.dump"
        dumped = await anyio.to_thread.run_sync(run, "backup", str(archive), "--database-url", _pg_url(old))
        assert dumped.exit_code == 0, dumped.output
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {old} WITH (FORCE)")
    restored = await anyio.to_thread.run_sync(run, "restore", str(archive), "--database-url", empty_database)
    assert restored.exit_code == 0, restored.output
    assert "schema 0022, migrated to this version" in " ".join(restored.output.split())
    with psycopg.connect(empty_database) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (schema_revisions().head,)
