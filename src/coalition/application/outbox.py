"""The outbox (issue 16): messages queued in the transaction of their event, delivered by workers with retries.

`enqueue` runs inside the caller's unit of work (any unit of work offering `OutboxWriter`), so a message exists
exactly when its event committed. `OutboxService.run_once` claims due messages with a lease (several workers in
several processes share the work through the database, never through memory), tries each once through its channel's
`Deliverer`, and records the attempt and the outcome before anything else; a claim abandoned by a killed worker
ends with its lease and another worker takes the message over.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from coalition.application.ports import Clock
from coalition.application.pos_ports.outbox import OutboxEntry, OutboxWriter
from coalition.domain.outbox import (
    LEASE_SECONDS,
    MAX_PAYLOAD_BYTES,
    AfterAttempt,
    Channel,
    Outcome,
    Status,
    after_attempt,
    bounded,
)

log = logging.getLogger(__name__)
__all__ = ["OutboxEntry", "OutboxService", "OutboxWriter"]
CLAIM_BATCH = 50
SEND_BUDGET_SECONDS = 25.0  # one send's longest (the poster's timeout, 10 s), with room to record the round


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    id: int
    network_id: int
    channel: str
    event_kind: str
    event_id: str
    target: str
    payload: str
    attempts: int  # made before this claim
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Attempted:
    """What one try gave: the outcome, the receiver's status code when it answered, and the error (bounded)."""

    outcome: Outcome
    response_status: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Deferred:
    """Not tried now, and no attempt counted: due again at `until` (a customer message in quiet hours or over its
    cap), with the reason kept on the message."""

    until: datetime
    reason: str


# channels whose successes are recorded one by one as they happen (customer messages: a crash between sending and
# recording repeats at most the one message in flight), not gathered per round like webhooks
SETTLED_AT_ONCE = frozenset({Channel.EMAIL.value, Channel.SMS.value})


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    message_id: int
    attempt: int
    worker: str
    started_at: datetime
    finished_at: datetime
    outcome: Outcome
    response_status: int | None
    error: str | None


class OutboxStore(Protocol):
    async def claim(self, worker: str, now: datetime, lease_until: datetime, limit: int) -> list[ClaimedMessage]:
        """Due pending messages whose lease is free or over, leased to `worker` until `lease_until` (atomic: two
        workers never hold the same message)."""
        ...

    async def settle(self, record: AttemptRecord, after: AfterAttempt, last_error: str | None) -> bool:
        """The attempt and the message's new state, in one transaction, only while `worker` still holds the lease;
        False when it lost it (another worker took the message over: it records its own attempt)."""
        ...

    async def settle_delivered(self, records: list[AttemptRecord]) -> list[int]:
        """A round's successes (one worker's), in one transaction: the ids still leased to that worker and so
        recorded; the others were taken over after their lease."""
        ...

    async def skip(self, message_id: int, worker: str, reason: str, now: datetime) -> None: ...

    async def release(self, message_ids: list[int], worker: str) -> None:
        """End `worker`'s lease on these messages, untried: any worker may claim them at once."""
        ...

    async def defer(self, message_id: int, worker: str, until: datetime, reason: str) -> None:
        """End `worker`'s lease, untried and no attempt counted: due again at `until`, `reason` kept."""
        ...


class Deliverer(Protocol):
    """One channel's transport: webhooks (application/webhooks.py), e-mail and SMS (application/message_delivery.py)."""

    async def deliver(self, message: ClaimedMessage) -> Attempted | str | Deferred | None:
        """Try it once: the attempt, a reason to skip it without trying (e.g. its subscription is gone), a later
        moment to try it (Deferred), or None to hand it back untried (its subscription was paused after the claim:
        it waits for the resume)."""
        ...

    async def settled(self, message: ClaimedMessage, status: Status) -> None:
        """Told once a message is delivered or failed for good (a subscription counts its failures)."""
        ...


def payload_text(payload: Mapping[str, Any]) -> str:
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"an event's payload is larger than {MAX_PAYLOAD_BYTES} bytes")
    return text


def new_worker_name() -> str:
    return f"worker-{uuid.uuid4().hex[:12]}"


