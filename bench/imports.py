"""Purchases imported from a CSV file per second on PostgreSQL (issue 17: ≥ 10,000/s for 100,000 purchases).

    .venv/bin/python -m bench.imports                 # loads coalition_bench_imports, imports 100,000 purchases
    .venv/bin/python -m bench.imports --reuse         # the database as a previous run left it (migrated, vacuumed)
    .venv/bin/python -m bench.imports --cli           # through `coalition import purchases` in a subprocess too
    .venv/bin/python -m bench.imports --reuse --lanes-in-process   # the lanes in one process (the comparison)
    .venv/bin/python -m bench.imports --refunds --rows 20000   # refunds: a purchases file, then a refund of each

One run:
1. recreates the database `coalition_bench_imports` (migrate, the demo network, --members members with a first
   purchase and a wallet top-up each) the way bench/purchases.py loads `coalition_bench`, unless --reuse;
2. writes a CSV of --rows purchases at the demo corner shop's terminal: random members, the same checks as
   bench/cpu.py's batch body (a third of them redeem 10-50 points on 1,500.00-5,000.00, the others 1.00-5,000.99),
   each with its own `occurred_at` over the last 48 hours in order;
3. imports it through the application layer as the CLI does (`SalesImport.run`: read, check every row, record in
   chunks of 1,000 on two lanes, each lane in a worker process — or, with --lanes-in-process, both in this
   process as before), timing each phase, with this process's CPU, its worker processes' CPU (sampled from /proc)
   and PostgreSQL's backends' CPU;
4. checks that every purchase was recorded once and the ledger verifies, and prints the figures as a Markdown
   block for docs/benchmarks.md ("Imports"); it does not rewrite the docs itself.

With --refunds it imports the purchases file first (untimed), then a refunds file refunding 1.00 of each of those
purchases by its receipt, and times that one (bench/import_refunds.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.purchases import (
    BIN,
    DEMO_KEY,
    _postgres_role,
    _proc_stat,
    database_url,
    default_admin_url,
    libpq_url,
    machine_info,
    prepare,
    query,
    say,
)

NAME = "coalition_bench_imports"
TARGET = 10_000


def purchases_csv(terminal_id: int, rows: int, members: int, tag: str, seed: int = 17) -> bytes:
    generator = random.Random(seed)
    start = datetime.now(UTC) - timedelta(hours=48)
    step = timedelta(hours=47) / rows
    lines = ["receipt,occurred_at,terminal,customer,amount,redeem_points"]
    for index in range(rows):
        moment = (start + step * index).replace(microsecond=0).isoformat()
        card = f"99{generator.randint(1, members):08d}"
        if index % 3 == 0:
            amount, redeem = f"{generator.randint(1500, 5000)}.00", str(generator.randint(10, 50))
        else:
            amount, redeem = f"{generator.randint(1, 5000)}.{generator.randint(0, 99):02d}", ""
        lines.append(f"{tag}-{index},{moment},{terminal_id},{card},{amount},{redeem}")
    return ("\n".join(lines) + "\n").encode()


class TreeCpu:
    """CPU seconds used during a run by the descendants of `root` that `keep` accepts (the import's worker
    processes and the forkserver they fork from; or the postmaster's backends of one database, which end when the
    workers close their connections), sampled from /proc every 0.1 s while they run: each process's last sample
    less its first (a process started during the run counts from 0; its last < 0.1 s may be missed). Reads only the
    tree's own /proc entries, so the sampling costs this process little."""

    def __init__(self, root: int, keep: Callable[[int], bool] = lambda pid: True) -> None:
        self.root = root
        self.keep = keep
        self.first: dict[int, float] = {}
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeCpu:
        self._once(baseline=True)
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()
        self._once()

    @property
    def seconds(self) -> float:
        return sum(cpu - self.first.get(pid, 0.0) for pid, cpu in self.seen.items())

    def _sample(self) -> None:
        while not self.stop.wait(0.1):
            self._once()

    def _once(self, baseline: bool = False) -> None:
        pending, tree = [self.root], []
        while pending:
            pid = pending.pop()
            for children in Path(f"/proc/{pid}/task").glob("*/children"):
                with contextlib.suppress(OSError, ValueError):
                    pending += [int(child) for child in children.read_text().split()]
            if pid != self.root:
                tree.append(pid)
        for pid in tree:
            if (pid in self.seen or self.keep(pid)) and (stat := _proc_stat(pid)) is not None:
                self.seen[pid] = stat[2]
                if baseline:
                    self.first[pid] = stat[2]


