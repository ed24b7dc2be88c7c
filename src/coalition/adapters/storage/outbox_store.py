"""The outbox and webhook subscriptions in SQL (issue 16), on either engine.

Queuing goes through the caller's transaction: `DriverOutboxWrites` for the POS units of work (the driver's SQL),
`CoreOutboxWrites` for those on SQLAlchemy Core. Claiming is one statement: on PostgreSQL an UPDATE of rows picked
`FOR UPDATE SKIP LOCKED` (two workers never wait on, nor take, each other's rows); on SQLite an UPDATE ... RETURNING
(its one writer at a time makes the statement atomic).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, bindparam, cast, delete, func, insert, null, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.audit_store import CoreAuditTrail
from coalition.adapters.storage.driver import Db
from coalition.adapters.storage.message_settings_store import CoreMessageWrites, DriverMessageWrites
from coalition.application.outbox import AttemptRecord, ClaimedMessage, OutboxEntry
from coalition.application.time_window import utc_bound
from coalition.application.webhooks import Delivery, Subscription
from coalition.domain.outbox import AfterAttempt, Channel, Status
from coalition.domain.webhooks import SubscriptionStatus

_OUTBOX_COLUMNS = (
    "network_id",
    "channel",
    "event_kind",
    "event_id",
    "target",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)
_DRIVER_ENQUEUE = (
    f"INSERT INTO outbox_messages ({', '.join(_OUTBOX_COLUMNS)}) "
    f"VALUES ({', '.join(f'${n}' for n in range(1, len(_OUTBOX_COLUMNS) + 1))}) "
    "ON CONFLICT (channel, target, event_id) DO NOTHING"  # the same event for the same target: queued once
)


def _outbox_row(entry: OutboxEntry, now: datetime) -> tuple[Any, ...]:
    return (
        entry.network_id,
        entry.channel.value,
        entry.event_kind,
        entry.event_id,
        entry.target,
        entry.payload,
        Status.PENDING.value,
        0,
        now,
        now,
    )


def _by_kind(rows: Iterable[tuple[int, str]]) -> dict[str, tuple[int, ...]]:
    by_kind: dict[str, list[int]] = {}
    for subscription_id, kinds in rows:
        for kind in kinds.split():
            by_kind.setdefault(kind, []).append(subscription_id)
    return {kind: tuple(ids) for kind, ids in by_kind.items()}


class DriverOutboxWrites(DriverMessageWrites):
    """`OutboxWriter` for the POS units of work: a statement more, in their transaction, only when called."""

    db: Db

    async def enqueue_outbox(self, entries: Sequence[OutboxEntry], now: datetime) -> None:
        await self.db.executemany(_DRIVER_ENQUEUE, [_outbox_row(entry, now) for entry in entries])

    async def webhook_listeners(self, network_id: int) -> dict[str, tuple[int, ...]]:
        rows = await self.db.fetch(
            "SELECT id, event_kinds FROM webhook_subscriptions WHERE network_id = $1 ORDER BY id",
            network_id,
        )
        return _by_kind((int(row["id"]), str(row["event_kinds"])) for row in rows)


class CoreOutboxWrites(CoreMessageWrites):
    connection: AsyncConnection

    async def enqueue_outbox(self, entries: Sequence[OutboxEntry], now: datetime) -> None:
        if not entries:
            return
        dialect_insert = postgresql_insert if self.connection.dialect.name == "postgresql" else sqlite_insert
        rows = [dict(zip(_OUTBOX_COLUMNS, _outbox_row(entry, now), strict=True)) for entry in entries]
        await self.connection.execute(
            dialect_insert(t.outbox_messages).on_conflict_do_nothing(index_elements=["channel", "target", "event_id"]),
            rows,
        )


def _subscription(row: RowMapping) -> Subscription:
    return Subscription(
        id=int(row["id"]),
        network_id=int(row["network_id"]),
        url=row["url"],
        description=row["description"],
        contact_email=row["contact_email"],
        event_kinds=tuple(str(row["event_kinds"]).split()),
        status=SubscriptionStatus(row["status"]),
        paused_reason=row["paused_reason"],
        consecutive_failures=int(row["consecutive_failures"]),
        secret=row["secret"],
        previous_secret=row["previous_secret"],
        previous_secret_until=None if row["previous_secret_until"] is None else t.as_utc(row["previous_secret_until"]),
        created_at=t.as_utc(row["created_at"]),
        updated_at=t.as_utc(row["updated_at"]),
    )


def _subscription_values(subscription: Subscription) -> dict[str, Any]:
    return {
        "network_id": subscription.network_id,
        "url": subscription.url,
        "description": subscription.description,
        "contact_email": subscription.contact_email,
        "event_kinds": " ".join(subscription.event_kinds),
        "secret": subscription.secret,
        "previous_secret": subscription.previous_secret,
        "previous_secret_until": subscription.previous_secret_until,
        "status": subscription.status.value,
        "paused_reason": subscription.paused_reason,
        "consecutive_failures": subscription.consecutive_failures,
        "created_at": subscription.created_at,
        "updated_at": subscription.updated_at,
    }


class SqlWebhooksUnitOfWork(CoreAuditTrail, CoreOutboxWrites):
    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def count_subscriptions(self, network_id: int) -> int:
        if self.connection.dialect.name == "postgresql":
            await self.connection.execute(
                select(t.networks.c.id).where(t.networks.c.id == network_id).with_for_update()
            )
        subs = t.webhook_subscriptions
        query = select(func.count()).select_from(subs).where(subs.c.network_id == network_id)
        return int((await self.connection.execute(query)).scalar_one())

    async def insert_subscription(self, subscription: Subscription) -> int:
        result = await self.connection.execute(
            insert(t.webhook_subscriptions)
            .values(**_subscription_values(subscription))
            .returning(t.webhook_subscriptions.c.id)
        )
        return int(result.scalar_one())

    async def subscription(self, network_id: int, subscription_id: int) -> Subscription | None:
        subs = t.webhook_subscriptions
        row = (
            (
                await self.connection.execute(
                    select(subs).where(subs.c.id == subscription_id, subs.c.network_id == network_id)
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else _subscription(row)

    async def subscription_by_id(self, subscription_id: int) -> Subscription | None:
        subs = t.webhook_subscriptions
        row = (await self.connection.execute(select(subs).where(subs.c.id == subscription_id))).mappings().first()
        return None if row is None else _subscription(row)

    async def subscriptions(self, network_id: int) -> list[Subscription]:
        subs = t.webhook_subscriptions
        rows = await self.connection.execute(select(subs).where(subs.c.network_id == network_id).order_by(subs.c.id))
        return [_subscription(row) for row in rows.mappings()]

    async def update_subscription(self, subscription: Subscription) -> None:
        subs = t.webhook_subscriptions
        values = _subscription_values(subscription)
        del values["network_id"], values["created_at"]
        await self.connection.execute(update(subs).where(subs.c.id == subscription.id).values(**values))

    async def delete_subscription(self, subscription: Subscription, reason: str, now: datetime) -> None:
        messages = t.outbox_messages
        await self.connection.execute(
            update(messages)
            .where(
                messages.c.channel == "webhook",
                messages.c.target == str(subscription.id),
                messages.c.status == Status.PENDING.value,
            )
            .values(status=Status.SKIPPED.value, last_error=reason, lease_until=None, leased_by=None)
        )
        subs = t.webhook_subscriptions
        await self.connection.execute(delete(subs).where(subs.c.id == subscription.id))

    async def deliveries(
        self,
        subscription_id: int,
        limit: int,
        before_id: int | None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Delivery]:
        """Through ix_outbox_messages_target_id backwards: a window is checked on the subscription's rows only, which
        the outbox keeps for its retention (30 days by default, application/outbox_cleanup.py): no index of its own."""
        messages, attempts = t.outbox_messages, t.outbox_attempts
        last_status = (
            select(attempts.c.response_status)
            .where(attempts.c.message_id == messages.c.id)
            .order_by(attempts.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        query = (
            select(messages, last_status.label("response_status"))
            .where(messages.c.channel == "webhook", messages.c.target == str(subscription_id))
            .order_by(messages.c.id.desc())
            .limit(limit)
        )
        if before_id is not None:
            query = query.where(messages.c.id < before_id)
        if since is not None:
            query = query.where(messages.c.created_at >= utc_bound(since))
        if until is not None:
            query = query.where(messages.c.created_at < utc_bound(until))
        return [_delivery(row) for row in (await self.connection.execute(query)).mappings()]

    async def webhook_listeners(self, network_id: int) -> dict[str, tuple[int, ...]]:
        subs = t.webhook_subscriptions
        rows = await self.connection.execute(
            select(subs.c.id, subs.c.event_kinds).where(subs.c.network_id == network_id).order_by(subs.c.id)
        )
        return _by_kind((int(row.id), str(row.event_kinds)) for row in rows)

    async def count_failure(self, subscription_id: int, now: datetime) -> int:
        subs = t.webhook_subscriptions
        result = await self.connection.execute(
            update(subs)
            .where(subs.c.id == subscription_id)
            .values(consecutive_failures=subs.c.consecutive_failures + 1)
            .returning(subs.c.consecutive_failures)
        )
        value = result.scalar_one_or_none()
        return 0 if value is None else int(value)

    async def reset_failures(self, subscription_id: int) -> None:
        subs = t.webhook_subscriptions
        await self.connection.execute(
            update(subs)
            .where(subs.c.id == subscription_id, subs.c.consecutive_failures != 0)
            .values(consecutive_failures=0)
        )

    async def drop_pending(self, subscription_id: int, queued_before: datetime, reason: str) -> int:
        messages = t.outbox_messages
        result = await self.connection.execute(
            update(messages)
            .where(
                messages.c.channel == Channel.WEBHOOK.value,
                messages.c.target == str(subscription_id),
                messages.c.status == Status.PENDING.value,
                messages.c.created_at < queued_before,
            )
            .values(status=Status.SKIPPED.value, last_error=reason, lease_until=None, leased_by=None)
        )
        return int(result.rowcount or 0)

    async def requeue(self, subscription_id: int, message_id: int, now: datetime) -> Delivery | None:
        messages = t.outbox_messages
        result = await self.connection.execute(
            update(messages)
            .where(
                messages.c.id == message_id,
                messages.c.channel == Channel.WEBHOOK.value,
                messages.c.target == str(subscription_id),
                messages.c.status.in_([Status.DELIVERED.value, Status.FAILED.value]),
            )
            .values(
                status=Status.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                lease_until=None,
                leased_by=None,
                delivered_at=None,
                last_error=None,
            )
            .returning(*messages.c, null().label("response_status"))
        )
        row = result.mappings().first()
        return None if row is None else _delivery(row)


def _delivery(row: RowMapping) -> Delivery:
    return Delivery(
        id=int(row["id"]),
        event_kind=row["event_kind"],
        event_id=row["event_id"],
        status=row["status"],
        attempts=int(row["attempts"]),
        created_at=t.as_utc(row["created_at"]),
        next_attempt_at=t.as_utc(row["next_attempt_at"]) if row["status"] == Status.PENDING.value else None,
        delivered_at=None if row["delivered_at"] is None else t.as_utc(row["delivered_at"]),
        last_error=row["last_error"],
        response_status=row["response_status"],
    )


class SqlWebhookStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqlWebhooksUnitOfWork]:
        async with self.engine.begin() as connection:
            yield SqlWebhooksUnitOfWork(connection)


def _attempt_row(record: AttemptRecord) -> dict[str, Any]:
    return {
        "message_id": record.message_id,
        "attempt": record.attempt,
        "worker": record.worker,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "outcome": record.outcome.value,
        "response_status": record.response_status,
        "error": record.error,
    }


# settle() on PostgreSQL: the message's new state and its attempt in one statement (only while the worker holds it)
_SETTLE_PG = text(
    "WITH settled AS ("
    " UPDATE outbox_messages SET status = :status, attempts = :attempt, lease_until = NULL, leased_by = NULL,"
    " last_error = :last_error, next_attempt_at = COALESCE(:next_attempt_at, next_attempt_at),"
    " delivered_at = COALESCE(:delivered_at, delivered_at)"
    " WHERE id = :message_id AND leased_by = :worker AND status = 'pending' RETURNING id)"
    " INSERT INTO outbox_attempts"
    " (message_id, attempt, worker, started_at, finished_at, outcome, response_status, error)"
    " SELECT id, :attempt, :worker, :started_at, :finished_at, :outcome, :response_status, :error FROM settled"
    " RETURNING message_id"
).bindparams(
    bindparam("next_attempt_at", type_=t.Timestamp),
    bindparam("delivered_at", type_=t.Timestamp),
    bindparam("started_at", type_=t.Timestamp),
    bindparam("finished_at", type_=t.Timestamp),
    bindparam("response_status", type_=Integer),
    bindparam("last_error", type_=String),
    bindparam("error", type_=String),
)


def _settle_parameters(record: AttemptRecord, values: dict[str, Any]) -> dict[str, Any]:
    return _attempt_row(record) | {
        "status": values["status"],
        "last_error": values["last_error"],
        "next_attempt_at": values.get("next_attempt_at"),
        "delivered_at": values.get("delivered_at"),
    }


class SqlOutboxStore:
    """The workers' side: claims with a lease, attempts and outcomes."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")  # the same pool

    async def claim(self, worker: str, now: datetime, lease_until: datetime, limit: int) -> list[ClaimedMessage]:
        messages, subs = t.outbox_messages, t.webhook_subscriptions
        paused = select(cast(subs.c.id, String)).where(subs.c.status == SubscriptionStatus.PAUSED.value)
        due = (
            select(messages.c.id)
            .where(
                messages.c.status == Status.PENDING.value,
                messages.c.next_attempt_at <= now,
                or_(messages.c.lease_until.is_(None), messages.c.lease_until <= now),
                # a paused subscription's messages wait for its resume (see domain.webhooks.PAUSED_KEPT)
                or_(messages.c.channel != Channel.WEBHOOK.value, messages.c.target.not_in(paused)),
            )
            .order_by(messages.c.next_attempt_at, messages.c.id)
            .limit(limit)
        )
        if self.engine.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        statement = (
            update(messages)
            .where(messages.c.id.in_(due.scalar_subquery()))
            .values(lease_until=lease_until, leased_by=worker)
            .returning(
                messages.c.id,
                messages.c.network_id,
                messages.c.channel,
                messages.c.event_kind,
                messages.c.event_id,
                messages.c.target,
                messages.c.payload,
                messages.c.attempts,
                messages.c.created_at,
            )
        )
        async with self.engine.begin() as connection:
            rows = (await connection.execute(statement)).mappings().all()
        claimed = [
            ClaimedMessage(
                id=int(row["id"]),
                network_id=int(row["network_id"]),
                channel=row["channel"],
                event_kind=row["event_kind"],
                event_id=row["event_id"],
                target=row["target"],
                payload=row["payload"],
                attempts=int(row["attempts"]),
                created_at=t.as_utc(row["created_at"]),
            )
            for row in rows
        ]
        return sorted(claimed, key=lambda message: message.id)

    async def settle(self, record: AttemptRecord, after: AfterAttempt, last_error: str | None) -> bool:
        messages = t.outbox_messages
        values: dict[str, Any] = {
            "status": after.status.value,
            "attempts": record.attempt,
            "lease_until": None,
            "leased_by": None,
            "last_error": last_error,
        }
        if after.next_attempt_at is not None:
            values["next_attempt_at"] = after.next_attempt_at
        if after.status is Status.DELIVERED:
            values["delivered_at"] = record.finished_at
        if self.engine.dialect.name == "postgresql":  # one statement, no BEGIN/COMMIT: a message is settled alone
            async with self._autocommit.connect() as connection:
                kept = await connection.scalar(_SETTLE_PG, _settle_parameters(record, values))
            return kept is not None
        async with self.engine.begin() as connection:
            result = await connection.execute(
                update(messages)
                .where(
                    messages.c.id == record.message_id,
                    messages.c.leased_by == record.worker,
                    messages.c.status == Status.PENDING.value,
                )
                .values(**values)
            )
            if result.rowcount != 1:
                return False  # the lease ran out and another worker took the message: its attempt is the one kept
            await connection.execute(insert(t.outbox_attempts).values(**_attempt_row(record)))
        return True

    async def settle_delivered(self, records: list[AttemptRecord]) -> list[int]:
        """One UPDATE for the round (its worker is the same for all), one INSERT of their attempts."""
        if not records:
            return []
        messages = t.outbox_messages
        async with self.engine.begin() as connection:
            result = await connection.execute(
                update(messages)
                .where(
                    messages.c.id.in_([record.message_id for record in records]),
                    messages.c.leased_by == records[0].worker,
                    messages.c.status == Status.PENDING.value,
                )
                .values(
                    status=Status.DELIVERED.value,
                    attempts=messages.c.attempts + 1,
                    lease_until=None,
                    leased_by=None,
                    last_error=None,
                    delivered_at=max(record.finished_at for record in records),
                )
                .returning(messages.c.id)
            )
            kept = {int(value) for value in result.scalars()}
            if kept:
                rows = [_attempt_row(record) for record in records if record.message_id in kept]
                await connection.execute(insert(t.outbox_attempts), rows)
        return sorted(kept)

    async def release(self, message_ids: list[int], worker: str) -> None:
        messages = t.outbox_messages
        async with self.engine.begin() as connection:
            await connection.execute(
                update(messages)
                .where(messages.c.id.in_(message_ids), messages.c.leased_by == worker)
                .values(lease_until=None, leased_by=None)
            )

    async def defer(self, message_id: int, worker: str, until: datetime, reason: str) -> None:
        messages = t.outbox_messages
        async with self.engine.begin() as connection:
            await connection.execute(
                update(messages)
                .where(
                    messages.c.id == message_id,
                    messages.c.leased_by == worker,
                    messages.c.status == Status.PENDING.value,
                )
                .values(next_attempt_at=until, last_error=reason[:500], lease_until=None, leased_by=None)
            )

    async def skip(self, message_id: int, worker: str, reason: str, now: datetime) -> None:
        messages = t.outbox_messages
        async with self.engine.begin() as connection:
            await connection.execute(
                update(messages)
                .where(messages.c.id == message_id, messages.c.leased_by == worker)
                .values(status=Status.SKIPPED.value, last_error=reason[:500], lease_until=None, leased_by=None)
            )


