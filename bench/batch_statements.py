"""Where PostgreSQL's CPU goes on the batch path, statement by statement: `bench.cpu batch` with each statement the
purchase pool sends timed by the CPU its backend used meanwhile (/proc/<pid>/schedstat, nanoseconds).

    PYTHONPATH=src:. .venv/bin/python -m bench.batch_statements --database-url postgresql://...  --batches 10

COPY into each table is one line (its statement-level reference check included), each UPDATE one line, each read
one line by the start of its text; COMMIT holds the deferred sum-to-zero checks. The backend must be on this host
(a Unix socket or 127.0.0.1). Compare lines of runs alternated on the same database, as with bench.cpu.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from bench.cpu import BENCH_DB, MEMBERS, batch

spent: Counter[str] = Counter()
calls: Counter[str] = Counter()


def _backend_ns(connection: Any) -> int:
    with open(f"/proc/{connection.get_server_pid()}/schedstat") as stat:
        return int(stat.read().split()[0])


def _timed(name: Callable[[tuple[Any, ...]], str], run: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def timed(db: Any, *args: Any, **kwargs: Any) -> Any:
        started = _backend_ns(db.connection)
        try:
            return await run(db, *args, **kwargs)
        finally:
            key = name(args)
            spent[key] += _backend_ns(db.connection) - started
            calls[key] += 1

    return timed


def _instrument() -> None:
    from asyncpg.transaction import Transaction

    from coalition.adapters.storage.driver import AsyncpgDb

    def text(kind: str) -> Callable[[tuple[Any, ...]], str]:
        return lambda args: f"{kind} {' '.join(str(args[0]).split())[:70]}"

    for method, name in (
        ("insert_many", lambda args: f"COPY {args[0]}"),
        ("update_many", lambda args: f"UPDATE {args[0]}"),
        ("execute", text("execute")),
        ("fetch", text("fetch")),
        ("fetchrow", text("fetchrow")),
        ("fetchval", text("fetchval")),
    ):
        setattr(AsyncpgDb, method, _timed(name, getattr(AsyncpgDb, method)))
    commit = Transaction.commit

    async def timed_commit(transaction: Any) -> None:
        connection = transaction._connection
        started = _backend_ns(connection)
        await commit(transaction)
        spent["COMMIT (the deferred checks)"] += _backend_ns(connection) - started
        calls["COMMIT (the deferred checks)"] += 1

    Transaction.commit = timed_commit  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("COALITION_BENCH_DB", BENCH_DB))
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--members", type=int, default=MEMBERS)
    args = parser.parse_args()
    _instrument()
    print(asyncio.run(batch(args.database_url, args.batches, args.batch_size, args.members)))
    purchases = (args.batches + 1) * args.batch_size  # the warm-up batch included, as the counters hold it
    print(f"PostgreSQL backend CPU by statement, µs per purchase ({purchases:,} purchases, the warm-up included):")
    for key, nanoseconds in spent.most_common():
        print(f"{nanoseconds / 1000 / purchases:8.2f}  ×{calls[key]:<4} {key}")
    print(f"{sum(spent.values()) / 1000 / purchases:8.2f}  in all")


if __name__ == "__main__":
    main()
