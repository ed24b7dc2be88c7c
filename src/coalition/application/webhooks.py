"""Webhooks (issue 16): the administrator's subscriptions, the events queued for them, and their delivery.

Queuing: `WebhookEvents.emit` runs in the unit of work of the event's cause and writes one outbox row per
subscription listening to that kind (active or paused: a paused one keeps its events for its resume, `PAUSED_KEPT`).
Which subscriptions listen is cached per network (a network without webhooks costs one dictionary look-up per
event, no database round trip); a change of subscriptions drops the cache of every
worker of the server at once through the shared `ACCESS_CHANGES` counter, other servers within `LISTENERS_TTL_S`.

Delivery: `WebhookDeliverer` signs and posts through an `HttpPoster` (adapters/jobs/outbox_loop.py: httpx). A
subscription whose messages fail `FAILURES_BEFORE_PAUSE` times in a row is paused and its contact told by e-mail.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from coalition.application.audit import AuditTrail, entry
from coalition.application.cache import ACCESS_CHANGES, AccessChanges, TtlCache
from coalition.application.network_ref import NetworkRef
from coalition.application.outbox import Attempted, ClaimedMessage, OutboxEntry, OutboxWriter, payload_text
from coalition.application.ports import Clock
from coalition.application.settlement import Mailer, OutgoingMail
from coalition.application.time_window import check_window
from coalition.domain.errors import Conflict, InvalidInput, NotFound
from coalition.domain.outbox import FAILURES_BEFORE_PAUSE, Channel, Outcome, Status, outcome_of
from coalition.domain.webhooks import (
    EVENT_HEADER,
    ID_HEADER,
    MAX_DESCRIPTION_LENGTH,
    MAX_SUBSCRIPTIONS,
    OLD_SECRET_KEPT,
    PAUSED_KEPT,
    PAUSED_TOO_LONG,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SubscriptionStatus,
    checked_event_kinds,
    checked_url,
    new_secret,
    signature_header,
)

log = logging.getLogger(__name__)
LISTENERS_TTL_S = 30.0
SUBSCRIPTION_READ_TTL_S = 1.0  # how long a worker sends on what it read of a subscription (its URL, secret, state)
RECENT_DELIVERIES = 20
MAX_DELIVERIES_PAGE = 501  # the API's largest page (500) and the one more that tells a next page exists
TOO_MANY = f"a network has at most {MAX_SUBSCRIPTIONS} webhook subscriptions"
NOT_FOUND = "no webhook subscription with this id in this network"
NO_MESSAGE = "no delivery with this id for this webhook subscription"
NOT_RESENDABLE = "only a delivered or failed message can be sent again: this one is pending or was skipped"
_EMAIL_MAX = 254


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    network_id: int
    url: str
    description: str | None
    contact_email: str | None
    event_kinds: tuple[str, ...]
    status: SubscriptionStatus
    paused_reason: str | None
    consecutive_failures: int
    secret: str
    previous_secret: str | None
    previous_secret_until: datetime | None
    created_at: datetime
    updated_at: datetime

    def secrets_in_use(self, now: datetime) -> list[str]:
        """The secrets a delivery is signed with: the current one, and the previous one for 24 h after a rotation."""
        kept = self.previous_secret is not None and self.previous_secret_until is not None
        if kept and self.previous_secret_until is not None and now < self.previous_secret_until:
            return [self.secret, str(self.previous_secret)]
        return [self.secret]

    def audited(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "event_kinds": list(self.event_kinds),
            "status": self.status.value,
            "description": self.description,
            "contact_email": self.contact_email,
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox message of a subscription, with its last attempt's response code."""

    id: int
    event_kind: str
    event_id: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None
    response_status: int | None


@dataclass(frozen=True, slots=True)
class NewSubscription:
    url: str
    event_kinds: Sequence[str]
    description: str | None = None
    contact_email: str | None = None


