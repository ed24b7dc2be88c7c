"""CPU time per operation, in one process: for comparing two versions of the code on a host whose speed varies.

Throughput through HTTP moves with the host (docs/benchmarks.md); the CPU one operation costs in this process moves
much less, so two versions run one after the other on the same database compare fairly. To compare with another
checkout, put its `src` first: `PYTHONPATH=/path/to/other/src .venv/bin/python -m bench.cpu batch` (the first line
says which code ran).

    .venv/bin/python -m bench.cpu rules            # the rules engine: 200 rules, 20-line baskets
    .venv/bin/python -m bench.cpu batch            # POST /v1/purchases/batch ×1000 through the ASGI app (no uvicorn)
    .venv/bin/python -m bench.cpu single           # purchases through the application layer, 16 at once
    .venv/bin/python -m bench.cpu single-asgi      # POST /v1/purchases through the ASGI app (no uvicorn), 16 at once
    .venv/bin/python -m bench.cpu single-replayed  # the application layer alone: `single` with the database replayed
    .venv/bin/python -m bench.cpu devices-asgi     # a device's authorize + charge through the ASGI app, 16 at once

`single-replayed` is the steadiest of them on a loaded host: run two versions at the same time (each with its own
`PYTHONPATH`, the second after `&`) and compare their medians, which then share one load.

`batch` and `single` write purchases into the database `make bench` loaded (`coalition_bench`, its demo terminal
and its members `99xxxxxxxx`); run `make bench` once first. `devices-asgi` charges the members `98xxxxxxxx` at the
devices `make bench-devices` set up (`coalition_bench_devices`); run that (or `bench.devices --quick`) once first.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop

import coalition

BENCH_DB = "postgresql://postgres@/coalition_bench?host=/var/run/postgresql"
DEVICES_DB = "postgresql://postgres@/coalition_bench_devices?host=/var/run/postgresql"  # make bench-devices's
TERMINAL_KEY = "term_demo_corner_shop"
MEMBERS = 10_000  # --members: how many members `make bench` (or bench.purchases --members) enrolled


def _postgres_seconds(database_url: str) -> float:
    """CPU seconds the database's backends have used so far (the connections this process opened among them)."""
    from sqlalchemy.engine import make_url

    from bench.purchases import cpu_snapshot

    return cpu_snapshot(os.getpid(), make_url(database_url).database or "")["postgres backends"]


def rules(evaluations: int) -> str:
    from bench.rules import purchase, rule_data
    from coalition.domain.rules.engine import compile_rule_set, evaluate
    from coalition.domain.rules.parsing import parse_rule_set

    generator = random.Random(7)
    data = {"rules": [rule_data(index, generator, loops=False) for index in range(200)]}
    compiled = compile_rule_set(parse_rule_set(data, "RUB"), version=1)
    purchases = [purchase(generator, 20) for _ in range(200)]
    for facts in purchases[:50]:
        evaluate(compiled, facts)
    gc.collect()
    gc.freeze()
    checksum = 0
    started = time.process_time()
    for index in range(evaluations):
        result = evaluate(compiled, purchases[index % len(purchases)])
        earned = result.points_earned(result.after_discounts_minor, 100)
        checksum += sum(result.line_discounts_minor) + sum(grant.points for grant in earned)
    per_evaluation_ms = (time.process_time() - started) * 1000 / evaluations
    return f"{per_evaluation_ms:.3f} ms of CPU per evaluation (checksum {checksum}: equal results give equal sums)"


def _batch_body(tag: str, size: int, members: int) -> bytes:
    items = []
    for index in range(size):
        item: dict[str, object] = {
            "customer": f"99{random.randint(1, members):08d}",
            "receipt": f"{tag}-{index}",
            "idempotency_key": f"{tag}-{index}",
        }
        if index % 3 == 0:
            item |= {"amount": f"{random.randint(1500, 5000)}.00", "redeem_points": random.randint(10, 50)}
        else:
            item["amount"] = f"{random.randint(100, 5000)}.{random.randint(0, 99):02d}"
        items.append(item)
    return json.dumps({"purchases": items}).encode()


