"""Committed purchases per second and latency through the HTTP API on PostgreSQL, next to pgbench's TPC-B.

    .venv/bin/python -m bench.purchases            # the full run (make bench); rewrites docs/benchmarks.md
    .venv/bin/python -m bench.purchases --quick    # a 5 s smoke run; leaves the docs alone

One run:
1. recreates the database (coalition_bench), migrates it with `coalition migrate`, loads the demo network with
   `coalition demo` and enrols --members members through the application services (the real code path), each with
   a first purchase so it has points to spend and a wallet top-up so it has money to pay with;
2. for each --workers count, starts `coalition serve` in a subprocess, waits for /health, warms up, then drives
   POST /v1/purchases at --connections concurrent connections for --duration seconds with wrk (a C load generator)
   and a Lua script that gives every request a unique Idempotency-Key and receipt; a share of the purchases also
   redeems points. Every non-201 answer is counted and reported;
3. runs pgbench's TPC-B (`pgbench -i -s 10`, then `-c 16 -j 2 -T 20`) on the same server as the ceiling;
4. with the most workers, measures two scenarios of the same checks (1,500.00-5,000.00) side by side: a points
   redemption (every purchase redeems 10-50 points) and a wallet payment (every purchase pays 10.00-50.00 from the
   member's wallet, topped up during loading): a wallet payment should cost no more than a points redemption;
5. benchmarks POST /v1/purchases/batch too if /openapi.json lists it;
6. prints a table, keeps the raw figures in bench/results/ (git-ignored) and rewrites the "Latest run" section of
   docs/benchmarks.md, adding a line to its history.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs" / "benchmarks.md"
LUA_SCRIPT = Path(__file__).with_name("purchases.lua")
BIN = Path(sys.executable).parent
DEMO_KEY = "term_demo_corner_shop"  # the corner shop: the seed's small-shop program
CARD_PREFIX = "99"  # members are cards 99 + 8 digits, 1..members (the Lua script picks them the same way)
SEED_PURCHASE = "5000.00"  # each member's first purchase: 150 points at 3 %, so redeeming 10-50 always works
WALLET_TOP_UP = "10000.00"  # each member's wallet, topped up during loading: 200 payments of up to 50.00 at least
WALLET_TOLERANCE = 0.05  # the wallet payment "costs no more" than the redemption within this share of measurement noise
TARGET_SHARE_OF_PGBENCH = 0.35  # issue 13: committed purchases/s at least this share of pgbench's TPC-B tps
TARGET_P99_MS = 25.0
TARGET_BATCH_RATE = 25_000
SQLITE_MEMBERS = 2_000  # the SQLite row enrols fewer members: its set-up runs one write at a time
LATEST_START = "<!-- bench:latest:start -->"
LATEST_END = "<!-- bench:latest:end -->"
HISTORY_MARK = "<!-- bench:history -->"
QUIET_OTHER_CORES = 0.2  # a phase is measured again (up to --attempts) when other work took more
SETTLED_CORES = 0.3  # a phase starts once the machine is at most this busy, or after --settle seconds


# --- results ------------------------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    label: str
    tool: str
    duration_s: float
    committed: int  # 201 answers
    failed: int  # non-201 answers
    socket_errors: dict[str, int]
    status_codes: dict[str, int]
    latency_ms: dict[str, float]
    db_committed: int = 0  # rows added to purchases, counted in the database
    # average cores busy: server, postgres (this database), load tool, other (everything else on the machine)
    cpu_cores: dict[str, float] = field(default_factory=dict)
    pg: dict[str, int] = field(default_factory=dict)  # pg_stat_database deltas: commits, rollbacks, deadlocks
    first_error: str = ""
    server_log_problems: list[str] = field(default_factory=list)
    busy_before: float = 0.0  # cores busy on the machine just before the phase (nothing of ours was running)
    discarded: list[str] = field(default_factory=list)  # earlier attempts disturbed by other work on the machine
    # CPU seconds over the phase: server, postgres (backends + background), postgres backends (this database's)
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.committed / self.duration_s if self.duration_s else 0.0

    def cpu_ms_per_purchase(self, what: str) -> float:
        """CPU milliseconds one committed purchase cost `what` ("server", "postgres", "postgres backends")."""
        return 1000 * self.cpu_seconds.get(what, 0.0) / self.committed if self.committed else 0.0

    @property
    def errors(self) -> int:
        return self.failed + sum(self.socket_errors.values())


@dataclass
class PgbenchResult:
    tps: float
    latency_ms: dict[str, float]
    transactions: int
    failed: int
    command: str
    cores_busy: dict[str, float] = field(default_factory=dict)  # pgbench, postgres (its database), other
    busy_before: float = 0.0
    postgres_cpu_ms: float = 0.0  # PostgreSQL's CPU per TPC-B transaction (backends and background)


@dataclass(frozen=True)
class Scenario:
    mode: str  # what the Lua script and the Python client send (`purchase_body`)
    label: str
    what: str


MIXED = "mix"  # the main load: --redeem-share of purchases redeem points, the rest only earn
SCENARIOS = (
    Scenario("redeem", "points redemption", "every purchase of 1,500.00-5,000.00 also redeems 10-50 points"),
    Scenario(
        "wallet",
        "wallet payment",
        "every purchase of 1,500.00-5,000.00 pays 10.00-50.00 of it from the member's wallet "
        '(`"tenders": [{"kind": "wallet", "amount": …}]`)',
    ),
)


@dataclass
class Run:
    date: str
    command: str
    machine: dict[str, str]
    load_average: str  # before the run: other work on the machine skews every figure
    config: dict[str, Any]
    seed_seconds: float = 0.0
    loads: list[LoadResult] = field(default_factory=list)
    pgbench: PgbenchResult | None = None
    batch: LoadResult | None = None
    batch_note: str = "not yet built (no /v1/purchases/batch in /openapi.json)"
    sqlite: LoadResult | None = None  # single purchases on the embedded engine, one worker
    scenarios: list[LoadResult] = field(default_factory=list)  # points redemption and wallet payment, side by side
    verify: dict[str, str] = field(default_factory=dict)  # `coalition verify` after each kind of load
    profile: dict[str, Any] = field(default_factory=dict)


# --- helpers --------------------------------------------------------------------------------------------------------


PG_SOCKET_DIRECTORY = Path("/var/run/postgresql")


def default_admin_url() -> str:
    """Server and database share this machine: the Unix socket costs less per round trip than TCP loopback
    (measured: 892 against 734 purchases/s with 2 workers). pgbench uses the same URL, so the ceiling is fair."""
    if PG_SOCKET_DIRECTORY.is_dir():
        return f"postgresql://postgres@/postgres?host={PG_SOCKET_DIRECTORY}"
    return "postgresql://postgres@127.0.0.1:5432/postgres"


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """psycopg and pgbench want a plain postgresql:// URL without a SQLAlchemy driver name."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def recreate_database(admin_url: str, name: str) -> None:
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        return list(connection.execute(sql).fetchall())


def coalition(*args: str, capture: bool = False) -> str:
    command = [str(BIN / "coalition"), *args]
    done = subprocess.run(command, check=True, text=True, capture_output=capture)
    return done.stdout if capture else ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(share * len(sorted_values)) - 1))
    return sorted_values[index]


