"""How fast the outbox sends customer e-mails (issue 16, point 3: 10,000 queued e-mails to a local SMTP server in
under a minute).

`.venv/bin/python -m bench.messages [--messages N] [--workers W]` makes a throwaway PostgreSQL database
(COALITION_TEST_PG_URL's server, default 127.0.0.1:5432), a network with N members (e-mail address, consent) and the
thank-you e-mail turned on (no quiet hours, so the figure does not depend on the hour it runs), queues one thank-you
per member, and runs W outbox loops (adapters/jobs/outbox_loop.py, each with its own services) against a local
aiosmtpd server until every message has arrived. Each message goes the whole way: the member, the cap's window and
the policy read, the template rendered with the unsubscribe link, one SMTP transaction, the success recorded. It
prints the time and the rate; nothing is written to docs (see docs/benchmarks.md, "Messages").
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
from aiosmtpd.controller import Controller
from sqlalchemy import insert, select
from tests.mail_support import free_port

from coalition.adapters.jobs.outbox_loop import outbox_loop
from coalition.adapters.storage import tables as t
from coalition.adapters.storage.migrate import upgrade
from coalition.application.admin import NetworkRef
from coalition.application.outbox import OutboxEntry, payload_text
from coalition.demo import SMALL_SHOP_PROGRAM
from coalition.domain.outbox import Channel
from coalition.settings import Settings
from coalition.wiring import build_services

SERVER = os.environ.get("COALITION_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


class Counter:
    """The SMTP server's handler, in a process of its own (its own core): counts into shared memory."""

    def __init__(self, received: Any) -> None:
        self.received = received

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.received.get_lock():
            self.received.value += 1
        return "250 OK"


def smtp_server(port: int, received: Any, stop: Any) -> None:
    controller = Controller(Counter(received), hostname="127.0.0.1", port=port)
    controller.start()
    stop.wait()
    controller.stop()


async def run(url: str, count: int, workers: int, port: int, received: Any) -> float:
    settings = Settings(
        database_url=url,
        operator_token="bench",
        public_url="http://bench",
        smtp_host="127.0.0.1",
        smtp_port=port,
        mail_from="loyalty@bench.example",
    )
    services = [build_services(settings) for _ in range(workers)]
    first = services[0]
    try:
        created = await first.admin.create_network("bench", "Bench", "RUB", SMALL_SHOP_PROGRAM)
        ref = NetworkRef(created["id"], "bench", "Bench", "RUB")
        partner = await first.admin.create_partner(ref, "Shop")
        await first.admin.create_outlet(ref, partner["id"], "Shop till", "Europe/Moscow")
        changes = {"enabled": {"thank_you": ["email"]}, "quiet_start": None, "quiet_end": None, "cap_per_day": 100}
        await first.customer_messages.set(ref.id, changes)
        now = datetime.now(UTC)
        members = [
            {
                "network_id": ref.id, "kind": "personal", "name": f"Member {n}", "email": f"m{n}@bench.example",
                "consent_data_processing": True, "consent_newsletters": False, "lifetime_spend_minor": 0,
                "created_at": now,
            }
            for n in range(count)
        ]  # fmt: skip
        async with first.engine.begin() as connection:
            await connection.execute(insert(t.members), members)
            ids = list((await connection.execute(select(t.members.c.id).order_by(t.members.c.id))).scalars())
        entries = [
            OutboxEntry(
                ref.id, Channel.EMAIL, "thank_you", f"thank_you:purchase:{n}", str(member_id),
                payload_text({"kind": "thank_you", "member_id": member_id,
                              "variables": {"points_earned": 30, "points_spent": 0, "balance": 130}}),
            )
            for n, member_id in enumerate(ids)
        ]  # fmt: skip
        async with first.webhook_store.unit_of_work() as uow:
            await uow.enqueue_outbox(entries, now)
        stop = asyncio.Event()
        started = time.perf_counter()
        loops = [asyncio.create_task(outbox_loop(s, stop, idle_wait_s=0.05)) for s in services]
        while received.value < count:
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        stop.set()
        await asyncio.gather(*loops)
        return elapsed
    finally:
        for built in services:
            await built.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    database = "coalition_bench_messages_" + uuid.uuid4().hex[:8]
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {database}")
    url = SERVER.rsplit("/", 1)[0] + f"/{database}"
    port, received, stop = free_port(), multiprocessing.Value("q", 0), multiprocessing.Event()
    server = multiprocessing.Process(target=smtp_server, args=(port, received, stop), daemon=True)
    server.start()
    try:
        upgrade(url)
        elapsed = asyncio.run(run(url, args.messages, args.workers, port, received))
        rate = args.messages / elapsed
        print(f"{args.messages} e-mails, {args.workers} loop(s): {elapsed:.1f} s ({rate:.0f}/s)")
    finally:
        stop.set()
        server.join(10)
        with psycopg.connect(SERVER, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {database} WITH (FORCE)")


if __name__ == "__main__":
    main()
