"""A purchases file's lanes recorded in worker processes (adapters/import_processes.py) on PostgreSQL, forced on with
a small threshold: the same result as the lanes in process for the same file (counts, sums, per-row refusals, the
partial mode's rejected rows, balances), every purchase once, the ledger verified, idempotent on a second run; and a
worker that fails (its database unreachable, or killed mid-file) fails the import with nothing reported as done and
nothing lost or doubled when the file is imported again."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coalition.adapters.import_processes import LaneWorkerFailed, ProcessLanes
from coalition.adapters.storage.verify import verify
from coalition.application.file_exchange.table import FileRefused
from coalition.application.import_lanes import PROCESS_LANES_MIN_CORES, PROCESS_LANES_MIN_ROWS
from coalition.application.member_import import ImportOptions
from coalition.application.sales_files import SalesImportResult, SalesKind
from coalition.application.sales_import import SalesImportOptions
from coalition.settings import Settings
from coalition.wiring import Services, build_services
from tests.cli.test_sync_folder import _balances, _purchase_count, _terminal
from tests.support import make_network

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]
MEMBERS = 40


@pytest.fixture()
def pg_settings(pg_database_url: str) -> Settings:
    return Settings(database_url=pg_database_url, operator_token="operator-secret", public_url="http://testserver")


@pytest.fixture()
async def pg_services(pg_settings: Settings) -> AsyncIterator[Services]:
    built = build_services(pg_settings)
    try:
        yield built
    finally:
        await built.close()


def _processes(services: Services, settings: Settings | None = None) -> ProcessLanes:
    """The composition root's workers (PostgreSQL), forced on for any file."""
    return ProcessLanes(settings or services.settings, services.clock, build_services, min_rows=1)


def _members(count: int) -> bytes:
    lines = ["card_number,points_balance"] + [f"{70000 + i},{i % 4 * 20}" for i in range(count)]
    return ("\n".join(lines) + "\n").encode()


def _when(minutes_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).replace(microsecond=0).isoformat()


def _purchases(terminal: int, rows: int) -> str:
    """Purchases of MEMBERS members in time order: some redeem a few of their opening points, some far more points
    than anyone has (refused when recorded, every time), every 97th names nobody (refused when checked)."""
    lines = ["receipt,occurred_at,terminal,customer,amount,redeem_points"]
    for i in range(rows):
        member = i * 7 % MEMBERS
        customer = "nobody" if i % 97 == 50 else str(70000 + member)
        redeem = "99999" if i % 11 == 3 else "5" if i % 29 == 4 and member % 4 else ""
        lines.append(
            f"P-{i},{_when(2000 - i * 2000 / rows)},{terminal},{customer},{100 + i % 50}.{i % 100:02d},{redeem}"
        )
    return "\n".join(lines) + "\n"


def _clean(terminal: int, rows: int, refused: int | None = None) -> str:
    """Purchases none of which is refused, but the row `refused` (redeeming more points than anyone has)."""
    lines = ["receipt,occurred_at,terminal,customer,amount,redeem_points"]
    for i in range(rows):
        redeem = "99999" if i == refused else ""
        customer = 70000 + i * 7 % MEMBERS
        lines.append(f"P-{i},{_when(2000 - i * 2000 / rows)},{terminal},{customer},{100 + i % 50}.00,{redeem}")
    return "\n".join(lines) + "\n"


async def _network(services: Services, code: str) -> tuple[int, int]:
    net = await make_network(services, code)
    await services.member_import.run(net.ref.id, _members(MEMBERS), ImportOptions("members.csv"))
    return net.ref.id, await _terminal(services, net.shop_key)


def _same(result: SalesImportResult) -> tuple[object, ...]:
    """What two imports of the same rows into twin networks must share."""
    return (
        result.rows_read,
        result.recorded,
        result.already_recorded,
        result.rejected,
        result.amount_minor,
        result.points_earned,
        result.points_redeemed,
        result.errors,
    )


async def _run(services: Services, network_id: int, text_: str, partial: bool = False) -> SalesImportResult:
    options = SalesImportOptions("sales.csv", partial=partial)
    return await services.sales_import.run(network_id, SalesKind.PURCHASES, text_.encode(), options)


async def test_workers_are_given_on_postgresql_with_four_cores_only(pg_services: Services, tmp_path: Path) -> None:
    settings, clock = pg_services.settings, pg_services.clock
    given = ProcessLanes.for_settings(settings, clock, build_services, cores=4)
    assert isinstance(given, ProcessLanes) and given.min_rows == PROCESS_LANES_MIN_ROWS == 5_000
    assert ProcessLanes.for_settings(settings, clock, build_services, cores=PROCESS_LANES_MIN_CORES - 1) is None
    sqlite = replace(settings, database_url=f"sqlite:///{tmp_path / 'coalition.db'}")
    assert ProcessLanes.for_settings(sqlite, clock, build_services, cores=64) is None
    by_host = pg_services.sales_import.lane_processes  # what the composition root gave on this host
    assert (by_host is not None) == ((os.cpu_count() or 1) >= PROCESS_LANES_MIN_CORES)


