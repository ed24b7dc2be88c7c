"""The daily outbox_cleanup job (issue 16), both engines: settled messages (delivered, failed, skipped) older than the
retention are deleted with their attempts, in batches; pending ones and recent ones stay; what a paused subscription
kept over 3 days is dropped; another network's messages are not touched; the scheduler runs it once a day."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from coalition.adapters.storage.outbox_store import SqlOutboxCleanupStore
from coalition.application.outbox_cleanup import OutboxCleanup
from coalition.application.webhooks import NewSubscription
from coalition.domain.webhooks import PAUSED_TOO_LONG
from coalition.settings import Settings
from coalition.wiring import Services, build_services
from tests.support import SettableClock, make_network

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)


async def _message(services: Services, network_id: int, target: int, status: str, age: timedelta, n: int) -> None:
    created = NOW - age
    async with services.engine.begin() as connection:
        found = await connection.execute(
            text(
                "INSERT INTO outbox_messages (network_id, channel, event_kind, event_id, target, payload, status, "
                "attempts, next_attempt_at, created_at) VALUES (:network, 'webhook', 'purchase.recorded', :event, "
                ":target, '{}', :status, 1, :created, :created) RETURNING id"
            ),
            {"network": network_id, "event": f"purchase:{n}", "target": str(target), "status": status,
             "created": created},
        )  # fmt: skip
        message_id = found.scalar_one()
        if status != "pending":
            await connection.execute(
                text(
                    "INSERT INTO outbox_attempts (message_id, attempt, worker, started_at, finished_at, outcome) "
                    "VALUES (:id, 1, 'w1', :at, :at, 'delivered')"
                ),
                {"id": message_id, "at": created},
            )


async def _left(services: Services) -> list[tuple[str, str, str | None]]:
    async with services.engine.connect() as connection:
        rows = await connection.execute(text("SELECT event_id, status, last_error FROM outbox_messages ORDER BY id"))
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_old_settled_messages_are_deleted_in_batches(settings: Settings) -> None:
    services = build_services(settings, clock=SettableClock(NOW))
    try:
        ours, theirs = await make_network(services, "ours"), await make_network(services, "theirs")
        hook = await services.webhooks.create(ours.ref, NewSubscription("https://hooks.example/a", ("gift.granted",)))
        paused = await services.webhooks.create(ours.ref, NewSubscription("https://hooks.example/b", ("gift.granted",)))
        await services.webhooks.pause(ours.ref, paused.id)
        other = await services.webhooks.create(theirs.ref, NewSubscription("https://x.example/c", ("gift.granted",)))
        old, recent = timedelta(days=31), timedelta(days=29)
        for n, status in enumerate(["delivered", "failed", "skipped", "delivered", "failed"]):
            await _message(services, ours.ref.id, hook.id, status, old, n)
        await _message(services, ours.ref.id, hook.id, "pending", old, 10)  # still to send: kept
        await _message(services, ours.ref.id, hook.id, "delivered", recent, 11)
        await _message(services, ours.ref.id, paused.id, "pending", timedelta(days=4), 12)  # paused too long
        await _message(services, ours.ref.id, paused.id, "pending", timedelta(days=2), 13)  # kept for its resume
        await _message(services, theirs.ref.id, other.id, "delivered", old, 14)  # another network's run deletes it

        cleanup = OutboxCleanup(SqlOutboxCleanupStore(services.engine), services.clock, retention_days=30, batch=2)
        assert await cleanup.run(ours.ref.id) == {"deleted": 5, "dropped_while_paused": 1, "retention_days": 30}
        assert await _left(services) == [
            ("purchase:10", "pending", None),
            ("purchase:11", "delivered", None),
            ("purchase:12", "skipped", PAUSED_TOO_LONG),
            ("purchase:13", "pending", None),
            ("purchase:14", "delivered", None),
        ]
        async with services.engine.connect() as connection:
            attempts = await connection.execute(text("SELECT count(*) FROM outbox_attempts"))
            assert attempts.scalar_one() == 2  # of purchase:11 and purchase:14
        assert (await cleanup.run(ours.ref.id))["deleted"] == 0
    finally:
        await services.close()


async def test_the_scheduler_runs_it_daily_with_the_configured_retention(settings: Settings) -> None:
    clock = SettableClock(NOW)  # 04:00 in Moscow: after the default 03:30
    services = build_services(replace(settings, outbox_retention_days=2), clock=clock)
    try:
        network = await make_network(services)
        hook = await services.webhooks.create(
            network.ref, NewSubscription("https://hooks.example/a", ("gift.granted",))
        )
        await _message(services, network.ref.id, hook.id, "delivered", timedelta(days=3), 1)
        await _message(services, network.ref.id, hook.id, "delivered", timedelta(days=1), 2)
        done = await services.scheduler.tick()
        [run] = [run for run in done if run.job == "outbox_cleanup"]
        assert run.period_key == "2026-12-06"
        assert [row[0] for row in await _left(services)] == ["purchase:2"]
        assert [run for run in await services.scheduler.tick() if run.job == "outbox_cleanup"] == []
    finally:
        await services.close()


def test_the_retention_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COALITION_OUTBOX_RETENTION_DAYS", "7")
    assert Settings.from_env().outbox_retention_days == 7
    monkeypatch.setenv("COALITION_OUTBOX_RETENTION_DAYS", "0")
    with pytest.raises(ValueError, match="COALITION_OUTBOX_RETENTION_DAYS"):
        Settings.from_env()
