"""The daily `points_expiring` job (issue 16, point 3; docs/messages.md): members whose points expire within the
network's `expiring_days_before` days hear of it, once per member and expiry date.

It reads the lots with points left that expire after now and within the window, sums them per member and local
expiry date (the network's zone), and queues one `points_expiring` message for each through the customer messages'
queue with the event id `points_expiring:<member>:<date>`: the outbox keeps one per event, channel and member, so the
next days' runs (the same lots still in the window) queue nothing more. A network that did not turn the kind on
reads nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from coalition.application.campaigns import MessageQueue
from coalition.application.ports import Clock
from coalition.application.pos_ports.outbox import OutboxWriter
from coalition.domain.message_settings import MessageSettings
from coalition.domain.messages import MessageKind

CHUNK = 500


@dataclass(frozen=True, slots=True)
class ExpiringLot:
    member_id: int
    expires_at: datetime
    points: int  # what is left of the lot


class PointsExpiringStore(Protocol):
    async def expiring_lots(self, network_id: int, after: datetime, until: datetime) -> Sequence[ExpiringLot]:
        """Lots with points left that expire in (after, until], by member."""
        ...

    async def network_zone(self, network_id: int) -> str: ...
    def sending(self) -> AbstractAsyncContextManager[OutboxWriter]: ...
    async def record(self, network_id: int, result: dict[str, Any]) -> None:
        """The run's audit entry (`job.points_expiring`)."""
        ...


class SettingsSource(Protocol):
    async def settings(self, network_id: int) -> MessageSettings: ...


def expiring_by_day(lots: Sequence[ExpiringLot], zone: ZoneInfo) -> dict[tuple[int, date], int]:
    """Points per (member, local expiry date)."""
    found: dict[tuple[int, date], int] = {}
    for lot in lots:
        key = (lot.member_id, lot.expires_at.astimezone(zone).date())
        found[key] = found.get(key, 0) + lot.points
    return found


class PointsExpiringMessages:
    def __init__(self, store: PointsExpiringStore, queue: MessageQueue, settings: SettingsSource, clock: Clock) -> None:
        self.store, self.queue, self.settings, self.clock = store, queue, settings, clock

    async def run(self, network_id: int, day: date | None = None) -> dict[str, Any]:
        now = self.clock.now().astimezone(UTC)
        if not await self.queue.turned_on(network_id, MessageKind.POINTS_EXPIRING):
            result: dict[str, Any] = {"members": 0, "messages": 0, "queued": 0, "off": True}
            await self.store.record(network_id, result)
            return result
        days = (await self.settings.settings(network_id)).expiring_days_before
        zone_name = await self.store.network_zone(network_id)
        try:
            zone = ZoneInfo(zone_name)
        except (ValueError, KeyError):
            zone = ZoneInfo("UTC")
        today = now.astimezone(zone).date()
        lots = await self.store.expiring_lots(network_id, now, now + timedelta(days=days))
        due = sorted(expiring_by_day(lots, zone).items())
        queued = 0
        for start in range(0, len(due), CHUNK):
            async with self.store.sending() as uow:
                for (member_id, expiry), points in due[start : start + CHUNK]:
                    variables = {
                        "points_expiring": points,
                        "expiry_date": expiry.isoformat(),
                        "days_left": (expiry - today).days,
                    }
                    event_id = f"points_expiring:{member_id}:{expiry.isoformat()}"
                    queued += await self.queue.enqueue(
                        uow, network_id, member_id, MessageKind.POINTS_EXPIRING, event_id, variables, now
                    )
        result = {
            "days_before": days,
            "members": len({member_id for (member_id, _), _ in due}),
            "messages": len(due),
            "queued": queued,
        }
        await self.store.record(network_id, result)
        return result
