"""The POS unit of work's idempotency records: a terminal's stored answers by request key."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from coalition.adapters.storage.pos_base import SqlPart
from coalition.application.ports import (
    StoredResponse,
)

RESPONSE_COLUMNS = ("terminal_id", "key", "request_hash", "status_code", "response", "created_at")
_INSERT_RESPONSE = (
    f"INSERT INTO idempotency_keys ({', '.join(RESPONSE_COLUMNS)}) "
    f"VALUES ({', '.join(f'${n}' for n in range(1, len(RESPONSE_COLUMNS) + 1))})"
)


class SqlIdempotency(SqlPart):
    """The `IdempotencyPort` in SQL."""

    async def stored_response(self, terminal_id: int, key: str) -> StoredResponse | None:
        row = await self.db.fetchrow(
            "SELECT request_hash, status_code, response FROM idempotency_keys WHERE terminal_id = $1 AND key = $2",
            terminal_id,
            key,
        )
        if row is None:
            return None
        return StoredResponse(row["request_hash"], row["status_code"], json.loads(row["response"]))

    async def stored_responses(self, terminal_id: int, keys: Sequence[str]) -> dict[str, StoredResponse]:
        found: dict[str, StoredResponse] = {}
        for chunk in self._chunks(keys):
            key_matches, arguments = self.db.any_of("key", 2, chunk)
            rows = await self.db.fetch(
                "SELECT key, request_hash, status_code, response FROM idempotency_keys "
                f"WHERE terminal_id = $1 AND {key_matches}",
                terminal_id,
                *arguments,
            )
            for row in rows:
                text = row["response"]
                found[row["key"]] = StoredResponse(row["request_hash"], row["status_code"], json.loads(text), text)
        return found

    async def store_response(self, terminal_id: int, key: str, response: StoredResponse, now: datetime) -> None:
        body = response.text or json.dumps(response.body, separators=(",", ":"))
        await self.db.execute(
            _INSERT_RESPONSE, terminal_id, key, response.request_hash, response.status_code, body, now
        )