def machine_info(admin_url: str) -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    settings = dict(
        query(
            admin_url,
            "SELECT name, current_setting(name) FROM pg_settings WHERE name IN "
            "('shared_buffers', 'synchronous_commit', 'fsync', 'max_connections', 'wal_level')",
        )
    )
    pg_version = query(admin_url, "SHOW server_version")[0][0]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True)
    revision = commit.stdout.strip() or "unknown"
    if dirty.stdout.strip():
        revision += " + uncommitted changes in src/"
    return {
        "nproc": subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip(),
        "cpu": cpu,
        "ram": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "postgresql": f"{pg_version} (shared_buffers {settings.get('shared_buffers', '?')}, "
        f"fsync {settings.get('fsync', '?')}, synchronous_commit {settings.get('synchronous_commit', '?')})",
        "python": platform.python_version(),
        "os": platform.platform(),
        "revision": revision,
    }


# --- CPU accounting from /proc ----------------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int) -> tuple[str, int, float] | None:
    """(comm, ppid, cpu seconds) of a process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


_CLIENT_BACKEND = re.compile(r"^postgres: [^:]+: \S+ (\S+) (\S+\(\d+\)|\[local\])")


def _postgres_role(pid: int, database: str) -> str | None:
    """ "backend" for a backend of this benchmark's database, "background" for a background process (WAL writer,
    checkpointer, ...), None for another database's backend or a process that is gone."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return None
    backend = _CLIENT_BACKEND.match(title)
    if backend is None:
        return "background"
    return "backend" if backend.group(1) == database else None


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (everything but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / CLOCK_TICKS


def settle(limit: float) -> float:
    """Wait until the machine is nearly idle (other sessions share it), at most `limit` s; the busy cores seen last."""
    deadline = time.monotonic() + limit
    while True:
        before = machine_busy_seconds()
        time.sleep(1)
        busy = machine_busy_seconds() - before
        if busy < SETTLED_CORES or time.monotonic() > deadline:
            return round(busy, 2)


def cpu_snapshot(server_pid: int, database: str) -> dict[str, float]:
    """CPU seconds used so far by the server's process tree, by PostgreSQL for this database, and by the machine."""
    procs: dict[int, tuple[str, int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))) is not None:
            procs[int(entry.name)] = stat
    tree = {server_pid}
    changed = True
    while changed:
        changed = False
        for pid, (_, ppid, _) in procs.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                changed = True
    roles = {pid: _postgres_role(pid, database) for pid, stat in procs.items() if stat[0] == "postgres" and database}
    backends = sum(procs[pid][2] for pid, role in roles.items() if role == "backend")
    return {
        "server": sum(procs[pid][2] for pid in tree if pid in procs),
        "postgres": backends + sum(procs[pid][2] for pid, role in roles.items() if role == "background"),
        "postgres backends": backends,
        "machine": machine_busy_seconds(),
    }


