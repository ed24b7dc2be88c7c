"""Migration 0048 on both engines: the admin replay records already there keep working across the upgrade, but
hold no longer the raw Idempotency-Key nor a readable answer (its SHA-256 and the answer sealed under the key)."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
import pytest
import sqlalchemy as sa

from coalition.adapters.storage import migrate
from coalition.adapters.storage.engine import sync_url
from coalition.application.replay_sealing import idempotency_key_digest, open_sealed

pytestmark = pytest.mark.anyio

CREATED = datetime(2026, 12, 6, 8, 30, tzinfo=UTC)
ANSWER = '{"media_type":"application/json","body":"{\\"key\\":\\"term_live_secret\\"}","etag":null}'


def _insert_before(url: str) -> None:
    engine = sa.create_engine(sync_url(url))
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO admin_idempotency_keys (scope, key, request_hash, status_code, response, created_at) "
                    "VALUES ('scope-a', 'retry-me', 'hash-1', 201, :answer, :at), "
                    "('scope-a', 'running', 'hash-2', NULL, NULL, :at)"
                ),
                {"answer": ANSWER, "at": CREATED},
            )
    finally:
        engine.dispose()


def _rows(url: str) -> list[dict[str, object]]:
    engine = sa.create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            result = connection.execute(sa.text("SELECT * FROM admin_idempotency_keys ORDER BY id"))
            return [dict(row) for row in result.mappings()]
    finally:
        engine.dispose()


async def test_records_are_hashed_and_sealed_in_place_and_dropped_on_the_way_down(settings) -> None:
    url = settings.database_url
    await anyio.to_thread.run_sync(migrate.downgrade, url, "0047")
    await anyio.to_thread.run_sync(_insert_before, url)
    await anyio.to_thread.run_sync(migrate.upgrade, url)
    done, running = await anyio.to_thread.run_sync(_rows, url)
    assert "key" not in done
    assert done["key_hash"] == idempotency_key_digest("retry-me")
    assert "term_live_secret" not in repr(done) and "retry-me" not in repr(done)
    opened = open_sealed(str(done["response"]), idempotency_key="retry-me", scope="scope-a", request_hash="hash-1")
    assert opened == ANSWER
    assert running["key_hash"] == idempotency_key_digest("running") and running["response"] is None

    await anyio.to_thread.run_sync(migrate.downgrade, url, "0047")
    assert await anyio.to_thread.run_sync(_rows, url) == []
    await anyio.to_thread.run_sync(migrate.upgrade, url)