class WebhooksUnitOfWork(AuditTrail, OutboxWriter, Protocol):
    async def count_subscriptions(self, network_id: int) -> int:
        """Counted under a lock on the network's row (PostgreSQL), so that two creates cannot pass the limit."""
        ...

    async def insert_subscription(self, subscription: Subscription) -> int: ...
    async def subscription(self, network_id: int, subscription_id: int) -> Subscription | None: ...
    async def subscriptions(self, network_id: int) -> list[Subscription]: ...
    async def update_subscription(self, subscription: Subscription) -> None: ...
    async def delete_subscription(self, subscription: Subscription, reason: str, now: datetime) -> None:
        """Delete it; its pending messages are skipped with `reason`, its log kept."""
        ...

    async def deliveries(
        self,
        subscription_id: int,
        limit: int,
        before_id: int | None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Delivery]:
        """Newest first by id, older than `before_id`; created at or after `since` and before `until`."""
        ...

    async def subscription_by_id(self, subscription_id: int) -> Subscription | None: ...
    async def count_failure(self, subscription_id: int, now: datetime) -> int:
        """Add one to its consecutive failures; the new count."""
        ...

    async def reset_failures(self, subscription_id: int) -> None: ...
    async def drop_pending(self, subscription_id: int, queued_before: datetime, reason: str) -> int:
        """Its pending messages queued before `queued_before` skipped with `reason`; how many."""
        ...

    async def requeue(self, subscription_id: int, message_id: int, now: datetime) -> Delivery | None:
        """A delivered or failed message of this subscription pending again from `now`, its attempts counted
        from 0 (its earlier attempts kept in the log); None when it has no such message."""
        ...


class WebhooksUnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[WebhooksUnitOfWork]: ...


class Listeners:
    """The network's subscriptions (active or paused) by event kind, cached (see the module's note)."""

    def __init__(self, unit_of_work: WebhooksUnitOfWorkFactory, changes: AccessChanges = ACCESS_CHANGES) -> None:
        self.unit_of_work = unit_of_work
        self.changes = changes
        self._cache: TtlCache[int, dict[str, tuple[int, ...]]] = TtlCache(LISTENERS_TTL_S, changes=changes)

    async def of(self, network_id: int, kind: str, within: OutboxWriter | None = None) -> tuple[int, ...]:
        """Those listening to `kind`; read, when not cached, `within` the caller's unit of work if it has one."""

        async def load() -> dict[str, tuple[int, ...]]:
            if within is not None:
                return await within.webhook_listeners(network_id)
            async with self.unit_of_work() as uow:
                return await uow.webhook_listeners(network_id)

        found = await self._cache.get_or_load(network_id, load)
        return () if found is None else found.get(kind, ())

    def changed(self) -> None:
        self.changes.moved()
        self._cache.clear()


class WebhookEvents:
    """Queues an event for the subscriptions listening to it, in the caller's unit of work."""

    def __init__(self, listeners: Listeners) -> None:
        self.listeners = listeners

    async def listens(self, network_id: int, kind: str) -> bool:
        return bool(await self.listeners.of(network_id, kind))

    async def emit(
        self,
        uow: OutboxWriter,
        network_id: int,
        kind: str,
        event_id: str,
        data: Mapping[str, Any],
        now: datetime,
    ) -> int:
        """Queue the event for each listening subscription; the number queued (0: nobody listens, nothing written)."""
        return await self.emit_many(uow, network_id, kind, [(event_id, data)], now)

    async def emit_many(
        self,
        uow: OutboxWriter,
        network_id: int,
        kind: str,
        events: Sequence[tuple[str, Mapping[str, Any]]],
        now: datetime,
    ) -> int:
        """Events of one kind (id, data), queued in one statement: a batch of purchases writes one more, not many."""
        targets = await self.listeners.of(network_id, kind, uow) if events else ()
        if not targets:
            return 0
        entries: list[OutboxEntry] = []
        for event_id, data in events:
            envelope = {"id": event_id, "kind": kind, "network_id": network_id, "occurred_at": now.isoformat()}
            body = payload_text(envelope | {"data": data})
            entries.extend(OutboxEntry(network_id, Channel.WEBHOOK, kind, event_id, str(t), body) for t in targets)
        await uow.enqueue_outbox(entries, now)
        return len(entries)