def worker_pids(server_pid: int) -> list[int]:
    """The processes that serve requests: the server itself with one worker, else its spawned children."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _proc_stat(int(entry.name))
        if stat is None or stat[1] != server_pid:
            continue
        try:
            cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            children.append(int(entry.name))
    return sorted(children) or [server_pid]


def pg_counters(url: str, name: str) -> dict[str, int]:
    if is_sqlite(url):
        return {}
    row = query(url, f"SELECT xact_commit, xact_rollback, deadlocks FROM pg_stat_database WHERE datname = '{name}'")
    return {"commits": int(row[0][0]), "rollbacks": int(row[0][1]), "deadlocks": int(row[0][2])}


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def purchase_count(url: str) -> int:
    if is_sqlite(url):
        with contextlib.closing(sqlite3.connect(make_url(url).database or "")) as connection:
            return int(connection.execute("SELECT count(*) FROM purchases").fetchone()[0])
    return int(query(url, "SELECT count(*) FROM purchases")[0][0])


# --- set-up -------------------------------------------------------------------------------------------------------


async def enrol_members(url: str, count: int, concurrency: int) -> None:
    """Enrol members with cards 99xxxxxxxx and give each a first purchase, through the application services."""
    from coalition.application import wallets_pos
    from coalition.application.commands import PurchaseInput, fingerprint
    from coalition.application.enrolment import EnrolInput
    from coalition.application.ports import Profile
    from coalition.settings import Settings
    from coalition.wiring import build_services

    services = build_services(Settings(url, None, "http://127.0.0.1"))
    try:
        shop = await services.pos.authenticate(DEMO_KEY)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for number in range(1, count + 1):
            queue.put_nowait(number)
        done = 0

        async def worker() -> None:
            nonlocal done
            while not queue.empty():
                number = queue.get_nowait()
                card = f"{CARD_PREFIX}{number:08d}"
                profile = Profile(name=f"Bench Member {number}", consent_data_processing=True)
                key = f"bench-enrol-{card}"
                await services.pos.enrol(
                    shop, EnrolInput("personal", card, profile), key, fingerprint("bench", key.encode())
                )
                receipt = f"bench-seed-{card}"
                await services.pos.purchase(
                    shop,
                    PurchaseInput(card, amount=SEED_PURCHASE, receipt=receipt),
                    receipt,
                    fingerprint("bench", receipt.encode()),
                )
                top_up = f"bench-top-up-{card}"
                await wallets_pos.top_up(
                    services.pos,
                    shop,
                    wallets_pos.TopUpInput(card, WALLET_TOP_UP),
                    top_up,
                    fingerprint("bench", top_up.encode()),
                )
                done += 1
                if done % 2000 == 0:
                    say(f"  {done} of {count} members enrolled")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await services.close()


def prepare(url: str, name: str, admin_url: str, members: int) -> float:
    started = time.perf_counter()
    say(f"recreating database {name}")
    recreate_database(admin_url, name)
    say("coalition migrate")
    coalition("migrate", "--database-url", url, capture=True)
    say("coalition demo")
    demo = json.loads(coalition("demo", "--database-url", url, "--json", capture=True))
    if demo["terminals"][0]["key"] != DEMO_KEY:
        raise SystemExit(f"the demo's first terminal is {demo['terminals'][0]['key']}, expected {DEMO_KEY}")
    say(f"enrolling {members} members, each with a first purchase of {SEED_PURCHASE} and a top-up of {WALLET_TOP_UP}")
    asyncio.run(enrol_members(url, members, concurrency=8))
    say("ANALYZE (a production database has planner statistics; a freshly loaded one has none yet)")
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        connection.execute("ANALYZE")
    seconds = time.perf_counter() - started
    say(f"database ready in {seconds:.1f} s")
    return seconds


# --- the server ---------------------------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def serve(url: str, workers: int, log: Path) -> Iterator[Server]:
    port = free_port()
    command = [str(BIN / "coalition"), "serve", "--database-url", url, "--port", str(port), "--workers", str(workers)]
    say(f"starting {' '.join(command[1:])}")
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True, env=_bench_env()
        )
    server = Server(process, port, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the server exited with {process.returncode}; see {log}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{server.base_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not answer /health within 60 s; see {log}")
            time.sleep(0.2)
        if workers > 1:  # /health answered once; wait until every worker is up
            while len(worker_pids(process.pid)) < workers and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def log_problems(log: Path, start: int) -> list[str]:
    """What went wrong in a server log after byte offset `start`: each distinct error line, with its count."""
    text = log.read_bytes()[start:].decode(errors="replace")
    generic = ("ERROR:    Exception in ASGI application", "Traceback (most recent call last):")
    pattern = re.compile(r"error|exception|deadlock|fatal", re.IGNORECASE)
    found: Counter[str] = Counter(
        line.strip()
        for line in text.splitlines()
        if line and not line[0].isspace() and line.strip() not in generic and pattern.search(line)
    )
    tracebacks = text.count("Traceback (most recent call last):")
    lines = [f"{count} × {line}" for line, count in found.most_common()]
    return ([f"{tracebacks} tracebacks"] if tracebacks else []) + lines


# --- load generators ------------------------------------------------------------------------------------------------


def wrk_command(server: Server, args: argparse.Namespace, seconds: float, tag: str) -> list[str]:
    wrk = shutil.which("wrk") or "wrk"
    return [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_SCRIPT),
        server.base_url,
        "--",
        DEMO_KEY,
        str(args.members),
        str(args.redeem_share),
        tag,
        getattr(args, "mode", MIXED),
    ]


def run_wrk(server: Server, args: argparse.Namespace, seconds: float, tag: str) -> tuple[LoadResult, str]:
    done = subprocess.run(wrk_command(server, args, seconds, tag), capture_output=True, text=True)
    return LoadResult("", "wrk", seconds, 0, 0, {}, {}, {}), done.stdout + done.stderr


def parse_wrk(result: LoadResult, output: str) -> LoadResult:
    codes: Counter[str] = Counter()
    latency: dict[str, float] = {}
    for line in output.splitlines():
        if not line.startswith("BENCH "):
            continue
        _, what, rest = line.split(" ", 2)
        if what == "created":
            result.committed = int(rest)
        elif what == "failed":
            result.failed = int(rest)
        elif what == "duration_us":
            result.duration_s = int(rest) / 1e6
        elif what == "socket_errors":
            connect, read, write, timeout, _status = (int(x) for x in rest.split())
            result.socket_errors = {"connect": connect, "read": read, "write": write, "timeout": timeout}
        elif what == "codes":
            for part in rest.split(","):
                code, count = part.split(":")
                codes[code] += int(count)
        elif what == "first_error" and not result.first_error:
            result.first_error = rest
        elif what == "latency_us":
            name, value = rest.split()
            latency[name] = int(value) / 1000
    if "p50" not in latency:
        raise SystemExit(f"wrk printed no results:\n{output}")
    result.status_codes = dict(codes)
    result.latency_ms = latency
    return result


def purchase_body(mode: str, redeem_share: float, card: str, receipt: str) -> dict[str, Any]:
    """One purchase of a load, as bench/purchases.lua builds it: the mixed load, or one of the SCENARIOS."""
    body: dict[str, Any] = {"customer": card, "receipt": receipt}
    if mode == "wallet":
        tender = {"kind": "wallet", "amount": f"{random.randint(10, 50)}.00"}
        return body | {"amount": f"{random.randint(1500, 5000)}.00", "tenders": [tender]}
    if mode == "redeem" or random.random() < redeem_share:
        return body | {"amount": f"{random.randint(1500, 5000)}.00", "redeem_points": random.randint(10, 50)}
    return body | {"amount": f"{random.randint(100, 5000)}.{random.randint(0, 99):02d}"}


async def _python_load(base_url: str, args: argparse.Namespace, seconds: float, tag: str) -> LoadResult:
    """The fallback without wrk: a lean asyncio + httpx client (it shares the CPU with the server)."""
    latencies: list[float] = []
    codes: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    first_error = ""
    counter = 0
    deadline = time.perf_counter() + seconds

    async def connection(client: httpx.AsyncClient) -> None:
        nonlocal counter, first_error
        while time.perf_counter() < deadline:
            counter += 1
            ident = f"{tag}-{counter}"
            card = f"{CARD_PREFIX}{random.randint(1, args.members):08d}"
            body = purchase_body(getattr(args, "mode", MIXED), args.redeem_share, card, ident)
            headers = {"Authorization": f"Bearer {DEMO_KEY}", "Idempotency-Key": ident}
            started = time.perf_counter()
            try:
                response = await client.post("/v1/purchases", json=body, headers=headers)
            except httpx.TimeoutException:
                errors["timeout"] += 1
                continue
            except httpx.HTTPError:
                errors["read"] += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            codes[str(response.status_code)] += 1
            if response.status_code != 201 and not first_error:
                first_error = f"{response.status_code} {response.text[:400]}"

    limits = httpx.Limits(max_connections=args.connections, max_keepalive_connections=args.connections)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=10) as client:
        began = time.perf_counter()
        await asyncio.gather(*(connection(client) for _ in range(args.connections)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    created = codes.pop("201", 0)
    return LoadResult(
        "",
        "python (asyncio + httpx)",
        elapsed,
        created,
        sum(codes.values()),
        dict(errors),
        dict(codes),
        {
            "p50": percentile(latencies, 0.50),
            "p90": percentile(latencies, 0.90),
            "p99": percentile(latencies, 0.99),
            "mean": sum(latencies) / len(latencies) if latencies else 0.0,
            "max": latencies[-1] if latencies else 0.0,
        },
        first_error=first_error,
    )


def drive(server: Server, args: argparse.Namespace, seconds: float, tag: str, db_url: str, db_name: str) -> LoadResult:
    """One measured load phase, with the database's and the processes' view of it."""
    log_offset = server.log.stat().st_size
    purchases_before = purchase_count(db_url)
    pg_before = pg_counters(db_url, db_name)
    cpu_before = cpu_snapshot(server.process.pid, db_name)
    if args.python_client:
        tool_before = resource.getrusage(resource.RUSAGE_SELF)
        result = asyncio.run(_python_load(server.base_url, args, seconds, tag))
        tool_after = resource.getrusage(resource.RUSAGE_SELF)
    else:
        tool_before = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk is waited for, so it shows here
        result = parse_wrk(*run_wrk(server, args, seconds, tag))
        tool_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_after = cpu_snapshot(server.process.pid, db_name)
    cpu_after["load tool"] = (tool_after.ru_utime + tool_after.ru_stime) - (tool_before.ru_utime + tool_before.ru_stime)
    cpu_before["load tool"] = 0.0
    pg_after = pg_counters(db_url, db_name)
    result.db_committed = purchase_count(db_url) - purchases_before
    result.pg = {name: pg_after[name] - pg_before[name] for name in pg_after}
    result.cpu_seconds = {name: cpu_after[name] - cpu_before[name] for name in cpu_after}
    used = {name: seconds / result.duration_s for name, seconds in result.cpu_seconds.items()}
    used.pop("postgres backends")
    used["other"] = max(0.0, used.pop("machine") - used["server"] - used["postgres"] - used["load tool"])
    result.cpu_cores = {name: round(cores, 2) for name, cores in used.items()}
    result.server_log_problems = log_problems(server.log, log_offset)
    return result


# --- the batch path ---------------------------------------------------------------------------------------------------


def batch_path(server: Server) -> str | None:
    paths = httpx.get(f"{server.base_url}/openapi.json", timeout=10).json().get("paths", {})
    return "/v1/purchases/batch" if "/v1/purchases/batch" in paths else None


def batch_body_builder(server: Server) -> tuple[str, bool] | None:
    """The array property of the batch request body, and whether its items carry their own idempotency key."""
    spec = httpx.get(f"{server.base_url}/openapi.json", timeout=10).json()

    def resolve(schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            node: Any = spec
            for part in schema["$ref"].lstrip("#/").split("/"):
                node = node[part]
            schema = node
        return schema

    operation = spec["paths"]["/v1/purchases/batch"].get("post", {})
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    body = resolve(content.get("schema", {}))
    for name, prop in body.get("properties", {}).items():
        prop = resolve(prop)
        if prop.get("type") == "array":
            item = resolve(prop.get("items", {}))
            keyed = any("idempotency" in key.lower() for key in item.get("properties", {}))
            return name, keyed
    return None


async def _batch_load(server: Server, args: argparse.Namespace, seconds: float, tag: str) -> LoadResult:
    shape = batch_body_builder(server)
    if shape is None:
        raise ValueError("the batch request body has no array of purchases this benchmark recognizes")
    field_name, keyed = shape
    latencies: list[float] = []
    codes: Counter[str] = Counter()
    first_error = ""
    counter = 0
    deadline = time.perf_counter() + seconds

    async def connection(client: httpx.AsyncClient, lane: int) -> None:
        """One till uploading its own customers' purchases: lanes share no members, as separate shops would not."""
        nonlocal counter, first_error
        lanes = args.batch_connections
        while time.perf_counter() < deadline:
            items = []
            for _ in range(args.batch_size):
                counter += 1
                ident = f"{tag}-{counter}"
                member = random.randrange(lane, args.members, lanes) + 1
                item: dict[str, Any] = {
                    "customer": f"{CARD_PREFIX}{member:08d}",
                    "receipt": ident,
                }
                if random.random() < args.redeem_share:
                    item |= {"amount": f"{random.randint(1500, 5000)}.00", "redeem_points": random.randint(10, 50)}
                else:
                    item["amount"] = f"{random.randint(100, 5000)}.{random.randint(0, 99):02d}"
                if keyed:
                    item["idempotency_key"] = ident
                items.append(item)
            headers = {"Authorization": f"Bearer {DEMO_KEY}", "Idempotency-Key": f"{tag}-batch-{counter}"}
            started = time.perf_counter()
            response = await client.post("/v1/purchases/batch", json={field_name: items}, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            codes[str(response.status_code)] += 1
            if response.status_code >= 300 and not first_error:
                first_error = f"{response.status_code} {response.text[:400]}"
            if response.status_code < 300:
                for outcome in response.json().get("results", []):  # each purchase's own answer
                    status = outcome.get("status", 201) if isinstance(outcome, dict) else 201
                    if status >= 300:
                        item_codes[f"item {status}"] += 1
                        if not first_error:
                            first_error = f"item {status} {json.dumps(outcome)[:400]}"

    item_codes: Counter[str] = Counter()
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
        began = time.perf_counter()
        await asyncio.gather(*(connection(client, lane) for lane in range(args.batch_connections)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    ok = sum(n for code, n in codes.items() if code.startswith("2"))
    failures = {code: n for code, n in codes.items() if not code.startswith("2")} | dict(item_codes)
    return LoadResult(
        "batch",
        f"python (httpx), {args.batch_connections} connections × {args.batch_size} purchases per request",
        elapsed,
        0,
        sum(codes.values()) - ok + sum(item_codes.values()),
        {},
        failures,
        {"p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99)},
        first_error=first_error,
    )


def drive_batch(server: Server, args: argparse.Namespace, seconds: float, db_url: str, db_name: str) -> LoadResult:
    before = purchase_count(db_url)
    log_offset = server.log.stat().st_size
    pg_before = pg_counters(db_url, db_name)
    cpu_before, tool_before = cpu_snapshot(server.process.pid, db_name), resource.getrusage(resource.RUSAGE_SELF)
    result = asyncio.run(_batch_load(server, args, seconds, f"batch-{uuid.uuid4().hex[:8]}"))
    cpu_after, tool_after = cpu_snapshot(server.process.pid, db_name), resource.getrusage(resource.RUSAGE_SELF)
    pg_after = pg_counters(db_url, db_name)
    result.pg = {name: pg_after[name] - pg_before[name] for name in pg_after}
    result.cpu_seconds = {name: cpu_after[name] - cpu_before[name] for name in cpu_after}
    used = {name: seconds / result.duration_s for name, seconds in result.cpu_seconds.items()}
    used.pop("postgres backends")
    used["load tool"] = (
        tool_after.ru_utime + tool_after.ru_stime - tool_before.ru_utime - tool_before.ru_stime
    ) / result.duration_s
    used["other"] = max(0.0, used.pop("machine") - used["server"] - used["postgres"] - used["load tool"])
    result.cpu_cores = {name: round(cores, 2) for name, cores in used.items()}
    result.db_committed = purchase_count(db_url) - before
    result.committed = result.db_committed  # purchases committed, counted in the database
    result.server_log_problems = log_problems(server.log, log_offset)
    return result


# --- profiling --------------------------------------------------------------------------------------------------------


def profile_worker(server: Server, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """A py-spy record of one worker under the same load; the functions on top by own and by total time."""
    py_spy = shutil.which("py-spy") or (str(BIN / "py-spy") if (BIN / "py-spy").exists() else None)
    if py_spy is None:
        return {"note": "py-spy is not installed (.venv/bin/pip install py-spy)"}
    pid = worker_pids(server.process.pid)[0]
    seconds = args.profile_seconds
    load = subprocess.Popen(
        wrk_command(server, args, seconds + 4, f"prof-{uuid.uuid4().hex[:8]}"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    time.sleep(2)
    rate = 200
    done = subprocess.run(
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            str(rate),
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        capture_output=True,
        text=True,
    )
    output, _ = load.communicate()
    if done.returncode != 0 or not out.exists():
        return {"note": f"py-spy failed: {done.stderr.strip()[-500:]}"}
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in out.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [_frame_name(frame) for frame in stack.split(";")]
        if frames[-1] in IDLE_FRAMES:  # thread-pool workers waiting for work
            continue
        samples += count
        own[frames[-1]] += count
        for name in set(frames):
            total[name] += count
    possible = seconds * rate
    return {
        "pid": pid,
        "seconds": seconds,
        "busy_share": round(samples / possible, 2) if possible else 0.0,
        "threadpool_share": round(100 * total["run_in_threadpool (starlette/concurrency.py)"] / samples, 1)
        if samples
        else 0.0,
        "samples": samples,
        "own": [
            (NATIVE_NOTES.get(name, name), round(100 * n / samples, 1)) for name, n in own.most_common(args.profile_top)
        ],
        "total": [
            (name, round(100 * n / samples, 1))
            for name, n in total.most_common(args.profile_top * 4)
            if name.split(" (", 1)[-1].startswith("coalition/") and "adapters/cli" not in name
        ][: args.profile_top],
        "rate_under_profiler": parse_wrk(LoadResult("", "wrk", 0, 0, 0, {}, {}, {}), output).rate,
        "raw": str(out.relative_to(ROOT)),
    }


IDLE_FRAMES = {"Condition.wait (threading.py)", "wait (threading.py)", "_worker (concurrent/futures/thread.py)"}
NATIVE_NOTES = {
    "Runner.run (asyncio/runners.py)": "Runner.run (asyncio/runners.py): the uvloop event loop's own C code",
    "Connection._do_execute (asyncpg/connection.py)": "Connection._do_execute (asyncpg/connection.py): "
    "asyncpg's Cython protocol and the socket calls under it",
}


def _frame_name(frame: str) -> str:
    """'execute (sqlalchemy/engine/base.py:1415)' → 'execute (sqlalchemy/engine/base.py)'."""
    name = re.sub(r":\d+\)$", ")", frame.strip())
    return re.sub(r"\(.*?site-packages/", "(", name)


# --- pgbench ------------------------------------------------------------------------------------------------------


def run_pgbench(admin_url: str, name: str, args: argparse.Namespace, seconds: float) -> PgbenchResult:
    pgbench = shutil.which("pgbench") or "/usr/bin/pgbench"
    url = libpq_url(database_url(admin_url, name))
    say(f"pgbench -i -s {args.pgbench_scale} into {name}")
    recreate_database(admin_url, name)
    subprocess.run([pgbench, "-i", "-s", str(args.pgbench_scale), "-q", url], check=True, capture_output=True)
    command = f"pgbench -c {args.connections} -j {args.threads} -T {seconds:g}"
    say(command)
    busy_before = settle(args.settle)
    with tempfile.TemporaryDirectory() as logs:
        run = [pgbench, "-c", str(args.connections), "-j", str(args.threads), "-T", f"{seconds:g}"]
        process = subprocess.Popen(
            [*run, "-l", "--log-prefix", f"{logs}/pgbench", url],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # pgbench and its backends are gone once it ends: read their CPU while they run, over the middle of the run
        time.sleep(min(2.0, seconds / 4))
        cpu_before, started = cpu_snapshot(os.getpid(), name), time.perf_counter()
        time.sleep(max(0.5, seconds - 2 * min(2.0, seconds / 4)))
        cpu_after, elapsed = cpu_snapshot(os.getpid(), name), time.perf_counter() - started
        output, _ = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"pgbench failed:\n{output}")
        latencies = sorted(
            int(line.split()[2]) / 1000 for log in Path(logs).iterdir() for line in log.read_text().splitlines()
        )
    used = {key: (cpu_after[key] - cpu_before[key]) / elapsed for key in cpu_after}
    used.pop("postgres backends")
    used["other"] = max(0.0, used.pop("machine") - used["server"] - used["postgres"])
    used["pgbench"] = used.pop("server")  # this process's tree: pgbench itself
    out = output
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))  # type: ignore[union-attr]
    transactions = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))  # type: ignore[union-attr]
    failed_match = re.search(r"number of failed transactions: (\d+)", out)
    mean = re.search(r"latency average = ([\d.]+) ms", out)
    return PgbenchResult(
        tps=tps,
        latency_ms={
            "p50": percentile(latencies, 0.5),
            "p99": percentile(latencies, 0.99),
            "mean": float(mean.group(1)) if mean else 0.0,
        },
        transactions=transactions,
        failed=int(failed_match.group(1)) if failed_match else 0,
        command=f"pgbench -i -s {args.pgbench_scale}; {command}",
        cores_busy={key: round(value, 2) for key, value in used.items()},
        busy_before=busy_before,
        postgres_cpu_ms=1000 * used["postgres"] / tps if tps else 0.0,
    )


def verify_database(url: str) -> str:
    started = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "coalition"), "verify", "--database-url", url], capture_output=True, text=True, env=_plain_env()
    )
    seconds = time.perf_counter() - started
    if done.returncode == 0:
        return f"passed ({seconds:.0f} s)"
    lines = (done.stdout + done.stderr).splitlines()
    failed = [line.strip() for line in lines if line.startswith("FAIL")]
    offending = sum(1 for line in lines if line.startswith("      "))
    return f"FAILED (exit {done.returncode}, {offending} offending rows): " + " | ".join(failed or lines[-5:])[:1500]


