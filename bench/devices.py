"""Devices charging the card (issue 15, "Performance"): through HTTP and through the MQTT bridge, on PostgreSQL.

    .venv/bin/python -m bench.devices              # the full run (make bench-devices); rewrites its docs section
    .venv/bin/python -m bench.devices --quick      # short phases, a small network; leaves the docs alone

One run:
1. recreates the database (coalition_bench_devices), migrates it (`coalition migrate`), loads the demo network
   (`coalition demo`), enrols --members members through the application services, each with a wallet top-up, and
   sets up --devices devices at the demo's water park (an outlet, a terminal key and a `devices` row each, written
   directly as tests/http/device_charge_support.py does: the admin API for devices is another branch's);
2. HTTP: starts `coalition serve` (--workers), warms up, then --connections concurrent clients each play a device
   serving customers for --duration seconds: POST /v1/devices/authorize, then POST /v1/devices/charges with a new
   Idempotency-Key — throughput and latency p50/p95/p99 per call and for the pair (target: p99 ≤ 20 ms), every
   non-2xx answer counted, and the DEVICE_CHARGE transactions added in the database against the 201 answers; then
   latency at fixed rates (--rates pairs/s, open loop: bench/devices_rate.py), where a p99 target means something;
3. MQTT (bench/devices_mqtt.py): the same server with `coalition mqtt --server` bridging the broker to it, and
   --mqtt-devices devices on the broker (adapters/mqtt/device_client.py), each heartbeating every --heartbeat-every
   seconds and charging a random member every --charge-every seconds for --mqtt-duration seconds; then charges sent
   = DEVICE_CHARGE transactions = answers 201, no error, no lost and no doubled charge;
4. `coalition verify` after each phase; prints the figures and (full runs) writes them to docs/benchmarks.md between
   the `devices:latest` markers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.devices_rate import DEFAULT_RATES, measure_rates, rates_text
from bench.purchases import (
    RESULTS,
    Server,
    cpu_snapshot,
    database_url,
    default_admin_url,
    libpq_url,
    log_problems,
    machine_info,
    percentile,
    query,
    recreate_database,
    say,
    serve,
    settle,
    verify_database,
)
from bench.sections import write_section

TARGET_P99_MS = 20.0  # issue 15: a device's authorize and its charge each answer within 20 ms at p99
CARD_PREFIX = "98"  # members are cards 98 + 8 digits
WALLET_TOP_UP = "10000.00"  # thousands of charges of at most 2.50 each
TOP_UP_KEY = "term_demo_ticket_office"  # the demo water park's till tops the wallets up
DEVICE_PARTNER = "Aqua Park"
DEVICE_KEY_PREFIX = "term_bench_device_"
DEVICE_OUTLET_PREFIX = "Bench device "
KINDS = ("arcade", "vending", "dispenser")  # what each kind charges: the per-use price, a slot, one slot
PRICE_LIST = {
    "per_use": "2.50",
    "slots": {"A1": {"name": "Water 0.5 l", "price": "1.20"}, "A2": {"name": "Crisps", "price": "2.00"}},
}
# One address and a few keys send hundreds of requests a second, far over the default limits (README "Rate limits":
# 300/s per address, 100/s per terminal key, 60 member lookups a minute per terminal — authorize is such a lookup);
# a real device authorizes once per customer. The run raises the three for the server it starts.
BENCH_LIMITS = {
    "COALITION_RATE_LIMIT_ADDRESS": "1000000/s",
    "COALITION_RATE_LIMIT_TERMINAL_KEY": "1000000/s",
    "COALITION_MEMBER_LOOKUPS": "1000000/s",
}


@dataclass(frozen=True)
class BenchDevice:
    id: int
    key: str
    kind: str

    def product(self) -> str | None:
        """What one customer buys: an arcade's play (the per-use price), a vending slot, a dispenser's one slot."""
        if self.kind == "vending":
            return random.choice(("A1", "A2"))
        return "A1" if self.kind == "dispenser" else None


@dataclass
class Latency:
    """Latencies of one kind of call, in ms, and its answers by status."""

    samples: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)

    def add(self, ms: float, status: int | str) -> None:
        self.samples.append(ms)
        self.statuses[str(status)] += 1

    def summary(self, seconds: float) -> dict[str, float]:
        ordered = sorted(self.samples)
        return {
            "count": len(ordered),
            "rate": len(ordered) / seconds if seconds else 0.0,
            "p50": percentile(ordered, 0.50),
            "p95": percentile(ordered, 0.95),
            "p99": percentile(ordered, 0.99),
            "max": ordered[-1] if ordered else 0.0,
        }


# --- set-up -------------------------------------------------------------------------------------------------------


def device_key(number: int) -> str:
    return f"{DEVICE_KEY_PREFIX}{number:04d}"


async def _load_network(url: str, members: int, devices: int) -> None:
    """Members with a wallet each and the devices, through the application services (the devices row directly)."""
    import sqlalchemy as sa

    from coalition.application import wallets_pos
    from coalition.application.commands import fingerprint
    from coalition.application.enrolment import EnrolInput
    from coalition.application.ports import Profile
    from coalition.demo import DEMO_CODE
    from coalition.settings import Settings
    from coalition.wiring import build_services

    services = build_services(Settings(url, None, "http://127.0.0.1"))
    try:
        till = await services.pos.authenticate(TOP_UP_KEY)
        numbers = iter(range(1, members + 1))

        async def enrol() -> None:
            for number in numbers:
                card = f"{CARD_PREFIX}{number:08d}"
                profile = Profile(name=f"Device Bench Member {number}", consent_data_processing=True)
                key = f"bench-enrol-{card}"
                enrolment = EnrolInput("personal", card, profile)
                await services.pos.enrol(till, enrolment, key, fingerprint("bench", key.encode()))
                key = f"bench-top-up-{card}"
                top_up = wallets_pos.TopUpInput(card, WALLET_TOP_UP)
                await wallets_pos.top_up(services.pos, till, top_up, key, fingerprint("bench", key.encode()))

        await asyncio.gather(*(enrol() for _ in range(8)))
        network = await services.admin.network(DEMO_CODE)
        listing = await services.admin.listing(network)
        partner_id = next(p["id"] for p in listing["partners"] if p["name"] == DEVICE_PARTNER)
        registry = _device_registry(services)
        for number in range(1, devices + 1):
            name, kind = f"{DEVICE_OUTLET_PREFIX}{number:04d}", KINDS[(number - 1) % len(KINDS)]
            if registry is not None:  # the admin's own path, where the server has it
                admin, registration = registry
                entered = registration(partner_id, name, kind, "Europe/Moscow", PRICE_LIST)
                await admin.register(network, entered, key=device_key(number))
                continue
            outlet = await services.admin.create_outlet(network, partner_id, name, "Europe/Moscow")
            terminal = await services.admin.create_terminal(network, outlet["id"], "device", key=device_key(number))
            async with services.engine.begin() as connection:
                await connection.execute(
                    sa.text(
                        "INSERT INTO devices (network_id, outlet_id, terminal_id, kind, price_list, created_at) "
                        "VALUES (:network, :outlet, :terminal, :kind, :prices, now())"
                    ),
                    {
                        "network": network.id,
                        "outlet": outlet["id"],
                        "terminal": terminal["id"],
                        "kind": kind,
                        "prices": json.dumps(PRICE_LIST),
                    },
                )
    finally:
        await services.close()


def _device_registry(services: Any) -> tuple[Any, Any] | None:
    """The devices' admin service and its registration, once the registry's branch (issue 15, point 1) is in; until
    then None, and the set-up writes the devices row itself as tests/http/device_charge_support.py does."""
    try:
        from coalition.application import devices_admin  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        return None
    admin = getattr(services, "device_admin", None)
    registration = getattr(devices_admin, "DeviceRegistration", None)
    return None if admin is None or registration is None else (admin, registration)


def prepare(url: str, admin_url: str, name: str, members: int, devices: int) -> float:
    started = time.perf_counter()
    say(f"recreating database {name}")
    recreate_database(admin_url, name)
    coalition_cli("migrate", "--database-url", url)
    coalition_cli("demo", "--database-url", url, "--json")
    say(f"enrolling {members} members with a wallet of {WALLET_TOP_UP} each; {devices} devices at the water park")
    asyncio.run(_load_network(url, members, devices))
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        connection.execute("ANALYZE")  # a production database has planner statistics; a fresh one has none
    seconds = time.perf_counter() - started
    say(f"database ready in {seconds:.1f} s")
    return seconds


def coalition_cli(*args: str) -> None:
    subprocess.run([str(Path(sys.executable).parent / "coalition"), *args], check=True, capture_output=True)


def bench_devices(url: str) -> list[BenchDevice]:
    """The devices the set-up made, with their keys (derived from their outlets' names)."""
    rows = query(
        url,
        "SELECT d.id, o.name, d.kind FROM devices d JOIN outlets o ON o.id = d.outlet_id "
        f"WHERE o.name LIKE '{DEVICE_OUTLET_PREFIX}%' ORDER BY d.id",
    )
    return [BenchDevice(int(id_), device_key(int(name.rsplit(" ", 1)[1])), kind) for id_, name, kind in rows]


def _loaded(url: str) -> bool:
    try:
        return bool(bench_devices(url)) and member_count(url) > 0
    except psycopg.Error:  # no such database yet, or not migrated
        return False


def member_count(url: str) -> int:
    return int(query(url, f"SELECT count(*) FROM cards WHERE number LIKE '{CARD_PREFIX}%'")[0][0])


def device_charges(url: str) -> int:
    """DEVICE_CHARGE ledger transactions so far (one per charge or capture)."""
    return int(query(url, "SELECT count(*) FROM ledger_transactions WHERE kind = 'device_charge'")[0][0])


# --- HTTP ---------------------------------------------------------------------------------------------------------


class RawConnection:
    """One keep-alive HTTP/1.1 connection, written by hand: the load client shares the two cores with the server and
    PostgreSQL, and httpx costs several times more CPU per request than these few lines."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, key: str, idempotency_key: str | None, body: bytes) -> tuple[int, bytes]:
        idempotency = f"Idempotency-Key: {idempotency_key}\r\n" if idempotency_key else ""
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: Bearer {key}\r\n{idempotency}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        try:
            if self.writer is None or self.reader is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            self.writer.write(head.encode() + body)
            status_line = await self.reader.readuntil(b"\r\n")
            status = int(status_line.split(b" ", 2)[1])
            length, chunked, closing = 0, False, False
            while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding":
                    chunked = b"chunked" in value.lower()
                elif name == b"connection":
                    closing = b"close" in value.lower()
            answer = await (self._chunks() if chunked else self.reader.readexactly(length))
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, IndexError):
            self.close()
            raise ConnectionError("the connection broke") from None
        if closing:  # the server balances its workers' connections (adapters/http/server.py): open a new one
            self.close()
        return status, answer

    async def _chunks(self) -> bytes:
        assert self.reader is not None
        parts = []
        while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)
        await self.reader.readuntil(b"\r\n")
        return b"".join(parts)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class HttpResult:
    label: str
    seconds: float
    calls: dict[str, dict[str, float]]  # authorize, charge, pair: count, rate, p50, p95, p99, max
    statuses: dict[str, dict[str, int]]  # authorize, charge: answers by status ("socket" for a broken connection)
    charges_201: int
    ledger_charges: int  # DEVICE_CHARGE transactions added in the database over the phase
    refused: int  # authorize said "not allowed" (no charge sent)
    first_error: str
    cpu_cores: dict[str, float]  # server, postgres, load tool, other
    cpu_ms_per_pair: dict[str, float]  # server, postgres
    pg: dict[str, int]
    server_log_problems: list[str]
    busy_before: float = 0.0

    @property
    def errors(self) -> int:
        return sum(n for s in self.statuses.values() for code, n in s.items() if not code.startswith("2"))


async def http_load(
    port: int, devices: list[BenchDevice], members: int, connections: int, seconds: float
) -> tuple[dict[str, Latency], int, str, float]:
    """`connections` devices serving customers for `seconds`: latencies and answers of authorize, charge and the
    pair; authorizations that said no; the first error; the seconds it took."""
    kinds = {"authorize": Latency(), "charge": Latency(), "pair": Latency()}
    refused = 0
    first_error = ""
    deadline = time.perf_counter() + seconds

    async def charge(connection: RawConnection, device: BenchDevice, body: bytes) -> tuple[int, bytes]:
        """A charge; on a broken connection sent again with the same key, as a device does (charged once)."""
        key = uuid.uuid4().hex
        for attempt in range(3):
            try:
                return await connection.post("/v1/devices/charges", device.key, key, body)
            except ConnectionError:
                kinds["charge"].statuses["socket"] += 1
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def device_loop(lane: int) -> None:
        nonlocal refused, first_error
        connection = RawConnection("127.0.0.1", port)
        mine = devices[lane::connections] or devices
        turn = 0
        while time.perf_counter() < deadline:
            device = mine[turn % len(mine)]
            turn += 1
            card = f"{CARD_PREFIX}{random.randint(1, members):08d}"
            body = json.dumps({"customer": card, "product": device.product()}).encode()
            began = time.perf_counter()
            try:
                status, answer = await connection.post("/v1/devices/authorize", device.key, None, body)
            except ConnectionError:
                kinds["authorize"].statuses["socket"] += 1
                continue
            asked = time.perf_counter()
            kinds["authorize"].add((asked - began) * 1000, status)
            if status != 200:
                first_error = first_error or f"authorize {status} {answer[:300].decode(errors='replace')}"
                continue
            if not json.loads(answer)["allowed"]:
                refused += 1
                continue
            try:
                status, answer = await charge(connection, device, body)
            except ConnectionError:
                continue
            ended = time.perf_counter()
            kinds["charge"].add((ended - asked) * 1000, status)
            if status == 201:
                kinds["pair"].add((ended - began) * 1000, status)
            else:
                first_error = first_error or f"charge {status} {answer[:300].decode(errors='replace')}"
        connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(device_loop(lane) for lane in range(connections)))
    return kinds, refused, first_error, time.perf_counter() - began


def pg_counters(url: str, name: str) -> dict[str, int]:
    row = query(url, f"SELECT xact_commit, xact_rollback, deadlocks FROM pg_stat_database WHERE datname = '{name}'")
    return {"commits": int(row[0][0]), "rollbacks": int(row[0][1]), "deadlocks": int(row[0][2])}


def drive_http(
    server: Server, args: argparse.Namespace, url: str, devices: list[BenchDevice], seconds: float
) -> HttpResult:
    log_offset = server.log.stat().st_size
    charges_before, pg_before = device_charges(url), pg_counters(url, args.database)
    cpu_before, tool_before = cpu_snapshot(server.process.pid, args.database), resource.getrusage(resource.RUSAGE_SELF)
    kinds, refused, first_error, elapsed = asyncio.run(
        http_load(server.port, devices, args.members, args.connections, seconds)
    )
    cpu_after, tool_after = cpu_snapshot(server.process.pid, args.database), resource.getrusage(resource.RUSAGE_SELF)
    pg_after = pg_counters(url, args.database)
    used = {name: (cpu_after[name] - cpu_before[name]) for name in cpu_after}
    used["load tool"] = tool_after.ru_utime + tool_after.ru_stime - tool_before.ru_utime - tool_before.ru_stime
    pairs = len(kinds["pair"].samples)
    cores = {name: value / elapsed for name, value in used.items()}
    cores["other"] = max(0.0, cores["machine"] - cores["server"] - cores["postgres"] - cores["load tool"])
    return HttpResult(
        label="",
        seconds=elapsed,
        calls={name: latency.summary(elapsed) for name, latency in kinds.items()},
        statuses={name: dict(kinds[name].statuses) for name in ("authorize", "charge")},
        charges_201=kinds["charge"].statuses.get("201", 0),
        ledger_charges=device_charges(url) - charges_before,
        refused=refused,
        first_error=first_error,
        cpu_cores={name: round(cores[name], 2) for name in ("server", "postgres", "load tool", "other")},
        cpu_ms_per_pair={name: 1000 * used[name] / pairs if pairs else 0.0 for name in ("server", "postgres")},
        pg={name: pg_after[name] - pg_before[name] for name in pg_after},
        server_log_problems=log_problems(server.log, log_offset),
    )


def measure_http(server: Server, args: argparse.Namespace, url: str, devices: list[BenchDevice]) -> HttpResult:
    """Warm up, then measure; again (up to --attempts) while other work on the machine disturbed it."""
    busy = settle(args.settle)
    say(f"HTTP: warm-up {args.warmup:g} s (the machine was {busy:.2f} cores busy)")
    drive_http(server, args, url, devices, args.warmup)
    attempts: list[HttpResult] = []
    for attempt in range(1, args.attempts + 1):
        if attempt > 1:
            say(f"other work kept {attempts[-1].cpu_cores['other']:.2f} cores busy: again ({attempt})")
            busy = settle(args.settle)
        say(f"HTTP: measuring {args.duration:g} s at {args.connections} connections, {args.workers} worker(s)")
        result = drive_http(server, args, url, devices, args.duration)
        result.busy_before = busy
        attempts.append(result)
        pair, charge = result.calls["pair"], result.calls["charge"]
        say(
            f"{pair['rate']:,.0f} pairs/s; charge p50 {charge['p50']:.1f} p99 {charge['p99']:.1f} ms; "
            f"{result.errors} errors; other work {result.cpu_cores['other']:.2f} cores"
        )
        if result.cpu_cores["other"] <= args.quiet_cores:
            break
    best = min(attempts, key=lambda r: r.cpu_cores["other"])
    best.label = f"{args.workers} worker{'s' if args.workers > 1 else ''}, {args.connections} connections"
    return best


# --- report -------------------------------------------------------------------------------------------------------


def http_text(result: HttpResult) -> str:
    rows = []
    for name, what in (
        ("authorize", "POST /v1/devices/authorize"),
        ("charge", "POST /v1/devices/charges"),
        ("pair", "the pair (authorize, then charge)"),
    ):
        c = result.calls[name]
        rows.append(
            f"| {what} | **{c['rate']:,.0f}** | {c['p50']:.1f} | {c['p95']:.1f} | {c['p99']:.1f} | {c['max']:.1f} |"
        )
    verdicts = []
    for name in ("authorize", "charge"):
        p99 = result.calls[name]["p99"]
        meets = "meets" if p99 <= TARGET_P99_MS else "misses"
        verdicts.append(f"{name} p99 {p99:.1f} ms ({meets} it)")
    agree = "agree" if result.ledger_charges == result.charges_201 else "DISAGREE"
    return "\n".join(
        [
            f"HTTP, {result.label}, {result.seconds:.1f} s measured:",
            "",
            "| call | per second | p50 ms | p95 ms | p99 ms | max ms |",
            "|---|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"- Capacity, not the target: 16 connections keep the server saturated, so latency here is mostly queueing "
            f"({'; '.join(verdicts)} against {TARGET_P99_MS:g} ms). Issue 15's p99 target is judged at the realistic, "
            "fixed rates below.",
            f"- Answers: authorize {result.statuses['authorize']}, charge {result.statuses['charge']}; "
            f"refused by authorize: {result.refused}; first error: {result.first_error or 'none'}.",
            f"- Ledger: {result.charges_201:,} charges answered 201, {result.ledger_charges:,} DEVICE_CHARGE "
            f"transactions added ({agree}).",
            f"- CPU per pair: server {result.cpu_ms_per_pair['server']:.3f} ms, PostgreSQL "
            f"{result.cpu_ms_per_pair['postgres']:.3f} ms; cores busy: server / postgres / load tool / other "
            + " / ".join(f"{result.cpu_cores[k]:.2f}" for k in ("server", "postgres", "load tool", "other"))
            + f"; PostgreSQL: {result.pg}; machine busy before: {result.busy_before:.2f} cores; "
            f"server log problems: {len(result.server_log_problems)}.",
        ]
    )


def pgbench_text(args: argparse.Namespace) -> str:
    """pgbench's TPC-B beside the devices, as `make bench` runs it (bench/purchases.py)."""
    from bench.purchases import run_pgbench

    options = argparse.Namespace(pgbench_scale=10, connections=16, threads=2, settle=args.settle)
    result = run_pgbench(args.admin_url, "coalition_bench_pgbench", options, 20.0)
    return (
        f"pgbench beside them (`{result.command}`): {result.tps:,.0f} tps, latency p50 "
        f"{result.latency_ms['p50']:.2f} ms, p99 {result.latency_ms['p99']:.2f} ms, PostgreSQL CPU "
        f"{result.postgres_cpu_ms:.3f} ms per transaction."
    )


def section_text(run: dict[str, Any]) -> str:
    machine = run["machine"]
    lines = [
        f"Latest run: {run['date']}, revision {machine['revision']}, {machine['nproc']} cores ({machine['cpu']}), "
        f"Python {machine['python']}, PostgreSQL {machine['postgresql']}.",
        f"Command: `{run['command']}` ({run['members']:,} members, {run['devices']} devices; "
        f"set-up {run['seed_seconds']:.0f} s; load average before: {run['load_average']}).",
        "",
    ]
    if run.get("http"):
        lines += [run["http"], ""]
    if run.get("mqtt"):
        lines += [run["mqtt"], ""]
    if run.get("pgbench"):
        lines += [run["pgbench"], ""]
    lines += ["`coalition verify`:", "", *(f"- {when}: {result}" for when, result in run["verify"].items())]
    return "\n".join(lines)


# --- main ---------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.devices", description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("COALITION_BENCH_PG_URL") or default_admin_url(),
        help="a PostgreSQL URL with the right to create databases (env COALITION_BENCH_PG_URL)",
    )
    parser.add_argument("--database", default="coalition_bench_devices", help="the database to (re)create and load")
    parser.add_argument("--members", type=int, default=None, help="members with a wallet (5,000; 300 with --quick)")
    parser.add_argument("--devices", type=int, default=None, help="devices set up (200; 30 with --quick)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--connections", type=int, default=16, help="HTTP: devices calling at once")
    parser.add_argument("--duration", type=float, default=None, help="HTTP: seconds measured (20; 5 with --quick)")
    parser.add_argument("--warmup", type=float, default=None, help="HTTP: seconds of warm-up (3; 2 with --quick)")
    parser.add_argument("--attempts", type=int, default=3, help="HTTP: measure again while other work disturbs it")
    parser.add_argument("--quiet-cores", type=float, default=0.2, help="other work that counts as a disturbance")
    parser.add_argument("--settle", type=float, default=None, help="wait up to this long for a quiet machine (120)")
    parser.add_argument(
        "--rates",
        default=DEFAULT_RATES,
        help="HTTP: also measure latency at these fixed rates, pairs/s, comma-separated ('' for none)",
    )
    parser.add_argument("--rate-duration", type=float, default=None, help="HTTP: seconds per fixed rate (20; 5 quick)")
    parser.add_argument("--only", choices=("http", "mqtt"), help="run one scenario only")
    parser.add_argument("--broker", default="127.0.0.1:1883", help="MQTT broker host:port")
    parser.add_argument("--mqtt-devices", type=int, default=None, help="MQTT: devices on the broker (200; 20 quick)")
    parser.add_argument("--mqtt-duration", type=float, default=None, help="MQTT: seconds of load (120; 15 quick)")
    parser.add_argument("--charge-every", type=float, default=5.0, help="MQTT: seconds between a device's charges")
    parser.add_argument("--heartbeat-every", type=float, default=10.0, help="MQTT: seconds between heartbeats")
    parser.add_argument(
        "--heartbeats",
        choices=("auto", "heartbeat", "config", "off"),
        default="auto",
        help="MQTT: the operation each heartbeat sends; auto: `heartbeat` when the server has "
        "POST /v1/devices/heartbeat, else `config` when it has GET /v1/devices/me, else none",
    )
    parser.add_argument("--reuse", action="store_true", help="keep the database loaded by the last run")
    parser.add_argument(
        "--pgbench", action=argparse.BooleanOptionalAction, default=None, help="pgbench's TPC-B beside (not --quick)"
    )
    parser.add_argument("--quick", action="store_true", help="a small, short run for development; no docs")
    parser.add_argument("--docs", action=argparse.BooleanOptionalAction, default=None, help="write docs/benchmarks.md")
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "members": (5_000, 300),
        "devices": (200, 30),
        "duration": (20.0, 5.0),
        "rate_duration": (20.0, 5.0),
        "warmup": (3.0, 2.0),
        "settle": (120.0, 5.0),
        "mqtt_devices": (200, 20),
        "mqtt_duration": (120.0, 15.0),
    }
    for name, (full, short) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, short if quick else full)
    args.docs = (not quick) if args.docs is None else args.docs
    args.pgbench = (not quick) if args.pgbench is None else args.pgbench
    args.mqtt_devices = min(args.mqtt_devices, args.devices)
    return args