@dataclass(frozen=True, slots=True)
class Posted:
    status_code: int | None  # None: no answer (timeout, connection refused)
    error: str | None = None
    refused: bool = False  # not sent, never to be: the URL's host resolves to an address webhooks may not reach


class HttpPoster(Protocol):
    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Posted: ...


@dataclass
class WebhookDeliverer:
    """The outbox's webhook channel: signs and posts one message; counts a subscription's failed messages."""

    unit_of_work: WebhooksUnitOfWorkFactory
    poster: HttpPoster
    clock: Clock
    listeners: Listeners
    mailer: Mailer | None = None
    contacts: Callable[[int], Any] | None = None  # network id -> awaitable list of addresses to tell (fallback)
    failures_before_pause: int = FAILURES_BEFORE_PAUSE
    # subscription id -> (read at, the change counter then, the subscription): a message after another of the same
    # subscription needs no read of it; a change here (pause, rotation) moves the counter and drops it at once
    _read: dict[int, tuple[float, int, Subscription | None]] = field(default_factory=dict)

    async def _subscription(self, subscription_id: int) -> Subscription | None:
        seen, now = self.listeners.changes.value, time.monotonic()
        cached = self._read.get(subscription_id)
        if cached is not None and cached[1] == seen and now - cached[0] < SUBSCRIPTION_READ_TTL_S:
            return cached[2]
        async with self.unit_of_work() as uow:
            subscription = await uow.subscription_by_id(subscription_id)
        self._read[subscription_id] = (now, seen, subscription)
        return subscription

    async def deliver(self, message: ClaimedMessage) -> Attempted | str | None:
        subscription = await self._subscription(int(message.target))
        if subscription is None:
            return "the subscription was deleted"
        if subscription.status is SubscriptionStatus.PAUSED:
            return None  # paused after the claim: handed back, kept for its resume (claims skip it meanwhile)
        now = self.clock.now()
        timestamp = int(now.timestamp())
        body = message.payload.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Coalition-Webhooks/1",
            ID_HEADER: f"msg_{message.id}",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature_header(subscription.secrets_in_use(now), timestamp, body),
            EVENT_HEADER: message.event_kind,
        }
        posted = await self.poster.post(subscription.url, body, headers)
        if posted.refused:
            return Attempted(Outcome.REFUSED, None, posted.error)
        if posted.status_code is None:
            return Attempted(Outcome.RETRY, None, posted.error or "no answer")
        return Attempted(outcome_of(posted.status_code), posted.status_code, posted.error)

    async def settled(self, message: ClaimedMessage, status: Status) -> None:
        subscription_id = int(message.target)
        now = self.clock.now()
        known = self._read.get(subscription_id, (0.0, 0, None))[2]
        if status is Status.DELIVERED and known is not None and not known.consecutive_failures:
            return  # nothing to reset: a round of successes writes nothing more
        self._read.pop(subscription_id, None)  # its count changes: read it again next time
        async with self.unit_of_work() as uow:
            if status is Status.DELIVERED:
                await uow.reset_failures(subscription_id)
                return
            failures = await uow.count_failure(subscription_id, now)
            subscription = await uow.subscription_by_id(subscription_id)
            if (
                subscription is None
                or failures < self.failures_before_pause
                or subscription.status is SubscriptionStatus.PAUSED
            ):
                return
            reason = f"paused after {failures} failed messages in a row"
            paused = replace(subscription, status=SubscriptionStatus.PAUSED, paused_reason=reason, updated_at=now)
            await uow.update_subscription(paused)
            await uow.audit(
                entry(
                    subscription.network_id,
                    "webhook.pause",
                    "webhook",
                    subscription.id,
                    before=subscription.audited(),
                    after=paused.audited(),
                )
            )
        self.listeners.changed()
        await self._tell(paused, failures)

    async def _tell(self, subscription: Subscription, failures: int) -> None:
        if self.mailer is None:
            return
        addresses = [subscription.contact_email] if subscription.contact_email else []
        if not addresses and self.contacts is not None:
            addresses = list(await self.contacts(subscription.network_id))
        text = (
            f"The webhook subscription {subscription.id} ({subscription.url}) was paused: its last {failures} "
            "messages could not be delivered.\n\nNothing more is sent to it until it is resumed: in the console "
            f"(/console/webhooks) or with `coalition webhooks resume {subscription.id}`.\n"
        )
        for address in addresses:
            try:
                await self.mailer.send(OutgoingMail(address, f"Webhook {subscription.id} paused", text))
            except Exception:  # an SMTP outage must not undo the pause
                log.exception("could not tell %s that webhook %s was paused", address, subscription.id)