def check_ledger(run: Run, url: str, when: str) -> None:
    say(f"coalition verify (every ledger invariant) {when}")
    run.verify[when] = verify_database(url)
    say(f"  {run.verify[when]}")


def verify_text(run: Run) -> str:
    return "\n".join(f"- {when}: {result}" for when, result in run.verify.items())


def _bench_env() -> dict[str, str]:
    """The server under load: one address and one terminal key send ~1,200 purchases/s, far over the default rate
    limits (100/s per terminal key, 300/s per address; README "Rate limits"), so the run raises those two."""
    return {
        **os.environ,
        "COALITION_RATE_LIMIT_ADDRESS": os.environ.get("COALITION_RATE_LIMIT_ADDRESS", "1000000/s"),
        "COALITION_RATE_LIMIT_TERMINAL_KEY": os.environ.get("COALITION_RATE_LIMIT_TERMINAL_KEY", "1000000/s"),
    }


def _plain_env() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"}


# --- reporting ------------------------------------------------------------------------------------------------------


def _cpu_cells(load: LoadResult, postgres: bool = True) -> str:
    cores = " / ".join(f"{load.cpu_cores.get(k, 0):.2f}" for k in ("server", "postgres", "load tool", "other"))
    server = f"{load.cpu_ms_per_purchase('server'):.3f}"
    database = (
        f"{load.cpu_ms_per_purchase('postgres'):.3f} ({load.cpu_ms_per_purchase('postgres backends'):.3f})"
        if postgres
        else "– (in the server)"
    )
    return f"{server} | {database} | {cores}"