def main(argv: list[str] | None = None) -> int:
    from bench.devices_mqtt import measure_mqtt

    args = parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    os.environ.update({name: os.environ.get(name, value) for name, value in BENCH_LIMITS.items()})
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    url = database_url(args.admin_url, args.database)
    run: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join([".venv/bin/python -m bench.devices", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine_info(args.admin_url),
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "seed_seconds": 0.0,
        "verify": {},
    }
    if args.only != "http":
        host, _, port = args.broker.rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=3).close()
        except (OSError, ValueError):
            raise SystemExit(f"no MQTT broker at {args.broker} (--broker); `--only http` runs without") from None
    if args.reuse and _loaded(url):
        say(f"reusing database {args.database}")
    else:
        run["seed_seconds"] = prepare(url, args.admin_url, args.database, args.members, args.devices)
    devices = bench_devices(url)
    args.members = member_count(url)
    run |= {"members": args.members, "devices": len(devices)}
    with serve(url, args.workers, RESULTS / f"devices-server-{stamp}.log") as server:
        if args.only in (None, "http"):
            http = measure_http(server, args, url, devices)
            rates = measure_rates(server, args, devices)
            run["http"] = "\n\n".join(text for text in (http_text(http), rates_text(rates, TARGET_P99_MS)) if text)
            run["http_raw"] = asdict(http)
            run["rates_raw"] = [asdict(result) for result in rates]
            print(run["http"])
            run["verify"]["after the HTTP load"] = verify_database(url)
            say(f"coalition verify: {run['verify']['after the HTTP load']}")
        if args.only in (None, "mqtt"):
            paths = httpx.get(f"{server.base_url}/openapi.json", timeout=10).json().get("paths", {})
            mqtt = measure_mqtt(server, args, url, devices[: args.mqtt_devices], paths, stamp)
            run["mqtt"] = mqtt.text()
            run["mqtt_raw"] = asdict(mqtt) | {"clean": mqtt.clean}
            print(run["mqtt"])
            run["verify"]["after the MQTT load"] = verify_database(url)
            say(f"coalition verify: {run['verify']['after the MQTT load']}")
    if args.pgbench:  # the ceiling of this PostgreSQL on this machine, in the same run (DEVELOPERS.md)
        run["pgbench"] = pgbench_text(args)
        print(run["pgbench"])
    (RESULTS / f"devices-run-{stamp}.json").write_text(json.dumps(run, indent=2, default=str))
    say(f"raw figures in bench/results/devices-run-{stamp}.json")
    if args.docs:
        write_section("devices", "Devices: charges through HTTP and MQTT", section_text(run))
        say("wrote docs/benchmarks.md (devices section)")
    failed = any(not result.startswith("passed") for result in run["verify"].values())
    unclean = "mqtt_raw" in run and not run["mqtt_raw"]["clean"]
    unclean |= "http_raw" in run and run["http_raw"]["ledger_charges"] != run["http_raw"]["charges_201"]
    return 1 if failed or unclean else 0


if __name__ == "__main__":
    raise SystemExit(main())
