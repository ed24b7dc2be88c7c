"""Customer messages queued in the outbox (issue 16, point 3; docs/messages.md): a network's settings, cached; the one
way to queue a message (`CustomerMessages.enqueue`, which later kinds call too); and the events that feed messages
(a purchase thanks the member and may cross the balance threshold, an enrolment welcomes, a gift is announced).

Queuing writes one outbox row per channel the kind is turned on for, in the caller's unit of work, so a message
exists exactly when its event committed. Whether and when it goes (consent, quiet hours, the cap) is decided when it
is delivered (application/message_delivery.py). A network that turned nothing on costs an event one dictionary
look-up: `listens` is False, so a purchase keeps its one-statement path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from coalition.application.audit import AuditEntry, entry
from coalition.application.cache import ACCESS_CHANGES, AccessChanges, TtlCache
from coalition.application.events import GIFT_GRANTED, MEMBER_ENROLLED, PURCHASE_RECORDED
from coalition.application.outbox import OutboxEntry, OutboxWriter, payload_text
from coalition.application.ports import Clock
from coalition.application.webhooks import Listeners, WebhookEvents
from coalition.domain.errors import Conflict
from coalition.domain.message_settings import MessageDefaults, MessageSettings, changed
from coalition.domain.messages import Channel, MessageKind, threshold_crossing
from coalition.domain.outbox import Channel as OutboxChannel

SETTINGS_TTL_S = 30.0  # other servers see a change within this; this server's workers at once (ACCESS_CHANGES)
# which message kinds each event feeds (listens() is True only when one of them is on)
FEEDS: dict[str, tuple[MessageKind, ...]] = {
    PURCHASE_RECORDED: (MessageKind.THANK_YOU, MessageKind.BALANCE_THRESHOLD),
    MEMBER_ENROLLED: (MessageKind.WELCOME,),
    GIFT_GRANTED: (MessageKind.GIFT_GRANTED,),
}
CHANGED_CONCURRENTLY = "the message settings were changed meanwhile: read them again"


def outbox_channel(channel: Channel) -> OutboxChannel:
    return OutboxChannel(channel.value)


class MessageSettingsStore(Protocol):
    async def message_settings(self, network_id: int) -> MessageSettings | None: ...
    async def save_message_settings(
        self, settings: MessageSettings, expected_version: int, audited: AuditEntry
    ) -> bool:
        """Insert or update under the version read (False: changed meanwhile), audited in the same transaction."""
        ...


class CustomerMessages:
    def __init__(
        self,
        store: MessageSettingsStore,
        clock: Clock,
        defaults: MessageDefaults = MessageDefaults(),
        changes: AccessChanges = ACCESS_CHANGES,
    ) -> None:
        self.store, self.clock, self.defaults, self.changes = store, clock, defaults, changes
        self._cache: TtlCache[int, MessageSettings] = TtlCache(SETTINGS_TTL_S, changes=changes)

    # --- settings -----------------------------------------------------------------------------------------

    async def settings(self, network_id: int, within: OutboxWriter | None = None) -> MessageSettings:
        """The network's settings (its defaults when never saved); read `within` the caller's unit of work if any."""

        async def load() -> MessageSettings:
            stored = (
                await within.stored_message_settings(network_id)
                if within is not None
                else await self.store.message_settings(network_id)
            )
            return stored or MessageSettings.default(network_id, self.defaults)

        found = await self._cache.get_or_load(network_id, load)
        return found or MessageSettings.default(network_id, self.defaults)

    async def current(self, network_id: int) -> MessageSettings:
        """As stored now (not cached): what the administrator reads."""
        return await self.store.message_settings(network_id) or MessageSettings.default(network_id, self.defaults)

    async def set(
        self, network_id: int, changes: Mapping[str, Any], expected_version: int | None = None
    ) -> MessageSettings:
        """Change the fields given (audited `message_settings.set`); a concurrent change (or another version than
        `expected_version`, when given) is a 409."""
        current = await self.current(network_id)
        if expected_version is not None and expected_version != current.version:
            raise Conflict(CHANGED_CONCURRENTLY, field="version")
        new = changed(current, changes, self.clock.now())
        audited = entry(
            network_id,
            "message_settings.set",
            "message_settings",
            network_id,
            before=current.audited(),
            after=new.audited(),
        )
        if not await self.store.save_message_settings(new, current.version, audited):
            raise Conflict(CHANGED_CONCURRENTLY, field="version")
        self.changed()
        return new

    def changed(self) -> None:
        self.changes.moved()
        self._cache.clear()

    # --- queuing ------------------------------------------------------------------------------------------

    async def turned_on(self, network_id: int, kind: MessageKind) -> tuple[Channel, ...]:
        return (await self.settings(network_id)).channels(kind)

    async def listens(self, network_id: int, event_kind: str) -> bool:
        kinds = FEEDS.get(event_kind)
        return bool(kinds) and (await self.settings(network_id)).any_of(kinds or ())

    async def enqueue(
        self,
        uow: OutboxWriter,
        network_id: int,
        member_id: int,
        kind: MessageKind,
        event_id: str,
        variables: Mapping[str, object],
        now: datetime,
        *,
        language: str | None = None,
        channels: Collection[Channel] | None = None,
    ) -> int:
        """One outbox row per channel `kind` is on for (of `channels`, when given: a campaign's), in the caller's
        transaction; the number queued. The `event_id` (e.g. `thank_you:purchase:<id>`) is unique per channel and
        member: a repeat is dropped."""
        turned_on = (await self.settings(network_id, uow)).channels(kind)
        channels = tuple(channel for channel in turned_on if channels is None or channel in channels)
        if not channels:
            return 0
        payload: dict[str, Any] = {"kind": kind.value, "member_id": member_id, "variables": dict(variables)}
        if language is not None:
            payload["language"] = language
        body = payload_text(payload)
        entries = [
            OutboxEntry(network_id, outbox_channel(channel), kind.value, event_id, str(member_id), body)
            for channel in channels
        ]
        await uow.enqueue_outbox(entries, now)
        return len(entries)

    async def on_events(
        self,
        uow: OutboxWriter,
        network_id: int,
        event_kind: str,
        events: Sequence[tuple[str, Mapping[str, Any]]],
        now: datetime,
    ) -> int:
        """The messages these events feed, queued in the caller's unit of work; the number queued."""
        feeds = FEEDS.get(event_kind)
        if not feeds or not events:
            return 0
        settings = await self.settings(network_id, uow)
        if not settings.any_of(feeds):
            return 0
        handler = self._handlers()[event_kind]
        queued = 0
        for event_id, data in events:
            queued += await handler(uow, settings, event_id, data, now)
        return queued

    def _handlers(self) -> dict[str, Callable[..., Awaitable[int]]]:
        return {PURCHASE_RECORDED: self._purchase, MEMBER_ENROLLED: self._enrolled, GIFT_GRANTED: self._gift}

    async def _purchase(
        self, uow: OutboxWriter, settings: MessageSettings, event_id: str, data: Mapping[str, Any], now: datetime
    ) -> int:
        member_id = data.get("member_id")
        if member_id is None:
            return 0
        network_id = settings.network_id
        earned, spent, balance = int(data["points_earned"]), int(data["points_redeemed"]), int(data["points_balance"])
        queued = 0
        if settings.channels(MessageKind.THANK_YOU):
            variables = {
                "points_earned": earned,
                "points_spent": spent,
                "balance": balance,
                "outlet_id": data.get("outlet_id"),
            }
            queued += await self.enqueue(
                uow, network_id, member_id, MessageKind.THANK_YOU, f"thank_you:{event_id}", variables, now
            )
        threshold = settings.balance_threshold
        if threshold is not None and settings.channels(MessageKind.BALANCE_THRESHOLD):
            armed = await uow.threshold_armed(member_id)
            check = threshold_crossing(balance - earned + spent, balance, threshold, armed)
            if check.armed != armed:
                await uow.set_threshold_armed(member_id, check.armed, now)
            if check.fire:
                variables = {"threshold": threshold, "balance": balance}
                queued += await self.enqueue(
                    uow, network_id, member_id, MessageKind.BALANCE_THRESHOLD, f"balance_threshold:{event_id}",
                    variables, now,
                )  # fmt: skip
        return queued

    async def _enrolled(
        self, uow: OutboxWriter, settings: MessageSettings, event_id: str, data: Mapping[str, Any], now: datetime
    ) -> int:
        variables = {"card_number": data.get("card_number") or "", "balance": int(data.get("points_balance") or 0)}
        member_id = int(data["member_id"])
        return await self.enqueue(
            uow, settings.network_id, member_id, MessageKind.WELCOME, f"welcome:{event_id}", variables, now
        )

    async def _gift(
        self, uow: OutboxWriter, settings: MessageSettings, event_id: str, data: Mapping[str, Any], now: datetime
    ) -> int:
        valid_until = str(data.get("valid_until") or "")
        variables = {
            "gift_name": data.get("gift_name") or "",
            "expiry_date": valid_until[:10],
            "outlet_id": data.get("outlet_id"),
        }
        member_id = int(data["member_id"])
        return await self.enqueue(
            uow, settings.network_id, member_id, MessageKind.GIFT_GRANTED, f"gift_granted:{event_id}", variables, now
        )


class OutboxEvents(WebhookEvents):
    """Every event of the point of sale (PosService.emit, the purchase's own emits): queued for the webhooks
    listening to it and as the customer messages it feeds, in the event's unit of work."""

    def __init__(self, listeners: Listeners, messages: CustomerMessages | None) -> None:
        super().__init__(listeners)
        self.messages = messages

    async def listens(self, network_id: int, kind: str) -> bool:
        if await super().listens(network_id, kind):
            return True
        return self.messages is not None and await self.messages.listens(network_id, kind)

    async def emit_many(
        self,
        uow: OutboxWriter,
        network_id: int,
        kind: str,
        events: Sequence[tuple[str, Mapping[str, Any]]],
        now: datetime,
    ) -> int:
        queued = await super().emit_many(uow, network_id, kind, events, now)
        if self.messages is not None:
            queued += await self.messages.on_events(uow, network_id, kind, events, now)
        return queued