async def batch(database_url: str, batches: int, size: int, members: int) -> str:
    import httpx

    from coalition.adapters.http.app import create_app

    os.environ["COALITION_DATABASE_URL"] = database_url
    app = create_app()
    cpu_per_purchase_ms, pg_per_purchase_ms = [], []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as client:
            for round_no in range(batches + 1):  # the first warms caches and prepared statements
                tag = uuid.uuid4().hex[:10]
                body = _batch_body(tag, size, members)
                headers = {"Authorization": f"Bearer {TERMINAL_KEY}", "Content-Type": "application/json"}
                started, pg_started = time.process_time(), _postgres_seconds(database_url)
                answer = await client.post("/v1/purchases/batch", content=body, headers=headers)
                cpu_ms = (time.process_time() - started) * 1000
                pg_ms = (_postgres_seconds(database_url) - pg_started) * 1000
                if answer.status_code != 200 or answer.json()["committed"] != size:
                    raise SystemExit(f"the batch was refused: {answer.status_code} {answer.text[:300]}")
                if round_no:
                    cpu_per_purchase_ms.append(cpu_ms / size)
                    pg_per_purchase_ms.append(pg_ms / size)
    median = statistics.median(cpu_per_purchase_ms)
    return (
        f"{median:.3f} ms of CPU per purchase (median of {batches} batches of {size}, client included); "
        f"PostgreSQL's backends {statistics.median(pg_per_purchase_ms):.3f} ms"
    )


async def single(database_url: str, purchases: int, members: int) -> str:
    from coalition.application.commands import PurchaseInput, fingerprint
    from coalition.settings import Settings
    from coalition.wiring import build_services

    services = build_services(Settings(database_url=database_url, operator_token=None, public_url="http://bench"))
    try:
        ctx = await services.pos.authenticate(TERMINAL_KEY)

        async def lane(first: int, tag: str, count: int) -> None:
            for index in range(first, count, 16):
                key = f"{tag}-{index}"
                body = PurchaseInput(
                    customer=f"99{random.randint(1, members):08d}",
                    amount=f"{random.randint(1500, 5000)}.00",
                    redeem_points=random.randint(10, 50) if index % 3 == 0 else None,
                    receipt=key,
                )
                answer = await services.pos.purchase(ctx, body, key, fingerprint("POST /v1/purchases", key.encode()))
                if answer.status_code != 201:
                    raise SystemExit(f"a purchase was refused: {answer.body}")

        await asyncio.gather(*(lane(first, uuid.uuid4().hex[:10], 320) for first in range(16)))  # warm-up
        started, pg_started = time.process_time(), _postgres_seconds(database_url)
        await asyncio.gather(*(lane(first, uuid.uuid4().hex[:10], purchases) for first in range(16)))
        cpu_ms = (time.process_time() - started) * 1000
        pg_ms = (_postgres_seconds(database_url) - pg_started) * 1000
    finally:
        await services.close()
    return (
        f"{cpu_ms / purchases:.3f} ms of CPU per purchase ({purchases} purchases, 16 at once, no HTTP); "
        f"PostgreSQL's backends {pg_ms / purchases:.3f} ms"
    )


