"""The offline till's queue: a local SQLite file holding the sales and refunds the server has not recorded yet.

The file is the truth. An item is written (and synced) before `sell`/`refund` return, and removed only after the
server answered it; a till that crashes mid-upload sends the same items again with the same keys, and the server
replays them instead of recording them twice. Items the server refused stay, with its reason, for a person to look
at (`requeue` or `discard`); they are not sent again by themselves.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

Json = dict[str, Any]
Kind = Literal["purchase", "refund"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('purchase', 'refund')),
    idempotency_key TEXT NOT NULL UNIQUE,
    receipt TEXT,
    occurred_at TEXT NOT NULL,
    body TEXT NOT NULL,
    problem TEXT,
    queued_at TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class Queued:
    """A sale or refund kept to upload later: what `sell` and `refund` answer when the server is out of reach."""

    seq: int  # the queue's order: items are uploaded in it
    kind: Kind
    idempotency_key: str
    occurred_at: datetime  # the till's time of the sale or refund, with its offset
    body: Json  # the batch item's JSON, without its key
    receipt: str | None = None  # a sale's receipt number
    problem: Json | None = None  # the server's problem+json when it refused the item on upload

    def item(self) -> Json:
        """The item as a batch carries it."""
        return {**self.body, "idempotency_key": self.idempotency_key}


class OfflineQueue:
    """The SQLite file of one till. Safe to share between the threads of one process."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a sale is on disk before the till says it is kept
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def add(self, kind: Kind, key: str, occurred_at: datetime, body: Json, receipt: str | None = None) -> Queued:
        if occurred_at.utcoffset() is None:
            raise ValueError("occurred_at needs its offset (a till's local time without one is nobody's time)")
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO queue (kind, idempotency_key, receipt, occurred_at, body, queued_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (kind, key, receipt, occurred_at.isoformat(), json.dumps(body), datetime.now(UTC).isoformat()),
            )
            seq = cursor.lastrowid
        assert seq is not None
        return Queued(seq, kind, key, occurred_at, body, receipt)

    def pending(self) -> list[Queued]:
        """What waits to be uploaded, in order (refused items are not)."""
        return self._select("WHERE problem IS NULL")

    def refused(self) -> list[Queued]:
        """What the server refused, with its reason."""
        return self._select("WHERE problem IS NOT NULL")

    def holds_purchase(self, *, key: str | None = None, receipt: str | None = None) -> bool:
        """Whether a sale with this key (or receipt) waits in the queue: a refund of it must wait behind it."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM queue WHERE kind = 'purchase' AND problem IS NULL "
                "AND (idempotency_key = ? OR receipt = ?) LIMIT 1",
                (key, receipt),
            ).fetchone()
        return row is not None

    def settle(self, done: Sequence[str], refused: Sequence[tuple[str, Json]]) -> None:
        """After the server's answer: the items it recorded (or replayed) leave; those it refused keep its reason."""
        with self._transaction() as db:
            db.executemany("DELETE FROM queue WHERE idempotency_key = ?", [(key,) for key in done])
            db.executemany(
                "UPDATE queue SET problem = ? WHERE idempotency_key = ?",
                [(json.dumps(problem), key) for key, problem in refused],
            )

    def requeue(self, key: str) -> None:
        """A refused item goes back to waiting (after its cause was fixed, e.g. the member was enrolled)."""
        with self._transaction() as db:
            db.execute("UPDATE queue SET problem = NULL WHERE idempotency_key = ?", (key,))

    def discard(self, key: str) -> None:
        """An item leaves the queue without being uploaded (a person decided it)."""
        with self._transaction() as db:
            db.execute("DELETE FROM queue WHERE idempotency_key = ?", (key,))

    def _select(self, where: str) -> list[Queued]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, kind, idempotency_key, occurred_at, body, receipt, problem FROM queue "
                f"{where} ORDER BY seq"
            ).fetchall()
        return [
            Queued(
                seq,
                kind,
                key,
                datetime.fromisoformat(occurred_at),
                json.loads(body),
                receipt,
                None if problem is None else json.loads(problem),
            )
            for seq, kind, key, occurred_at, body, receipt, problem in rows
        ]


MAX_ITEMS_PER_BATCH = 500  # under the server's 1000 per batch, and its body limits


def runs(items: Sequence[Queued]) -> list[list[Queued]]:
    """The queue cut into batches that keep its order: consecutive items of one kind, at most 500 a batch."""
    found: list[list[Queued]] = []
    for item in items:
        if found and found[-1][0].kind == item.kind and len(found[-1]) < MAX_ITEMS_PER_BATCH:
            found[-1].append(item)
        else:
            found.append([item])
    return found