async def test_the_lanes_in_processes_record_what_the_lanes_in_process_do(pg_services: Services) -> None:
    services = pg_services
    here, here_till = await _network(services, "here")
    there, there_till = await _network(services, "there")
    rows = 2_500  # two chunks a lane
    in_process = _purchases(here_till, rows)
    in_workers = _purchases(there_till, rows)

    services.sales_import.lane_processes = None
    first = await _run(services, here, in_process, partial=True)
    services.sales_import.lane_processes = _processes(services)
    marks: list[tuple[int, int]] = []
    second = await services.sales_import.run(
        there, SalesKind.PURCHASES, in_workers.encode(), SalesImportOptions("sales.csv", partial=True),
        lambda done, total: marks.append((done, total)),
    )  # fmt: skip

    refused_at_check = len([i for i in range(rows) if i % 97 == 50])
    assert first.rejected > refused_at_check  # some refused by the rules when recorded (not enough points)
    assert _same(second) == _same(first)
    assert second.rejects is not None and first.rejects is not None
    assert second.rejects.replace(f",{there_till},".encode(), b",T,") == first.rejects.replace(
        f",{here_till},".encode(), b",T,"
    )
    assert marks[0] == (0, rows - refused_at_check) and marks[-1] == (rows - refused_at_check,) * 2
    assert len(marks) == 1 + 4  # the progress bar moved with every chunk of both workers
    assert await _balances(services, there) == await _balances(services, here)
    assert await _purchase_count(services, there) == (first.recorded, first.recorded)
    assert not await verify(services.engine)
    assert not multiprocessing.active_children()  # the workers ended with the import

    again = await _run(services, there, in_workers, partial=True)  # the same file: answered from the first import
    assert again.replayed and _same(again) == _same(second) and again.rejects == second.rejects
    reordered = in_workers.replace("\n", "\r\n")  # the same rows, another file: every row found recorded
    third = await _run(services, there, reordered, partial=True)
    assert (third.replayed, third.recorded, third.already_recorded) == (False, 0, first.recorded)
    assert third.errors == second.errors  # a refused row is refused again, nothing else
    assert await _balances(services, there) == await _balances(services, here)
    assert await _purchase_count(services, there) == (first.recorded, first.recorded)
    assert not await verify(services.engine)


async def test_a_refused_file_starts_workers_but_writes_nothing(pg_services: Services) -> None:
    services = pg_services
    network_id, till = await _network(services, "shop")
    services.sales_import.lane_processes = _processes(services)
    with pytest.raises(FileRefused) as refused:
        await _run(services, network_id, _purchases(till, 200))  # a row names nobody: all or nothing
    assert [error.column for error in refused.value.errors] == ["customer", "customer"]
    assert await _purchase_count(services, network_id) == (0, 0)
    assert not multiprocessing.active_children()


async def test_a_worker_that_cannot_reach_the_database_fails_the_import(pg_services: Services) -> None:
    services = pg_services
    network_id, till = await _network(services, "shop")
    good = services.settings
    gone = replace(good, database_url=good.database_url.rsplit("/", 1)[0] + "/coalition_no_such_database")
    services.sales_import.lane_processes = _processes(services, gone)
    data = _purchases(till, 300)
    with pytest.raises(Exception, match="coalition_no_such_database") as failed:
        await _run(services, network_id, data, partial=True)
    assert "worker process" in "\n".join(getattr(failed.value, "__notes__", []))
    assert await _purchase_count(services, network_id) == (0, 0)
    assert not multiprocessing.active_children()
    services.sales_import.lane_processes = _processes(services)  # the file again: not answered as imported
    result = await _run(services, network_id, data, partial=True)
    assert not result.replayed and result.recorded + result.rejected == 300
    assert await _purchase_count(services, network_id) == (result.recorded, result.recorded)