def table(run: Run) -> str:
    header = (
        "| what | committed/s | p50 ms | p99 ms | errors | server CPU ms per purchase "
        "| PostgreSQL CPU ms per purchase (its backends) | cores busy: server / postgres / load tool / other |\n"
        "|---|---:|---:|---:|---:|---:|---:|---|\n"
    )
    rows = []
    for load in run.loads:
        rows.append(
            f"| {load.label} | **{load.rate:,.0f}** | {load.latency_ms['p50']:.1f} | "
            f"{load.latency_ms['p99']:.1f} | {load.errors} | {_cpu_cells(load)} |"
        )
    for load in run.scenarios:
        rows.append(
            f"| {load.label} | **{load.rate:,.0f}** | {load.latency_ms['p50']:.1f} | "
            f"{load.latency_ms['p99']:.1f} | {load.errors} | {_cpu_cells(load)} |"
        )
    if run.batch is not None:
        b = run.batch
        rows.append(
            f"| {b.label} | **{b.rate:,.0f}** | {b.latency_ms['p50']:.1f} (per request) | "
            f"{b.latency_ms['p99']:.1f} (per request) | {b.errors} | {_cpu_cells(b)} |"
        )
    else:
        rows.append(f"| POST /v1/purchases/batch | {run.batch_note} | | | | | | |")
    if run.sqlite is not None:
        q = run.sqlite
        rows.append(
            f"| {q.label} | **{q.rate:,.0f}** | {q.latency_ms['p50']:.1f} | {q.latency_ms['p99']:.1f} | "
            f"{q.errors} | {_cpu_cells(q, postgres=False)} |"
        )
    if run.pgbench is not None:
        p = run.pgbench
        rows.append(
            f"| pgbench TPC-B (ceiling), {run.config['connections']} clients | **{p.tps:,.0f}** tps | "
            f"{p.latency_ms['p50']:.1f} | {p.latency_ms['p99']:.1f} | {p.failed} | – | "
            f"{p.postgres_cpu_ms:.3f} per transaction | "
            f"– / {p.cores_busy.get('postgres', 0):.2f} / {p.cores_busy.get('pgbench', 0):.2f} / "
            f"{p.cores_busy.get('other', 0):.2f} |"
        )
    return header + "\n".join(rows) + "\n"


def verdict(run: Run) -> str:
    lines = []
    ceiling = run.pgbench.tps if run.pgbench is not None else None
    for load in run.loads:
        share = load.rate / ceiling if ceiling else None
        ok = share is not None and share >= TARGET_SHARE_OF_PGBENCH and load.latency_ms["p99"] <= TARGET_P99_MS
        share_text = f"{share:.2f} of pgbench" if share is not None else "no pgbench in this run"
        lines.append(
            f"- {load.label}: {'meets' if ok and load.errors == 0 else 'misses'} the target "
            f"(≥ {TARGET_SHARE_OF_PGBENCH:g} × pgbench's TPC-B tps with p99 ≤ {TARGET_P99_MS:g} ms at "
            f"{run.config['connections']} connections): {load.rate:,.0f}/s ({share_text}), "
            f"p99 {load.latency_ms['p99']:.1f} ms{f', {load.errors} errors' if load.errors else ''}."
        )
    lines.extend(scenario_verdict(run))
    if run.batch is not None:
        ok = run.batch.rate >= TARGET_BATCH_RATE
        lines.append(
            f"- batch path: {'meets' if ok else 'misses'} the target (≥ {TARGET_BATCH_RATE:,} purchases/s): "
            f"{run.batch.rate:,.0f}/s."
        )
    else:
        lines.append(f"- batch path (target ≥ {TARGET_BATCH_RATE:,} purchases/s): {run.batch_note}.")
    return "\n".join(lines)