def postmaster() -> int:
    """PostgreSQL's main process (the benchmark runs on the same host)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))) is not None and stat[0] == "postgres":
            parent = _proc_stat(stat[1])
            if parent is None or parent[0] != "postgres":
                return int(entry.name)
    raise SystemExit("no PostgreSQL server process found on this host")


async def import_file(url: str, data: bytes, kind: str = "purchases", in_process: bool = False) -> dict[str, float]:
    from coalition.application.sales_files import SalesKind
    from coalition.application.sales_import import SalesImportOptions
    from coalition.settings import Settings
    from coalition.wiring import build_services

    services = build_services(Settings(url, None, "http://127.0.0.1"))
    if in_process:  # the lanes as tasks of this process, as before the worker processes (the comparison)
        services.sales_import.lane_processes = None
    database = url.rsplit("/", 1)[-1].split("?", 1)[0]
    marks: list[float] = []

    def progress(done: int, total: int) -> None:
        marks.append(time.perf_counter())

    try:
        network = await services.admin.network("demo")
        backends = TreeCpu(postmaster(), lambda pid: _postgres_role(pid, database) == "backend")
        started, cpu_started = time.perf_counter(), time.process_time()
        with TreeCpu(os.getpid()) as workers, backends:
            result = await services.sales_import.run(
                network.id, SalesKind(kind), data, SalesImportOptions(f"bench-{kind}.csv"), progress
            )
            ended, cpu_ended = time.perf_counter(), time.process_time()
    finally:
        await services.close()
    if result.errors or result.recorded != data.count(b"\n") - 1:
        raise SystemExit(f"the import did not record every row: {result.json()['errors'][:5]}")
    recorded = result.recorded
    first_chunk = marks[0] if marks else ended  # progress(0, total): the rows are checked, recording starts
    return {
        "rows": recorded,
        "seconds": ended - started,
        "first_chunk_at": first_chunk - started,
        "commit_seconds": ended - first_chunk,
        "cpu_ms": (cpu_ended - cpu_started) * 1000 / recorded,
        "workers_ms": workers.seconds * 1000 / recorded,
        "worker_processes": len(workers.seen),
        "pg_ms": backends.seconds * 1000 / recorded,
        "points_earned": result.points_earned,
        "points_redeemed": result.points_redeemed,
        "points_clawed_back": result.points_clawed_back,
        "points_returned": result.points_returned,
    }


def run_cli(url: str, path: Path, in_process: bool = False) -> tuple[float, float, float]:
    """`coalition import purchases` in a subprocess: wall seconds, the child's CPU seconds and its worker processes'
    (sampled: they are not waited for by the child, so its rusage does not hold them)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = [str(BIN / "coalition"), "import", "purchases", str(path), "--network", "demo", "--database-url", url]
    if in_process:  # the lanes in the CLI's own process: a file below the workers' threshold, by a debug switch
        command = [sys.executable, "-c", CLI_IN_PROCESS, *command[1:]]
    with TreeCpu(os.getpid()) as tree:
        child = subprocess.Popen(command, env={**os.environ, "COLUMNS": "120"})
        if child.wait() != 0:
            raise SystemExit(f"the CLI import failed: exit {child.returncode}")
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, own, max(0.0, tree.seconds - tree.seen.get(child.pid, 0.0))