async def test_a_worker_killed_mid_file_fails_the_import_and_the_file_again_loses_and_doubles_nothing(
    pg_services: Services,
) -> None:
    services = pg_services
    network_id, till = await _network(services, "shop")
    twin, twin_till = await _network(services, "twin")
    services.sales_import.lane_processes = _processes(services)
    rows = 4_000
    data = _purchases(till, rows)
    killed: list[int] = []

    def kill_one(done: int, total: int) -> None:
        if done and not killed:  # a first chunk recorded: one worker killed while the others go on
            lane = next(p for p in multiprocessing.active_children() if p.name.startswith("coalition-import-lane"))
            assert lane.pid is not None
            os.kill(lane.pid, signal.SIGKILL)
            killed.append(lane.pid)

    options = SalesImportOptions("sales.csv", partial=True)
    with pytest.raises(LaneWorkerFailed, match=r"ended \(exit code -9\)"):
        await services.sales_import.run(network_id, SalesKind.PURCHASES, data.encode(), options, kill_one)
    at_kill = (await _purchase_count(services, network_id))[0]
    assert 0 < at_kill < rows
    assert not multiprocessing.active_children()

    again = await _run(services, network_id, data, partial=True)
    assert not again.replayed and again.already_recorded == at_kill
    services.sales_import.lane_processes = None
    once = await _run(services, twin, _purchases(twin_till, rows), partial=True)  # the file without a kill
    assert again.recorded + again.already_recorded == once.recorded
    assert await _purchase_count(services, network_id) == (once.recorded, once.recorded)
    assert await _balances(services, network_id) == await _balances(services, twin)
    assert not await verify(services.engine)


async def test_spawned_workers_record_the_same_as_forked_ones(pg_services: Services) -> None:
    """Where the platform has no forkserver the workers are spawned: the same lanes, the same result."""
    services = pg_services
    here, here_till = await _network(services, "here")
    there, there_till = await _network(services, "there")
    services.sales_import.lane_processes = _processes(services)
    forked = await _run(services, here, _purchases(here_till, 600), partial=True)
    spawned_lanes = _processes(services)
    spawned_lanes.method = "spawn"
    services.sales_import.lane_processes = spawned_lanes
    spawned = await _run(services, there, _purchases(there_till, 600), partial=True)
    assert _same(spawned) == _same(forked) and forked.recorded > 500
    assert await _balances(services, there) == await _balances(services, here)
    assert not multiprocessing.active_children()


async def test_workers_write_nothing_when_a_row_of_a_last_chunk_is_refused_then_the_fixed_file_imports(
    pg_services: Services,
) -> None:
    """All or nothing in worker processes: each worker records its whole lane in one transaction and waits for the
    import's decision; a row refused in the last chunk of one lane rolls both lanes back."""
    services = pg_services
    network_id, till = await _network(services, "shop")
    services.sales_import.lane_processes = _processes(services)
    rows = 2_400  # 1,200 a lane: two chunks each (1,000 and 200)
    bad = _clean(till, rows, refused=rows - 1)  # the file's last row: in the last chunk of its lane
    before = await _balances(services, network_id)
    marks: list[tuple[int, int]] = []
    with pytest.raises(FileRefused) as refused:
        await services.sales_import.run(
            network_id, SalesKind.PURCHASES, bad.encode(), SalesImportOptions("sales.csv"),
            lambda done, total: marks.append((done, total)),
        )  # fmt: skip
    assert [(error.row, error.column) for error in refused.value.errors] == [(rows + 1, "redeem_points")]
    assert marks[-1] == (rows, rows) and len(marks) == 1 + 4  # both workers recorded both their chunks
    assert await _purchase_count(services, network_id) == (0, 0)
    assert await _balances(services, network_id) == before
    assert not multiprocessing.active_children()
    fixed = await _run(services, network_id, bad.replace(",99999\n", ",\n"))
    assert (fixed.recorded, fixed.rejected) == (rows, 0)
    assert await _purchase_count(services, network_id) == (rows, rows)
    assert not await verify(services.engine)
    assert not multiprocessing.active_children()


async def test_a_worker_killed_mid_file_by_default_leaves_nothing_written(pg_services: Services) -> None:
    """All or nothing: a worker killed while the lanes record fails the import and the other worker's transaction
    rolls back too — nothing written; the file again imports fully."""
    services = pg_services
    network_id, till = await _network(services, "shop")
    services.sales_import.lane_processes = _processes(services)
    rows = 2_400
    data = _clean(till, rows)
    killed: list[int] = []

    def kill_one(done: int, total: int) -> None:
        if done and not killed:
            lane = next(p for p in multiprocessing.active_children() if p.name.startswith("coalition-import-lane"))
            assert lane.pid is not None
            os.kill(lane.pid, signal.SIGKILL)
            killed.append(lane.pid)

    with pytest.raises(LaneWorkerFailed, match=r"ended \(exit code -9\)"):
        await services.sales_import.run(
            network_id, SalesKind.PURCHASES, data.encode(), SalesImportOptions("sales.csv"), kill_one
        )
    assert await _purchase_count(services, network_id) == (0, 0)
    assert not multiprocessing.active_children()
    again = await _run(services, network_id, data)
    assert (again.replayed, again.recorded, again.already_recorded) == (False, rows, 0)
    assert await _purchase_count(services, network_id) == (rows, rows)
    assert not await verify(services.engine)