def cpu_ms_per_purchase(load: LoadResult) -> float:
    """Server and PostgreSQL CPU milliseconds per committed purchase: what one purchase costs the machine."""
    return load.cpu_ms_per_purchase("server") + load.cpu_ms_per_purchase("postgres")


def scenario_verdict(run: Run) -> list[str]:
    """Issue 14: a wallet payment costs no more than a points redemption (CPU per purchase, which other work on the
    machine moves less than the rates)."""
    by_mode = dict(zip((s.mode for s in SCENARIOS), run.scenarios, strict=False))
    redeem, wallet = by_mode.get("redeem"), by_mode.get("wallet")
    if redeem is None or wallet is None or not redeem.committed or not wallet.committed:
        return []
    ratio = cpu_ms_per_purchase(wallet) / max(cpu_ms_per_purchase(redeem), 1e-9)
    ok = ratio <= 1 + WALLET_TOLERANCE and wallet.errors == 0
    return [
        f"- wallet payment: {'meets' if ok else 'misses'} the target (issue 14: costs no more than a points "
        f"redemption, within {100 * WALLET_TOLERANCE:g} % noise): {cpu_ms_per_purchase(wallet):.3f} against "
        f"{cpu_ms_per_purchase(redeem):.3f} CPU ms per purchase (server + PostgreSQL), {ratio:.2f}×; "
        f"{wallet.rate:,.0f}/s p99 {wallet.latency_ms['p99']:.1f} ms against {redeem.rate:,.0f}/s "
        f"p99 {redeem.latency_ms['p99']:.1f} ms{f', {wallet.errors} errors' if wallet.errors else ''}."
    ]


def details(run: Run) -> str:
    out = []
    for load in run.loads + run.scenarios + ([run.batch] if run.batch else []) + ([run.sqlite] if run.sqlite else []):
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(load.status_codes.items())) or "none"
        sockets = ", ".join(f"{k} {v}" for k, v in load.socket_errors.items() if v) or "none"
        out.append(
            f"- {load.label}: {load.committed:,} {'committed' if 'batch' in load.label else 'answered 201'} "
            f"in {load.duration_s:.1f} s "
            f"({load.db_committed:,} purchases added in the database); non-201 answers: {codes}; "
            f"socket errors: {sockets}; PostgreSQL: {load.pg.get('commits', 0):,} commits, "
            f"{load.pg.get('rollbacks', 0):,} rollbacks, {load.pg.get('deadlocks', 0)} deadlocks; "
            f"{load.pg.get('commits', 0) / max(1, load.db_committed):.2f} commits per purchase; "
            f"machine busy before the phase: {load.busy_before:.2f} cores; "
            f"server log problems: {len(load.server_log_problems)}."
        )
        out.extend(f"  server log: `{line[:300]}`" for line in load.server_log_problems[:8])
        out.extend(f"  discarded attempt (other work on the machine): {line}" for line in load.discarded)
        if load.first_error:
            out.append(f"  first error: `{load.first_error[:300]}`")
    return "\n".join(out)


def profile_text(profile: dict[str, Any]) -> str:
    if not profile:
        return ""
    if "note" in profile:
        return f"Profile: {profile['note']}\n"
    own = "\n".join(f"| {share:.1f} % | `{name}` |" for name, share in profile["own"])
    total = "\n".join(f"| {share:.1f} % | `{name}` |" for name, share in profile["total"])
    return (
        f"py-spy record of worker {profile['pid']} for {profile['seconds']} s under the same load "
        f"({profile['rate_under_profiler']:,.0f} purchases/s while profiled; the worker was on CPU "
        f"{100 * profile['busy_share']:.0f} % of the time; raw stacks in {profile['raw']}). "
        f"{profile['threadpool_share']:.1f} % of the busy samples hand sync FastAPI dependencies to the thread pool "
        f"(run_in_threadpool).\n\n"
        f"Own time (share of busy samples):\n\n| share | function |\n|---:|---|\n{own}\n\n"
        f"Total time (including callees), Coalition's own frames:\n\n| share | function |\n|---:|---|\n"
        f"{total}\n"
    )


def latest_section(run: Run) -> str:
    m = run.machine
    return (
        f"{LATEST_START}\n"
        f"## Latest run: {run.date}\n\n"
        f"- Machine: {m['nproc']} cores ({m['cpu']}), {m['ram']} RAM, {m['os']}\n"
        f"- PostgreSQL {m['postgresql']}, on the same machine, reached at `{run.config.get('admin_url', '?')}`\n"
        f"- Python {m['python']}; Coalition revision {m['revision']}\n"
        f"- Load average before the run: {run.load_average} (other work on the machine shows in the 'other' column)\n"
        f"- Command: `{run.command}`\n"
        f"- Load: {run.config['connections']} connections for {run.config['duration']:g} s after a "
        f"{run.config['warmup']:g} s warm-up, by {run.loads[0].tool if run.loads else '?'}; "
        f"{run.config['members']:,} members picked at random; "
        f"{100 * (1 - run.config['redeem_share']):.0f} % pure earning, "
        f"{100 * run.config['redeem_share']:.0f} % earning + redeeming 10-50 points; all at one terminal "
        f"(the demo corner shop). Set-up (migrate, demo, enrolment) took {run.seed_seconds:.0f} s.\n"
        f"{scenarios_text(run)}\n"
        f"{table(run)}\n"
        f"Targets (issue 13):\n\n{verdict(run)}\n\n"
        f"`coalition verify` over the whole database:\n\n{verify_text(run)}\n\n"
        f"Counts:\n\n{details(run)}\n\n"
        f"{profile_text(run.profile)}"
        f"{LATEST_END}\n"
    )


def scenarios_text(run: Run) -> str:
    if not run.scenarios:
        return ""
    what = "; ".join(f"{s.label}: {s.what}" for s in SCENARIOS)
    return (
        f"- Scenarios, with {run.config.get('scenario_workers', '?')} worker(s), each after a warm-up of its own and "
        f"measured like the load above: {what}.\n"
    )


def history_row(run: Run) -> str:
    def figures(load: LoadResult) -> str:
        text = f"{load.label}: {load.rate:,.0f}/s p50 {load.latency_ms['p50']:.1f} p99 {load.latency_ms['p99']:.1f} ms"
        if load.cpu_seconds:
            text += f", CPU {load.cpu_ms_per_purchase('server'):.2f} server"
            if "SQLite" not in load.label:
                text += f" + {load.cpu_ms_per_purchase('postgres'):.2f} PostgreSQL"
            text += " ms per purchase"
        if load.errors:
            text += f" ({load.errors} errors)"
        if (other := load.cpu_cores.get("other", 0.0)) > QUIET_OTHER_CORES:
            text += f" (disturbed: other work {other:.2f} cores)"
        return text

    loads = run.loads + run.scenarios + ([run.sqlite] if run.sqlite else [])
    figures_text = "; ".join(figures(load) for load in loads)
    batch = f"{run.batch.rate:,.0f}/s" if run.batch else "not yet built"
    pgbench = f"{run.pgbench.tps:,.0f} tps" if run.pgbench else "—"
    return f"| {run.date} | {run.machine['revision']} | {figures_text} | {batch} | {pgbench} |"