# `coalition` with the purchase lanes kept in its own process (the comparison run of --lanes-in-process --cli)
CLI_IN_PROCESS = """
import sys
import coalition.adapters.import_processes as processes
processes.ProcessLanes.for_settings = classmethod(lambda cls, settings, clock, build: None)
from coalition.adapters.cli.main import app
sys.argv[0] = "coalition"
app()
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--reuse", action="store_true", help="keep the database a previous run loaded")
    parser.add_argument("--cli", action="store_true", help="also import a second file through the CLI")
    parser.add_argument("--refunds", action="store_true", help="time a refunds file of --rows refunds instead")
    parser.add_argument(
        "--lanes-in-process",
        action="store_true",
        help="record the lanes in this process as before the worker processes (for a before/after comparison)",
    )
    parser.add_argument("--admin-url", default=default_admin_url())
    return parser.parse_args(argv)


def vacuumed(url: str) -> None:
    """The tables every imported purchase updates, vacuumed: back-to-back runs outpace autovacuum, and a reused
    database would measure their bloat (docs/benchmarks.md, 2026-12-07 11:21)."""
    import psycopg

    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        for table in ("members", "member_balances", "lots"):
            connection.execute(f"VACUUM ANALYZE {table}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    name = f"{NAME}_refunds" if args.refunds else NAME  # apart from a purchases run's database
    url = database_url(args.admin_url, name)
    if not args.reuse:
        prepare(url, name, args.admin_url, args.members)
    else:  # a database a previous revision loaded: brought to this code's schema (a no-op when it is)
        from coalition.adapters.storage import migrate

        migrate.upgrade(url)
        vacuumed(url)
    from coalition.application.commands import key_hash

    terminal_id = int(query(url, f"SELECT id FROM terminals WHERE key_hash = '{key_hash(DEMO_KEY)}'")[0][0])
    tag = uuid.uuid4().hex[:8]
    if args.refunds:
        from bench.import_refunds import bench_refunds

        print(bench_refunds(url, args, terminal_id, tag))
        return 0
    data = purchases_csv(terminal_id, args.rows, args.members, tag)
    say(f"importing {args.rows:,} purchases ({len(data):,} bytes of CSV) through the application layer")
    load_before = os.getloadavg()[0]
    figures = asyncio.run(import_file(url, data, in_process=args.lanes_in_process))
    load_after = os.getloadavg()[0]
    count = int(query(url, f"SELECT COUNT(*) FROM purchases WHERE receipt LIKE '{tag}-%'")[0][0])
    if count != args.rows:
        raise SystemExit(f"{count} purchases recorded, expected {args.rows}")
    verified = subprocess.run(
        [str(BIN / "coalition"), "verify", "--database-url", url], capture_output=True, text=True, check=False
    )
    machine = machine_info(args.admin_url)
    rate = figures["rows"] / figures["seconds"]
    # the worker processes run only on hosts of PROCESS_LANES_MIN_CORES cores or more: say where the lanes ran
    lanes_where = "lanes in worker processes" if figures["worker_processes"] else "lanes in this process"
    commit_rate = figures["rows"] / figures["commit_seconds"]
    lines = [
        f"### {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {args.rows:,} purchases from a CSV file "
        f"(`python -m bench.imports`)",
        "",
        f"Host: {machine['nproc']} cores ({machine['cpu']}), {machine['ram']}; PostgreSQL {machine['postgresql']}; "
        f"Python {machine['python']}; revision {machine['revision']}; load {load_before:.2f} before "
        f"the import, {load_after:.2f} after",
        "",
        "| phase | seconds | purchases/s |",
        "|---|---:|---:|",
        f"| read the file and check every row | {figures['first_chunk_at']:.2f} | |",
        f"| record: chunks of 1,000 on two lanes ({lanes_where}) | {figures['commit_seconds']:.2f} | "
        f"**{commit_rate:,.0f}** |",
        f"| the whole import | {figures['seconds']:.2f} | **{rate:,.0f}** |",
        "",
        f"CPU per purchase: this process {figures['cpu_ms']:.3f} ms, its {figures['worker_processes']} worker "
        f"processes {figures['workers_ms']:.3f} ms, PostgreSQL's backends {figures['pg_ms']:.3f} ms "
        f"({lanes_where}). "
        f"Points earned {figures['points_earned']:,}, redeemed {figures['points_redeemed']:,}; "
        f"{count:,} purchases recorded once; `coalition verify`: exit {verified.returncode}.",
    ]
    if args.cli:
        cli_tag = uuid.uuid4().hex[:8]
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "purchases.csv"
            path.write_bytes(purchases_csv(terminal_id, args.rows, args.members, cli_tag, seed=18))
            seconds, cpu, workers = run_cli(url, path, args.lanes_in_process)
        lines.append(
            f"Through `coalition import purchases` (a subprocess, start-up included; {lanes_where}): {seconds:.2f} s, "
            f"{args.rows / seconds:,.0f} purchases/s, {cpu * 1000 / args.rows:.3f} ms of its CPU per purchase and "
            f"{workers * 1000 / args.rows:.3f} ms of its worker processes'."
        )
    target = "met" if commit_rate >= TARGET else "missed"
    lines.append(f"Target ≥ {TARGET:,} purchases/s committed: {target}.")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
