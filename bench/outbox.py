"""How fast the outbox delivers (issue 16: 10,000 queued messages to a local receiver in under a minute).

`.venv/bin/python -m bench.outbox [--messages N] [--subscriptions S]` makes a throwaway PostgreSQL database
(COALITION_TEST_PG_URL's server, default 127.0.0.1:5432), queues N webhook messages spread over S subscriptions of
one network, and runs one outbox loop (adapters/jobs/outbox_loop.py) against a local `http.server` receiver until
every message has arrived. It prints the time and the rate; nothing is written to docs (see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from datetime import UTC, datetime

import psycopg
from tests.webhook_receiver import receiver

from coalition.adapters.jobs.outbox_loop import outbox_loop
from coalition.adapters.storage.migrate import upgrade
from coalition.application.admin import NetworkRef
from coalition.application.outbox import OutboxEntry
from coalition.application.webhooks import NewSubscription
from coalition.demo import SMALL_SHOP_PROGRAM
from coalition.domain.outbox import Channel
from coalition.settings import Settings
from coalition.wiring import build_services

SERVER = os.environ.get("COALITION_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


async def run(url: str, count: int, subscriptions: int) -> float:
    services = build_services(Settings(database_url=url, operator_token="bench", public_url="http://bench"))
    try:
        with receiver() as endpoint:
            created = await services.admin.create_network("bench", "Bench", "RUB", SMALL_SHOP_PROGRAM)
            ref = NetworkRef(created["id"], "bench", "Bench", "RUB")
            targets = [
                (await services.webhooks.create(ref, NewSubscription(f"{endpoint.url}/{n}", ("purchase.recorded",)))).id
                for n in range(subscriptions)
            ]
            now = datetime.now(UTC)
            entries = [
                OutboxEntry(ref.id, Channel.WEBHOOK, "purchase.recorded", f"e{i}", str(targets[i % subscriptions]),
                            f'{{"n":{i}}}')
                for i in range(count)
            ]  # fmt: skip
            async with services.webhook_store.unit_of_work() as uow:
                await uow.enqueue_outbox(entries, now)
            stop = asyncio.Event()
            started = time.perf_counter()
            loop = asyncio.create_task(outbox_loop(services, stop, idle_wait_s=0.05))
            while len(endpoint.requests) < count:
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
            stop.set()
            await loop
            return elapsed
    finally:
        await services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--subscriptions", type=int, default=1)
    args = parser.parse_args()
    database = "coalition_bench_outbox_" + uuid.uuid4().hex[:8]
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {database}")
    url = SERVER.rsplit("/", 1)[0] + f"/{database}"
    try:
        upgrade(url)
        elapsed = asyncio.run(run(url, args.messages, args.subscriptions))
        rate = args.messages / elapsed
        print(f"{args.messages} messages to {args.subscriptions} subscription(s): {elapsed:.1f} s ({rate:.0f}/s)")
    finally:
        with psycopg.connect(SERVER, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {database} WITH (FORCE)")


if __name__ == "__main__":
    main()