async def single_replayed(database_url: str, rounds: int, per_round: int) -> str:
    """The application layer alone: `single`'s service call, one purchase at a time, with the database's answers
    replayed — what 600 real purchases of 100 members read (the write answers "written") — so no socket and no
    asyncpg protocol in the figure; the pool's acquire and release stay real. The thread CPU a purchase, the median
    of `rounds` rounds."""
    from coalition.adapters.storage import driver
    from coalition.application.commands import PurchaseInput, customer_candidates, fingerprint
    from coalition.settings import Settings
    from coalition.wiring import build_services

    services = build_services(Settings(database_url=database_url, operator_token=None, public_url="http://bench"))
    answers: dict[tuple[str, str], Any] = {}
    real_fetch, real_fetchval = driver.AsyncpgDb.fetch, driver.AsyncpgDb.fetchval

    async def recorded_fetch(db: driver.AsyncpgDb, sql: str, *args: Any) -> Any:
        answers[(sql, repr(args))] = rows = await real_fetch(db, sql, *args)
        return rows

    async def replayed_fetch(_db: driver.AsyncpgDb, sql: str, *args: Any) -> Any:
        return answers[(sql, repr(args))]

    async def written(_db: driver.AsyncpgDb, _sql: str, *_args: Any) -> Any:
        return 1  # the purchase's write returns its terminal's id when it wrote

    def answer_reads(fetch: Any, fetchval: Any) -> None:
        driver.AsyncpgDb.fetch = fetch  # type: ignore[method-assign]
        driver.AsyncpgDb.fetchval = fetchval  # type: ignore[method-assign]

    customers = [f"99{number:08d}" for number in range(1, 101)]
    try:
        ctx = await services.pos.authenticate(TERMINAL_KEY)

        async def one(key: str, customer: str, redeem: bool) -> None:
            body = PurchaseInput(
                customer=customer,
                amount=f"{random.randint(1500, 5000)}.00",
                redeem_points=random.randint(10, 50) if redeem else None,
                receipt=key,
            )
            answer = await services.pos.purchase(ctx, body, key, fingerprint("POST /v1/purchases", key.encode()))
            if answer.status_code != 201:
                raise SystemExit(f"a purchase was refused: {answer.body}")

        answer_reads(recorded_fetch, real_fetchval)
        tag = uuid.uuid4().hex[:10]
        for index in range(600):  # real purchases: their reads are what the rounds replay
            await one(f"{tag}-{index}", random.choice(customers), index % 3 == 0)
        read = " ".join(args for _, args in answers)
        customers = [customer for customer in customers if f"'{customer}'" in read]
        for customer in customers:  # looked up once, as a long-running worker has them
            customer_candidates(customer, region=ctx.phone_region)
        answer_reads(replayed_fetch, written)
        per_purchase_us = []
        for _ in range(rounds):
            tag = uuid.uuid4().hex[:10]
            started = time.thread_time()
            for index in range(per_round):
                await one(f"{tag}-{index}", random.choice(customers), index % 3 == 0)
            per_purchase_us.append((time.thread_time() - started) * 1e6 / per_round)
    finally:
        answer_reads(real_fetch, real_fetchval)
        await services.close()
    rounds_text = ", ".join(f"{us:.1f}" for us in per_purchase_us)
    return (
        f"{statistics.median(per_purchase_us):.1f} µs of thread CPU per purchase (median of {rounds} rounds of "
        f"{per_round}, the database replayed: {rounds_text})"
    )