DOC_HEAD = f"""# Benchmarks

`make bench` (that is, `.venv/bin/python -m bench.purchases`) measures committed purchases per second and their
latency through the HTTP API against PostgreSQL, and in the same run pgbench's TPC-B on the same server as the
ceiling. `--quick` is a 5 s smoke run that leaves this file alone; `--help` lists the options (database URL,
members, connections, duration, workers, profiling).

What one run does: it recreates the database `coalition_bench`, migrates it (`coalition migrate`), loads the demo
network (`coalition demo`) and enrols 10,000 members through the application services, each with a first purchase of
{SEED_PURCHASE} so it has points to spend and a wallet top-up of {WALLET_TOP_UP} so it has money to pay with. Then,
for 1 and for 2 worker processes, it starts `coalition serve`, warms up for 3 s and drives `POST /v1/purchases` at 16
concurrent connections for 20 s with [wrk](https://github.com/wg/wrk) and `bench/purchases.lua` (a unique
`Idempotency-Key` and receipt per request; 70 % pure earning, 30 % earning and redeeming). A purchase counts only when
it answered 201; every other answer and every socket error is counted and reported, and the purchases added to the
database are counted as a cross-check. With 2 workers two scenarios of the same checks (1,500.00-5,000.00) follow,
each warmed up and measured the same way: **points redemption** (every purchase redeems 10-50 points) and **wallet
payment** (every purchase pays 10.00-50.00 from the member's wallet, `"tenders": [{{"kind": "wallet", "amount":
…}}]`); issue 14's target is a wallet payment costing no more CPU per purchase (server + PostgreSQL) than a points
redemption, within {100 * WALLET_TOLERANCE:g} % noise (`--no-scenarios` skips them, `--scenarios-only` measures only
them).
Then `coalition verify` re-checks the ledger after the load, and pgbench runs: `pgbench -i -s 10` into a separate
database and `pgbench -c 16 -j 2 -T 20` (its p50/p99 come from its per-transaction log). Raw figures, server logs
and profiles go to `bench/results/` (not kept in git).

Reading the figures: server, PostgreSQL and the load generator share the machine's cores, so the table shows how many
cores each kept busy on average: the server's processes, PostgreSQL's processes for the benchmark's database (and its
background writers), the load tool (wrk, or pgbench on its row), and "other" — everything else on the machine, such
as other people's test runs. Each phase waits (up to `--settle` seconds) for the machine to quiet down first and is
measured again (up to `--attempts` times) when other work took more than {QUIET_OTHER_CORES} cores; the least
disturbed attempt is kept and the others are listed. A large "other" means that row understates what the code can
do. Latency is wrk's, from the request written to the answer read, so it includes queueing in the server.
"commits per purchase" (from `pg_stat_database`) counts the database transactions and other implicit commits each
purchase costs. The CPU per purchase comes from /proc: the server's processes, and PostgreSQL's — its background
processes and the backends of the benchmark's database, the latter alone in brackets — over the phase, divided by
the purchases committed; pgbench's row gives PostgreSQL's CPU per TPC-B transaction the same way. These move less
with other work on the machine than the rates do. Last, the same single-purchase load runs against SQLite (the
embedded default: `coalition migrate`, `coalition demo` and {SQLITE_MEMBERS:,} members in a file under
`bench/results/`, one worker).

Targets (issue 13), on the 2-core development machine: **committed purchases/s at least {TARGET_SHARE_OF_PGBENCH:g} ×
pgbench's TPC-B tps in the same run, with p99 ≤ {TARGET_P99_MS:g} ms at 16 concurrent connections**, and a batch path
(many purchases in one request) of **≥ {TARGET_BATCH_RATE:,} purchases/s**. Issue 2's reference figures on this
machine for a purchase-shaped transaction: pgbench about 4,600/s; FastAPI + asyncpg with separate statements about
2,000/s; the same in one round trip about 3,100/s; an idiomatic SQLAlchemy async ORM session about 550/s; set-based
batch inserts about 30,000/s.

"""


def write_docs(run: Run) -> None:
    section = latest_section(run)
    row = history_row(run)
    if DOCS.exists():
        text = DOCS.read_text()
    else:
        text = (
            DOC_HEAD
            + f"{LATEST_START}\n{LATEST_END}\n\n## History\n\n"
            + "| date | revision | purchases through HTTP | batch | pgbench |\n|---|---|---|---|---|\n"
            + f"{HISTORY_MARK}\n"
        )
    if LATEST_START in text and LATEST_END in text:
        before, rest = text.split(LATEST_START, 1)
        _, after = rest.split(LATEST_END + "\n", 1) if LATEST_END + "\n" in rest else rest.split(LATEST_END, 1)
        text = before + section + after
    else:
        text += "\n" + section
    if HISTORY_MARK in text:
        text = text.replace(HISTORY_MARK, f"{row}\n{HISTORY_MARK}", 1)
    else:
        text += f"\n{row}\n"
    DOCS.parent.mkdir(exist_ok=True)
    DOCS.write_text(text)
    say(f"wrote {DOCS.relative_to(ROOT)}")