class OutboxService:
    def __init__(
        self,
        store: OutboxStore,
        clock: Clock,
        deliverers: Mapping[str, Deliverer],
        lease_seconds: int = LEASE_SECONDS,
        send_budget_seconds: float = SEND_BUDGET_SECONDS,
    ) -> None:
        self.store = store
        self.clock = clock
        self.deliverers = dict(deliverers)
        self.lease_seconds = lease_seconds
        self.send_budget_seconds = send_budget_seconds

    async def claim(self, worker: str, limit: int = CLAIM_BATCH) -> list[ClaimedMessage]:
        now = self.clock.now()
        return await self.store.claim(worker, now, now + timedelta(seconds=self.lease_seconds), limit)

    async def run_once(self, worker: str, limit: int = CLAIM_BATCH) -> int:
        """Claim due messages and try each once; the number claimed (0: nothing is due). Targets are served at the
        same time, each target's messages one after another in their order (a slow receiver delays only its own)."""
        claimed_at = self.clock.now()
        messages = await self.claim(worker, limit)
        # a message is sent only while its lease outlasts a send: otherwise another worker could take it over and
        # send it too (a slow target's queue is handed back, untried, when its lease runs short)
        last_start = claimed_at + timedelta(seconds=self.lease_seconds - self.send_budget_seconds)
        by_target: dict[tuple[str, str], list[ClaimedMessage]] = {}
        by_channel: dict[str, list[ClaimedMessage]] = {}
        for message in messages:
            by_target.setdefault((message.channel, message.target), []).append(message)
            by_channel.setdefault(message.channel, []).append(message)
        for channel, of_channel in by_channel.items():
            prepare = getattr(self.deliverers.get(channel), "prepare", None)
            if prepare is not None:  # a deliverer that reads what its messages need at once (customer messages)
                try:
                    await prepare(of_channel)
                except Exception:  # each message then reads its own
                    log.exception("outbox: preparing the %s messages of a round failed", channel)

        delivered: list[tuple[ClaimedMessage, AttemptRecord]] = []

        async def in_turn(queue: list[ClaimedMessage]) -> None:
            for index, message in enumerate(queue):
                if self.clock.now() > last_start:
                    await self.store.release([m.id for m in queue[index:]], worker)
                    return
                await self.deliver(worker, message, None if message.channel in SETTLED_AT_ONCE else delivered)

        await asyncio.gather(*(in_turn(queue) for queue in by_target.values()))
        if delivered:  # recorded before anything else is done with them, in one commit, still under their lease
            kept = set(await self.store.settle_delivered([record for _, record in delivered]))
            for message, _ in delivered:
                if message.id in kept:
                    await self._settled(message, Status.DELIVERED)
        return len(messages)

    async def _settled(self, message: ClaimedMessage, status: Status) -> None:
        deliverer = self.deliverers.get(message.channel)
        if deliverer is not None:
            await deliverer.settled(message, status)

    async def deliver(
        self,
        worker: str,
        message: ClaimedMessage,
        delivered: list[tuple[ClaimedMessage, AttemptRecord]] | None = None,
    ) -> None:
        """Try one message; a failure is recorded at once (it may pause its target before its next message), a
        success at once too, or with the round's other successes when `delivered` gathers them."""
        deliverer = self.deliverers.get(message.channel)
        if deliverer is None:
            await self.store.skip(message.id, worker, f"no deliverer for channel {message.channel}", self.clock.now())
            return
        started_at = self.clock.now()
        try:
            result = await deliverer.deliver(message)
        except Exception as raised:  # a bug in a transport must not stop the loop: retried like an outage
            log.exception("outbox message %s: delivery raised", message.id)
            result = Attempted(Outcome.RETRY, error=f"{type(raised).__name__}: {raised}")
        finished_at = self.clock.now()
        if result is None:
            await self.store.release([message.id], worker)
            return
        if isinstance(result, str):
            await self.store.skip(message.id, worker, result, finished_at)
            return
        if isinstance(result, Deferred):
            await self.store.defer(message.id, worker, result.until, result.reason)
            return
        attempt = message.attempts + 1
        after = after_attempt(result.outcome, attempt, finished_at)
        error = bounded(result.error)
        record = AttemptRecord(
            message.id, attempt, worker, started_at, finished_at, result.outcome, result.response_status, error
        )
        if after.status is Status.DELIVERED and delivered is not None:
            delivered.append((message, record))
            return
        kept = await self.store.settle(record, after, error or _status_error(result.response_status))
        if kept and after.status in (Status.DELIVERED, Status.FAILED):
            await deliverer.settled(message, after.status)


def _status_error(status: int | None) -> str | None:
    return None if status is None or 200 <= status < 300 else f"HTTP {status}"