class SqlOutboxCleanupStore:
    """The daily cleanup's deletes (application/outbox_cleanup.py), a batch per transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def drop_paused_pending(self, network_id: int, queued_before: datetime, reason: str) -> int:
        messages, subs = t.outbox_messages, t.webhook_subscriptions
        paused = select(cast(subs.c.id, String)).where(
            subs.c.network_id == network_id, subs.c.status == SubscriptionStatus.PAUSED.value
        )
        async with self.engine.begin() as connection:
            result = await connection.execute(
                update(messages)
                .where(
                    messages.c.network_id == network_id,
                    messages.c.channel == Channel.WEBHOOK.value,
                    messages.c.status == Status.PENDING.value,
                    messages.c.created_at < queued_before,
                    messages.c.target.in_(paused),
                )
                .values(status=Status.SKIPPED.value, last_error=reason, lease_until=None, leased_by=None)
            )
        return int(result.rowcount or 0)

    async def delete_settled(self, network_id: int, created_before: datetime, limit: int) -> int:
        messages, attempts = t.outbox_messages, t.outbox_attempts
        async with self.engine.begin() as connection:
            ids = list(
                (
                    await connection.execute(
                        select(messages.c.id)
                        .where(
                            messages.c.network_id == network_id,
                            messages.c.status != Status.PENDING.value,
                            messages.c.created_at < created_before,
                        )
                        .order_by(messages.c.id)
                        .limit(limit)
                    )
                ).scalars()
            )
            if not ids:
                return 0
            await connection.execute(delete(attempts).where(attempts.c.message_id.in_(ids)))
            await connection.execute(delete(messages).where(messages.c.id.in_(ids)))
        return len(ids)