# --- main -----------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.purchases", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("COALITION_BENCH_PG_URL", default_admin_url()),
        help="a PostgreSQL URL with the right to create databases (env COALITION_BENCH_PG_URL); by default the "
        "local Unix socket when there is one, as a server on the database's machine should connect",
    )
    parser.add_argument("--database", default="coalition_bench", help="the database to (re)create and load")
    parser.add_argument("--pgbench-database", default="coalition_pgbench")
    parser.add_argument("--members", type=int, default=None, help="members to enrol (10,000; 2,000 with --quick)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk and pgbench threads")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured per phase")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts to measure")
    parser.add_argument("--redeem-share", type=float, default=0.3, help="share of purchases that also redeem")
    parser.add_argument("--pgbench-scale", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=1000, help="purchases per batch request (the maximum)")
    parser.add_argument("--batch-connections", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="5 s phases, 2,000 members, no profile, no docs")
    parser.add_argument("--reuse", action="store_true", help="keep the loaded database from the last run")
    parser.add_argument("--no-pgbench", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite row (single purchases, 1 worker)")
    parser.add_argument(
        "--batch-only", action="store_true", help="measure only the batch path (with the largest worker count)"
    )
    parser.add_argument(
        "--scenarios",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="measure the points redemption and wallet payment scenarios with the most workers (default: on)",
    )
    parser.add_argument(
        "--scenarios-only", action="store_true", help="measure only the two scenarios (with the largest worker count)"
    )
    parser.add_argument("--python-client", action="store_true", help="use the asyncio + httpx client, not wrk")
    parser.add_argument(
        "--profile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="py-spy one worker under load (default: on, off with --quick)",
    )
    parser.add_argument("--profile-seconds", type=int, default=10)
    parser.add_argument(
        "--attempts",
        type=int,
        default=3,
        help=f"measure a phase again, up to this many times, while other work takes over {QUIET_OTHER_CORES} cores",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=120.0,
        help=f"before each phase, wait up to this many seconds for the machine to be under {SETTLED_CORES} cores busy",
    )
    parser.add_argument("--profile-top", type=int, default=15)
    parser.add_argument(
        "--docs",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="rewrite docs/benchmarks.md (default: on, off with --quick)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration = 5.0
        args.warmup = 2.0
    if args.members is None:
        args.members = 2_000 if args.quick else 10_000
    args.profile = (not args.quick) if args.profile is None else args.profile
    args.docs = (not args.quick) if args.docs is None else args.docs
    return args


def measure_phase(server: Server, args: argparse.Namespace, url: str, workers: int, label: str) -> LoadResult:
    """One load measured after a warm-up, again (up to --attempts) while other work disturbed it; the least
    disturbed attempt, labelled, with the others listed."""
    busy_before = settle(args.settle)
    say(f"{label}: warm-up {args.warmup:g} s (the machine was {busy_before:.2f} cores busy)")
    drive(server, args, args.warmup, f"warm{workers}-{uuid.uuid4().hex[:6]}", url, args.database)
    attempts: list[LoadResult] = []
    for attempt in range(1, args.attempts + 1):
        if attempt > 1:
            say(f"other work kept {attempts[-1].cpu_cores['other']:.2f} cores busy: again ({attempt})")
            busy_before = settle(args.settle)
        say(f"{label}: measuring {args.duration:g} s at {args.connections} connections, {workers} worker(s)")
        result = drive(server, args, args.duration, f"w{workers}-{uuid.uuid4().hex[:6]}", url, args.database)
        result.busy_before = busy_before
        attempts.append(result)
        say(
            f"{result.rate:,.0f} committed/s, p50 {result.latency_ms['p50']:.1f} ms, "
            f"p99 {result.latency_ms['p99']:.1f} ms, {result.errors} errors, "
            f"other work {result.cpu_cores['other']:.2f} cores"
        )
        for line in result.server_log_problems[:10]:
            say(f"  server: {line}")
        if result.cpu_cores["other"] <= QUIET_OTHER_CORES:
            break
    result = min(attempts, key=lambda r: r.cpu_cores["other"])
    result.label = label
    result.discarded = [
        f"{r.rate:,.0f}/s, p50 {r.latency_ms['p50']:.1f} ms, p99 {r.latency_ms['p99']:.1f} ms, "
        f"{r.errors} errors, other work {r.cpu_cores['other']:.2f} cores"
        for r in attempts
        if r is not result
    ]
    return result


def measure_scenarios(run: Run, server: Server, args: argparse.Namespace, url: str, workers: int) -> None:
    """The points redemption and the wallet payment, one after the other on the same server and data."""
    run.config["scenario_workers"] = workers
    for scenario in SCENARIOS:
        scenario_args = argparse.Namespace(**{**vars(args), "mode": scenario.mode})
        label = f"{scenario.label}: POST /v1/purchases, {workers} worker{'s' if workers > 1 else ''}"
        run.scenarios.append(measure_phase(server, scenario_args, url, workers, label))
    for line in scenario_verdict(run):
        say(line)


def measure_batch(run: Run, server: Server, args: argparse.Namespace, url: str, workers: int) -> None:
    if not batch_path(server):
        return
    say(f"benchmarking /v1/purchases/batch for {args.duration:g} s")
    try:
        settle(args.settle)
        run.batch = drive_batch(server, args, args.duration, url, args.database)
        run.batch.label = f"POST /v1/purchases/batch ×{args.batch_size}, {workers} worker(s)"
        say(f"{run.batch.rate:,.0f} purchases/s, cores busy: {run.batch.cpu_cores}")
    except (ValueError, httpx.HTTPError) as error:
        run.batch_note = f"present, but not measured: {error}"


def measure_sqlite(run: Run, args: argparse.Namespace, stamp: str) -> None:
    """Single purchases on the embedded engine (the default install): one worker, the same client and load."""
    path = RESULTS / "sqlite-bench.db"
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    members = min(args.members, SQLITE_MEMBERS)
    say(f"SQLite: migrate, demo and {members} members in {path.relative_to(ROOT)}")
    coalition("migrate", "--database-url", url, capture=True)
    coalition("demo", "--database-url", url, "--json", capture=True)
    asyncio.run(enrol_members(url, members, concurrency=4))
    sqlite_args = argparse.Namespace(**{**vars(args), "members": members})
    with serve(url, 1, RESULTS / f"server-{stamp}-sqlite.log") as server:
        busy_before = settle(args.settle)
        drive(server, sqlite_args, args.warmup, f"warmsqlite-{uuid.uuid4().hex[:6]}", url, "")
        say(f"measuring {args.duration:g} s at {args.connections} connections on SQLite, 1 worker")
        result = drive(server, sqlite_args, args.duration, f"sqlite-{uuid.uuid4().hex[:6]}", url, "")
    result.busy_before = busy_before
    result.label = "POST /v1/purchases on SQLite, 1 worker"
    say(f"{result.rate:,.0f} committed/s, p99 {result.latency_ms['p99']:.1f} ms, {result.errors} errors")
    run.sqlite = result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    url = database_url(args.admin_url, args.database)
    command = " ".join([".venv/bin/python -m bench.purchases", *(argv if argv is not None else sys.argv[1:])])
    run = Run(
        date=subprocess.run(["date", "-u"], capture_output=True, text=True).stdout.strip(),
        command=command.strip(),
        machine=machine_info(args.admin_url),
        load_average=" ".join(f"{x:.2f}" for x in os.getloadavg()),
        config={
            "members": args.members,
            "connections": args.connections,
            "duration": args.duration,
            "warmup": args.warmup,
            "workers": args.workers,
            "redeem_share": args.redeem_share,
            "admin_url": args.admin_url,
        },
    )
    if not shutil.which("wrk") and not args.python_client:
        say("wrk is not installed (apt-get install wrk): falling back to the asyncio + httpx client")
        args.python_client = True
    if args.reuse and purchase_count(url) > 0:
        say(f"reusing database {args.database}")
    else:
        run.seed_seconds = prepare(url, args.database, args.admin_url, args.members)

    worker_counts = [int(w) for w in args.workers.split(",")]
    max_workers = max(worker_counts)
    for workers in worker_counts:
        if (args.batch_only or args.scenarios_only) and workers != max_workers:
            continue
        log = RESULTS / f"server-{stamp}-w{workers}.log"
        with serve(url, workers, log) as server:
            if args.batch_only:
                measure_batch(run, server, args, url, workers)
                continue
            if args.scenarios_only:
                measure_scenarios(run, server, args, url, workers)
                run.batch_note = "not measured (--scenarios-only)"
                continue
            label = f"POST /v1/purchases, {workers} worker{'s' if workers > 1 else ''}"
            run.loads.append(measure_phase(server, args, url, workers, label))
            if workers == 1 and args.profile and not args.python_client:
                say(f"profiling the worker for {args.profile_seconds} s with py-spy")
                run.profile = profile_worker(server, args, RESULTS / f"profile-{stamp}.txt")
            if workers == max_workers:
                if args.scenarios:
                    measure_scenarios(run, server, args, url, workers)
                check_ledger(run, url, "after the single purchases")
                measure_batch(run, server, args, url, workers)

    last = "the scenarios" if args.scenarios_only else "the single purchases"
    check_ledger(run, url, "after the batch" if run.batch else f"after {last}")
    if not args.no_sqlite and not args.batch_only and not args.scenarios_only:
        measure_sqlite(run, args, stamp)
    if not args.no_pgbench:
        run.pgbench = run_pgbench(args.admin_url, args.pgbench_database, args, args.duration)

    print()
    print(table(run))
    print(verdict(run))
    print()
    print(details(run))
    print(f"coalition verify:\n{verify_text(run)}")
    print()
    print(profile_text(run.profile))
    (RESULTS / f"run-{stamp}.json").write_text(json.dumps(asdict(run), indent=2, default=str))
    say(f"raw figures in bench/results/run-{stamp}.json")
    if args.docs:
        write_docs(run)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
