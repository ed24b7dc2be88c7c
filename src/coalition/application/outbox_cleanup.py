"""The outbox's retention (issue 16): the daily `outbox_cleanup` job deletes a network's settled messages (delivered,
failed, skipped) and their attempts once older than the retention (`COALITION_OUTBOX_RETENTION_DAYS`, 30 by
default), a batch per transaction so that a large backlog never holds a long lock; and it drops what a paused
subscription kept beyond `PAUSED_KEPT` (as its resume would). It also deletes the admin API's idempotency records past
their retention (application/admin_idempotency.py, 24 hours), when it is given them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from coalition.application.admin_idempotency import AdminIdempotency
from coalition.application.ports import Clock
from coalition.domain.webhooks import PAUSED_KEPT, PAUSED_TOO_LONG

CLEANUP_BATCH = 1000  # messages deleted per transaction
DEFAULT_RETENTION_DAYS = 30


class OutboxCleanupStore(Protocol):
    async def drop_paused_pending(self, network_id: int, queued_before: datetime, reason: str) -> int:
        """The network's pending messages of paused subscriptions queued before `queued_before`, skipped."""
        ...

    async def delete_settled(self, network_id: int, created_before: datetime, limit: int) -> int:
        """At most `limit` of the network's settled messages created before `created_before`, with their attempts,
        deleted in one transaction; how many messages."""
        ...


class OutboxCleanup:
    def __init__(
        self,
        store: OutboxCleanupStore,
        clock: Clock,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        batch: int = CLEANUP_BATCH,
        idempotency: AdminIdempotency | None = None,
    ) -> None:
        if retention_days < 1:
            raise ValueError("the outbox's retention is at least one day")
        self.store = store
        self.clock = clock
        self.retention = timedelta(days=retention_days)
        self.batch = batch
        self.idempotency = idempotency

    async def run(self, network_id: int) -> dict[str, Any]:
        now = self.clock.now()
        dropped = await self.store.drop_paused_pending(network_id, now - PAUSED_KEPT, PAUSED_TOO_LONG)
        deleted = 0
        while True:
            count = await self.store.delete_settled(network_id, now - self.retention, self.batch)
            deleted += count
            if count < self.batch:
                break
        answer: dict[str, Any] = {
            "deleted": deleted,
            "dropped_while_paused": dropped,
            "retention_days": self.retention.days,
        }
        if self.idempotency is not None:
            answer["idempotency_keys_deleted"] = await self.idempotency.clean(network_id)
        return answer
