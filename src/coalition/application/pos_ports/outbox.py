"""The outbox's port in a unit of work (issue 16): a change queues its events in its own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from coalition.domain.message_settings import MessageSettings
from coalition.domain.outbox import Channel


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A message to queue: `event_id` is unique per channel and target (a repeat is dropped, never queued twice)."""

    network_id: int
    channel: Channel
    event_kind: str
    event_id: str
    target: str
    payload: str  # JSON text


class OutboxWriter(Protocol):
    """Offered by the units of work whose changes emit events: the rows go in the caller's transaction."""

    async def enqueue_outbox(self, entries: Sequence[OutboxEntry], now: datetime) -> None: ...

    async def webhook_listeners(self, network_id: int) -> dict[str, tuple[int, ...]]:
        """The network's active webhook subscriptions by event kind, read in this transaction (on SQLite another
        connection would wait for this one's write lock)."""
        ...

    async def stored_message_settings(self, network_id: int) -> MessageSettings | None:
        """The network's customer-message settings, read in this transaction (None: never saved, all off)."""
        ...

    async def threshold_armed(self, member_id: int) -> bool | None:
        """The member's balance-threshold state (None: never checked)."""
        ...

    async def set_threshold_armed(self, member_id: int, armed: bool, now: datetime) -> None: ...