async def single_asgi(database_url: str, purchases: int, members: int) -> str:
    """Each purchase a bare ASGI call of the app (FastAPI, the middlewares, the routes, the application): the
    server's own HTTP work but uvicorn's, without an HTTP client's CPU in the figure."""
    from coalition.adapters.http.app import create_app

    os.environ["COALITION_DATABASE_URL"] = database_url
    for limit in ("COALITION_RATE_LIMIT_ADDRESS", "COALITION_RATE_LIMIT_TERMINAL_KEY"):  # as bench.purchases runs
        os.environ.setdefault(limit, "1000000/s")
    app = create_app()
    authorization = f"Bearer {TERMINAL_KEY}".encode()

    async def post(key: str, body: bytes) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/purchases",
            "raw_path": b"/v1/purchases",
            "root_path": "",
            "query_string": b"",
            "server": ("bench", 80),
            "client": ("127.0.0.1", 5000),
            "headers": [
                (b"host", b"bench"),
                (b"authorization", authorization),
                (b"content-type", b"application/json"),
                (b"idempotency-key", key.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
        sent: list[dict[str, object]] = []

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        return int(sent[0]["status"])  # type: ignore[call-overload]

    async def lane(first: int, tag: str, count: int) -> None:
        for index in range(first, count, 16):
            key = f"{tag}-{index}"
            item: dict[str, object] = {
                "customer": f"99{random.randint(1, members):08d}",
                "amount": f"{random.randint(1500, 5000)}.00",
                "receipt": key,
            }
            if index % 3 == 0:
                item["redeem_points"] = random.randint(10, 50)
            if (status := await post(key, json.dumps(item).encode())) != 201:
                raise SystemExit(f"a purchase was refused: {status}")

    async with app.router.lifespan_context(app):
        await asyncio.gather(*(lane(first, uuid.uuid4().hex[:10], 320) for first in range(16)))  # warm-up
        started, pg_started = time.process_time(), _postgres_seconds(database_url)
        await asyncio.gather(*(lane(first, uuid.uuid4().hex[:10], purchases) for first in range(16)))
        cpu_ms = (time.process_time() - started) * 1000
        pg_ms = (_postgres_seconds(database_url) - pg_started) * 1000
    return (
        f"{cpu_ms / purchases:.3f} ms of CPU per purchase ({purchases} purchases, 16 at once, ASGI without uvicorn); "
        f"PostgreSQL's backends {pg_ms / purchases:.3f} ms"
    )


def _asgi_post(app: Any) -> Callable[[str, str, str | None, bytes], Awaitable[int]]:
    """A POST as a bare ASGI call of the app: the server's own HTTP work but uvicorn's, no HTTP client's CPU."""

    async def post(path: str, terminal_key: str, idempotency_key: str | None, body: bytes) -> int:
        headers = [
            (b"host", b"bench"),
            (b"authorization", f"Bearer {terminal_key}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if idempotency_key is not None:
            headers.append((b"idempotency-key", idempotency_key.encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "server": ("bench", 80),
            "client": ("127.0.0.1", 5000),
            "headers": headers,
        }
        sent: list[dict[str, object]] = []

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        status = sent[0]["status"]
        assert isinstance(status, int)
        return status

    return post


async def devices_asgi(database_url: str, pairs: int) -> str:
    """Devices serving customers as bench.devices's HTTP scenario does — POST /v1/devices/authorize, then POST
    /v1/devices/charges — as bare ASGI calls of the app, 16 at once: server CPU per pair without uvicorn."""
    from bench.devices import BENCH_LIMITS, bench_devices, member_count
    from coalition.adapters.http.app import create_app

    sync_url = database_url.replace("+asyncpg", "")
    devices, members = bench_devices(sync_url), member_count(sync_url)
    if not devices or not members:
        raise SystemExit(f"no bench devices or members in {database_url}: run `python -m bench.devices` first")
    os.environ["COALITION_DATABASE_URL"] = database_url
    for name, value in BENCH_LIMITS.items():  # as bench.devices runs the server
        os.environ.setdefault(name, value)
    app = create_app()
    post = _asgi_post(app)

    async def lane(first: int, count: int) -> None:
        for index in range(first, count, 16):
            device = devices[index % len(devices)]
            body = json.dumps({"customer": f"98{random.randint(1, members):08d}", "product": device.product()})
            if (status := await post("/v1/devices/authorize", device.key, None, body.encode())) != 200:
                raise SystemExit(f"an authorize was refused: {status}")
            if (status := await post("/v1/devices/charges", device.key, uuid.uuid4().hex, body.encode())) != 201:
                raise SystemExit(f"a charge was refused: {status}")

    async with app.router.lifespan_context(app):
        await asyncio.gather(*(lane(first, 320) for first in range(16)))  # warm-up
        started, pg_started = time.process_time(), _postgres_seconds(database_url)
        await asyncio.gather(*(lane(first, pairs) for first in range(16)))
        cpu_ms = (time.process_time() - started) * 1000
        pg_ms = (_postgres_seconds(database_url) - pg_started) * 1000
    return (
        f"{cpu_ms / pairs:.3f} ms of CPU per authorize + charge ({pairs} pairs, 16 at once, ASGI without uvicorn); "
        f"PostgreSQL's backends {pg_ms / pairs:.3f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["rules", "batch", "single", "single-asgi", "single-replayed", "devices-asgi"])
    parser.add_argument("--database-url", default=os.environ.get("COALITION_BENCH_DB", BENCH_DB))
    parser.add_argument("--evaluations", type=int, default=3000, help="rules: evaluations measured")
    parser.add_argument("--batches", type=int, default=5, help="batch: batches measured")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--purchases", type=int, default=3200, help="single, devices-asgi: purchases (pairs) measured")
    parser.add_argument("--members", type=int, default=MEMBERS, help="batch, single: members 99xxxxxxxx enrolled")
    parser.add_argument("--rounds", type=int, default=15, help="single-replayed: rounds measured")
    parser.add_argument("--per-round", type=int, default=2000, help="single-replayed: purchases a round")
    args = parser.parse_args()
    print(f"code: {os.path.dirname(os.path.dirname(coalition.__file__))}", flush=True)
    if args.what == "rules":
        print(rules(args.evaluations))
    elif args.what == "batch":  # on uvloop, as the server runs
        print(uvloop.run(batch(args.database_url, args.batches, args.batch_size, args.members)))
    elif args.what == "single-replayed":
        print(uvloop.run(single_replayed(args.database_url, args.rounds, args.per_round)))
    elif args.what == "single-asgi":
        print(uvloop.run(single_asgi(args.database_url, args.purchases, args.members)))
    elif args.what == "devices-asgi":
        url = args.database_url if args.database_url != BENCH_DB else DEVICES_DB
        print(uvloop.run(devices_asgi(url, args.purchases)))
    else:
        print(uvloop.run(single(args.database_url, args.purchases, args.members)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
