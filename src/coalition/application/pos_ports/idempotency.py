"""Idempotency: a terminal's answer stored under its request's key, so a retry replays it instead of acting twice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from coalition.domain.records import fast_init


@fast_init
@dataclass(frozen=True, slots=True)
class StoredResponse:
    request_hash: str
    status_code: int
    body: dict[str, Any]
    # the body as stored JSON, when it is already written (a batch encodes each once); not part of what it is
    text: str | None = field(default=None, compare=False)


@fast_init
@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    terminal_id: int
    key: str
    response: StoredResponse


class IdempotencyPort(Protocol):
    async def stored_response(self, terminal_id: int, key: str) -> StoredResponse | None: ...
    async def stored_responses(self, terminal_id: int, keys: Sequence[str]) -> dict[str, StoredResponse]: ...
    async def store_response(self, terminal_id: int, key: str, response: StoredResponse, now: datetime) -> None:
        """Raises DuplicateKey('idempotency') when the terminal stored an answer under this key already."""
        ...
