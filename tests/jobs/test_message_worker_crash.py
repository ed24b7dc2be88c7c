"""A worker killed in the middle of sending loses no customer message (issue 16, point 3), on PostgreSQL: `coalition
worker` sends the thank-you e-mails of 20 purchases to an SMTP server that stalls on the first one; the worker is
killed with SIGKILL while it waits; another worker takes the killed one's messages over when their lease ends. Every
message arrives, and a repeat (the stalled one, received but never recorded) carries the same Message-ID: as many
distinct Message-IDs as messages queued."""

from __future__ import annotations

import asyncio
import email
import os
import signal
import subprocess
import sys
import threading
import time
from email.policy import default
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller

from coalition.settings import Settings
from coalition.wiring import build_services
from tests.jobs.message_support import enrol_member
from tests.mail_support import free_port
from tests.support import buy, client, make_network

pytestmark = pytest.mark.postgres
VENV_BIN = Path(sys.executable).parent
MESSAGES = 20


class StallingInbox:
    """Keeps every message; holds the reply to the first one until released (the sender waits for its 250)."""

    def __init__(self) -> None:
        self.message_ids: list[str] = []
        self.stalled = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=default)
        self.message_ids.append(str(message["Message-ID"]))
        if not self.stalled.is_set():
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        return "250 OK"


async def _queue(url: str) -> None:
    services = build_services(Settings(database_url=url, operator_token=None, public_url="http://testserver"))
    try:
        network = await make_network(services)
        changes = {"enabled": {"thank_you": ["email"]}, "quiet_start": None, "quiet_end": None, "cap_per_day": 100}
        await services.customer_messages.set(network.ref.id, changes)
        async with client(services) as http:
            for n in range(MESSAGES):
                card = f"7000-{n:04d}"
                await enrol_member(http, network.shop_key, card, email=f"m{n}@example.com", phone=None)
                assert (await buy(http, network.shop_key, card, "100.00")).status_code == 201
    finally:
        await services.close()


def _statuses(url: str) -> dict[str, int]:
    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT status, count(*) FROM outbox_messages GROUP BY status").fetchall()
    return {str(status): int(count) for status, count in rows}


def _worker(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "COALITION_SMTP_HOST": "127.0.0.1",
        "COALITION_SMTP_PORT": str(port),
        "COALITION_MAIL_FROM": "loyalty@shop.example",
        "COALITION_OUTBOX_LEASE_SECONDS": "30",
        "COALITION_SCHEDULER_TICK_SECONDS": "3600",
    }
    return subprocess.Popen(
        [VENV_BIN / "coalition", "worker", "--database-url", url],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env=env,
    )


def test_a_worker_killed_while_sending_loses_nothing(pg_database_url: str, tmp_path: Path) -> None:
    url = pg_database_url
    asyncio.run(_queue(url))
    assert _statuses(url) == {"pending": MESSAGES}
    inbox = StallingInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    first = second = None
    try:
        first = _worker(url, controller.port, tmp_path / "first.log")
        assert inbox.stalled.wait(60), (tmp_path / "first.log").read_text()
        time.sleep(1.0)  # the others of its round go through meanwhile
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        inbox.release.set()
        assert _statuses(url).get("pending", 0) >= 1  # the stalled one was received but never recorded
        second = _worker(url, controller.port, tmp_path / "second.log")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _statuses(url) != {"delivered": MESSAGES}:
            time.sleep(0.5)
        assert _statuses(url) == {"delivered": MESSAGES}, (tmp_path / "second.log").read_text()
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(20)
        inbox.release.set()
        controller.stop()
    assert len(set(inbox.message_ids)) == MESSAGES  # every message arrived; a repeat carries the same Message-ID
    assert len(inbox.message_ids) >= MESSAGES + 1  # the stalled one was sent again after the crash
    assert all(ids.startswith("<coalition-message-") for ids in inbox.message_ids)