class WebhookAdmin:
    """The administrator's subscriptions: create, list, show with deliveries, pause, resume, rotate, delete."""

    def __init__(
        self, unit_of_work: WebhooksUnitOfWorkFactory, clock: Clock, listeners: Listeners, *, allow_private: bool
    ) -> None:
        self.unit_of_work = unit_of_work
        self.clock = clock
        self.listeners = listeners
        self.allow_private = allow_private  # Settings.webhooks_allow_private

    async def create(self, network: NetworkRef, new: NewSubscription) -> Subscription:
        url = checked_url(new.url, allow_private=self.allow_private)
        kinds = checked_event_kinds(new.event_kinds)
        description = _optional_text(new.description, "description", MAX_DESCRIPTION_LENGTH)
        contact = _email(new.contact_email)
        now = self.clock.now()
        async with self.unit_of_work() as uow:
            if await uow.count_subscriptions(network.id) >= MAX_SUBSCRIPTIONS:
                raise Conflict(TOO_MANY, field="url")
            record = Subscription(
                0, network.id, url, description, contact, kinds, SubscriptionStatus.ACTIVE, None, 0,
                new_secret(), None, None, now, now,
            )  # fmt: skip
            record = replace(record, id=await uow.insert_subscription(record))
            await uow.audit(entry(network.id, "webhook.create", "webhook", record.id, after=record.audited()))
        self.listeners.changed()
        return record

    async def subscriptions(self, network: NetworkRef) -> list[Subscription]:
        async with self.unit_of_work() as uow:
            return await uow.subscriptions(network.id)

    async def show(self, network: NetworkRef, subscription_id: int) -> tuple[Subscription, list[Delivery]]:
        async with self.unit_of_work() as uow:
            subscription = await _found(uow, network.id, subscription_id)
            return subscription, await uow.deliveries(subscription_id, RECENT_DELIVERIES, None)

    async def deliveries(
        self,
        network: NetworkRef,
        subscription_id: int,
        limit: int = 50,
        before_id: int | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Delivery]:
        """Newest first, older than `before_id`; the messages created (the event queued) at or after `since` and
        before `until`."""
        if not 1 <= limit <= MAX_DELIVERIES_PAGE:
            raise InvalidInput(f"limit is from 1 to {MAX_DELIVERIES_PAGE}", field="limit")
        check_window(since, until)
        async with self.unit_of_work() as uow:
            await _found(uow, network.id, subscription_id)
            return await uow.deliveries(subscription_id, limit, before_id, since=since, until=until)

    async def resend(self, network: NetworkRef, subscription_id: int, message_id: int) -> Delivery:
        """A delivered or failed message queued again: a new series of attempts, the same `Coalition-Webhook-Id`
        (receivers drop what they already processed). A pending or skipped one is refused (409 `message_id`)."""
        now = self.clock.now()
        async with self.unit_of_work() as uow:
            await _found(uow, network.id, subscription_id)
            again = await uow.requeue(subscription_id, message_id, now)
            if again is None:
                known = {d.id: d for d in await uow.deliveries(subscription_id, 1, message_id + 1)}
                if message_id not in known:
                    raise NotFound(NO_MESSAGE, field="message_id")
                raise Conflict(NOT_RESENDABLE, field="message_id")
            await uow.audit(
                entry(network.id, "webhook.resend", "webhook", subscription_id, after={"message_id": message_id})
            )
        return again

    async def pause(self, network: NetworkRef, subscription_id: int) -> Subscription:
        return await self._change(
            network, subscription_id, "webhook.pause", status=SubscriptionStatus.PAUSED, paused_reason="paused by hand"
        )

    async def resume(self, network: NetworkRef, subscription_id: int) -> Subscription:
        """Active again: its messages kept while paused are sent in their order, but those queued more than
        `PAUSED_KEPT` ago are dropped (`skipped`, `PAUSED_TOO_LONG`)."""
        now = self.clock.now()
        async with self.unit_of_work() as uow:
            current = await _found(uow, network.id, subscription_id)
            changed = replace(
                current, updated_at=now, status=SubscriptionStatus.ACTIVE, paused_reason=None, consecutive_failures=0
            )
            if current.status is SubscriptionStatus.PAUSED:
                await uow.drop_pending(subscription_id, now - PAUSED_KEPT, PAUSED_TOO_LONG)
            await uow.update_subscription(changed)
            await uow.audit(
                entry(
                    network.id,
                    "webhook.resume",
                    "webhook",
                    subscription_id,
                    before=current.audited(),
                    after=changed.audited(),
                )
            )
        self.listeners.changed()
        return changed

    async def rotate_secret(self, network: NetworkRef, subscription_id: int) -> Subscription:
        """A new secret; the old one keeps signing beside it for 24 h (a second rotation drops the first old one)."""
        now = self.clock.now()
        async with self.unit_of_work() as uow:
            current = await _found(uow, network.id, subscription_id)
            rotated = replace(
                current,
                secret=new_secret(),
                previous_secret=current.secret,
                previous_secret_until=now + OLD_SECRET_KEPT,
                updated_at=now,
            )
            await uow.update_subscription(rotated)
            await uow.audit(
                entry(network.id, "webhook.rotate_secret", "webhook", subscription_id, after={"rotated_at": now})
            )
        self.listeners.changed()  # the workers here sign with it at once (others within SUBSCRIPTION_READ_TTL_S)
        return rotated

    async def delete(self, network: NetworkRef, subscription_id: int) -> None:
        now = self.clock.now()
        async with self.unit_of_work() as uow:
            current = await _found(uow, network.id, subscription_id)
            await uow.delete_subscription(current, "the subscription was deleted", now)
            await uow.audit(entry(network.id, "webhook.delete", "webhook", subscription_id, before=current.audited()))
        self.listeners.changed()

    async def _change(self, network: NetworkRef, subscription_id: int, action: str, **changes: Any) -> Subscription:
        now = self.clock.now()
        async with self.unit_of_work() as uow:
            current = await _found(uow, network.id, subscription_id)
            changed = replace(current, updated_at=now, **changes)
            await uow.update_subscription(changed)
            await uow.audit(
                entry(network.id, action, "webhook", subscription_id, before=current.audited(), after=changed.audited())
            )
        self.listeners.changed()
        return changed


async def _found(uow: WebhooksUnitOfWork, network_id: int, subscription_id: int) -> Subscription:
    found = await uow.subscription(network_id, subscription_id)
    if found is None:
        raise NotFound(NOT_FOUND, field="subscription_id")
    return found


def _optional_text(value: str | None, name: str, limit: int) -> str | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if len(text) > limit:
        raise InvalidInput(f"the text is longer than {limit} characters", field=name)
    if any(ord(ch) < 0x20 for ch in text):
        raise InvalidInput("the text has control characters", field=name)
    return text


def _email(value: str | None) -> str | None:
    text = _optional_text(value, "contact_email", _EMAIL_MAX)
    if text is None:
        return None
    local, at, domain = text.partition("@")
    if not at or not local or "." not in domain or " " in text:
        raise InvalidInput("not an e-mail address", field="contact_email")
    return text
