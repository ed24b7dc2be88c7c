"""Idempotency of the admin API's writes (issue 17, point 5; docs/api.md "Conventions").

Every POST, PUT, PATCH and DELETE under /v1/admin accepts an optional `Idempotency-Key`. Its records are scoped by
the key that sent the request (the SHA-256 of the admin key or operator token) and kept with its network:

- the first request claims the key (a row without an answer yet) before it runs; a concurrent duplicate collides
  on the UNIQUE (scope, key) constraint, waits up to `WAIT_FOR_FIRST` for the first one's answer and replays it, or
  is a 409 naming `Idempotency-Key` if the first is still running then;
- a success (2xx) is stored with its status and body, and the same key with the same request replays it (header
  `Idempotent-Replayed: true`); the same key with another request is a 422 naming `Idempotency-Key`, as at the till;
- a refused request (any other status, or an error) releases the key, so a retry is evaluated afresh;
- a claim left by a process that died mid-request is taken over after `ABANDONED_AFTER`;
- records are kept `RETENTION` (24 hours) and deleted by the daily `outbox_cleanup` job;
- the database never holds what would read an answer: a record keeps the SHA-256 of the Idempotency-Key, and the
  answer sealed under a key derived from the raw Idempotency-Key (application/replay_sealing.py), so the secrets an
  admin creation shows once (new terminal, admin and device keys, webhook secrets) cannot be read from a backup or
  a replica; an answer that does not open is a 409 naming `Idempotency-Key`, never a 500.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from coalition.application.ports import Clock
from coalition.application.replay_sealing import UnreadableAnswer, idempotency_key_digest, open_sealed, seal
from coalition.domain.errors import Conflict, IdempotencyKeyReused

RETENTION = timedelta(hours=24)
ABANDONED_AFTER = timedelta(minutes=10)
WAIT_FOR_FIRST = 5.0  # seconds a concurrent duplicate waits for the first request's answer
POLL_EVERY = 0.05
CLEANUP_BATCH = 1000


@dataclass(frozen=True, slots=True)
class StoredAdminAnswer:
    request_hash: str
    status_code: int | None  # None: the first request is still running
    response: str | None  # the stored answer, sealed (adapters/http/conventions.py writes and reads it opened)
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Claimed:
    """The key is this request's: run it, then `complete` or `release`. `key` is the raw Idempotency-Key (kept in
    memory only, to seal the answer), `key_digest` what the record holds of it."""

    scope: str
    key: str = field(repr=False)
    request_hash: str

    @property
    def key_digest(self) -> str:
        return idempotency_key_digest(self.key)


@dataclass(frozen=True, slots=True)
class Replay:
    status_code: int
    response: str


class AdminIdempotencyStore(Protocol):
    """Records by (scope, key_digest): the SHA-256 of the Idempotency-Key, never the key itself."""

    async def claim(
        self, network_id: int | None, scope: str, key_digest: str, request_hash: str, now: datetime
    ) -> bool:
        """Insert the claim; False when (scope, key_digest) is already there (the UNIQUE constraint)."""
        ...

    async def read(self, scope: str, key_digest: str) -> StoredAdminAnswer | None: ...

    async def complete(self, scope: str, key_digest: str, status_code: int, response: str) -> None: ...

    async def release(self, scope: str, key_digest: str) -> None: ...

    async def take_over(
        self, scope: str, key_digest: str, abandoned_before: datetime, request_hash: str, now: datetime
    ) -> bool:
        """Re-date a claim without an answer created before `abandoned_before` as this request's; whether it did."""
        ...

    async def delete_older_than(self, network_id: int, before: datetime, limit: int) -> int:
        """At most `limit` records of the network (and of no network) created before `before`; how many."""
        ...


class AdminIdempotency:
    def __init__(self, store: AdminIdempotencyStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def begin(self, network_id: int | None, scope: str, key: str, request_hash: str) -> Claimed | Replay:
        """The key claimed for this request, or the first request's answer to replay (opened)."""
        claimed = Claimed(scope, key, request_hash)
        digest = claimed.key_digest
        waited = 0.0
        while True:
            now = self.clock.now()
            if await self.store.claim(network_id, scope, digest, request_hash, now):
                return claimed
            stored = await self.store.read(scope, digest)
            if stored is None:  # released meanwhile: try to claim again
                continue
            if stored.request_hash != request_hash:
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was already used with a different request", field="Idempotency-Key"
                )
            if stored.status_code is not None and stored.response is not None:
                return Replay(stored.status_code, _opened(stored.response, claimed))
            if stored.created_at < now - ABANDONED_AFTER and await self.store.take_over(
                scope, digest, now - ABANDONED_AFTER, request_hash, now
            ):
                return claimed
            if waited >= WAIT_FOR_FIRST:
                raise Conflict(
                    "a request with this Idempotency-Key is still running; retry it in a few seconds",
                    field="Idempotency-Key",
                )
            await asyncio.sleep(POLL_EVERY)
            waited += POLL_EVERY

    async def complete(self, claimed: Claimed, status_code: int, response: str) -> None:
        """The answer stored sealed: every answer, so no route has to say whether its answer holds a secret."""
        sealed = seal(response, idempotency_key=claimed.key, scope=claimed.scope, request_hash=claimed.request_hash)
        await self.store.complete(claimed.scope, claimed.key_digest, status_code, sealed)

    async def release(self, claimed: Claimed) -> None:
        await self.store.release(claimed.scope, claimed.key_digest)

    async def clean(self, network_id: int) -> int:
        """The network's records past the retention deleted, a batch per transaction (the outbox_cleanup job)."""
        before = self.clock.now() - RETENTION
        deleted = 0
        while True:
            count = await self.store.delete_older_than(network_id, before, CLEANUP_BATCH)
            deleted += count
            if count < CLEANUP_BATCH:
                return deleted


def _opened(response: str, claimed: Claimed) -> str:
    try:
        return open_sealed(
            response, idempotency_key=claimed.key, scope=claimed.scope, request_hash=claimed.request_hash
        )
    except UnreadableAnswer:
        raise Conflict(
            "the answer stored for this Idempotency-Key cannot be read; send the request with a new Idempotency-Key",
            field="Idempotency-Key",
        ) from None
