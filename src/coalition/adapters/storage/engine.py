"""Database URLs and engines: one setting picks SQLite (embedded) or PostgreSQL."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
_SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}


def backend_of(url: str) -> str:
    """'sqlite' or 'postgresql' for any spelling of either URL."""
    name = make_url(url.replace("postgres://", "postgresql://", 1)).get_backend_name()
    if name not in _ASYNC_DRIVERS:
        raise ValueError(f"unsupported database '{name}': use sqlite:///path or postgresql://host/db")
    return name


def _with_driver(url: str, drivers: dict[str, str]) -> str:
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername=drivers[backend_of(url)]).render_as_string(hide_password=False)


def async_url(url: str) -> str:
    return _with_driver(url, _ASYNC_DRIVERS)


def sync_url(url: str) -> str:
    return _with_driver(url, _SYNC_DRIVERS)


# Set in a task that holds a write transaction open across many units of work (sql_store.SqlStore.held): the
# other transactions that task opens (a rule set read through another store) begin deferred, as readers, instead of
# waiting for the write lock the task itself holds (SQLite: one writer at a time).
READS_BESIDE_HELD: ContextVar[bool] = ContextVar("coalition_reads_beside_held", default=False)


def configure_sqlite(sync_engine: Any, busy_timeout_ms: int = 30_000) -> None:
    """Foreign keys on, WAL, and BEGIN IMMEDIATE so a transaction holds the write lock from its first statement.

    SQLite has one writer at a time; taking the lock up front means a read-check-write in one transaction can never
    be overtaken by another writer, which is what row locks give us on PostgreSQL.
    """

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN" if READS_BESIDE_HELD.get() else "BEGIN IMMEDIATE")


def create_engine(url: str, *, pool_size: int = 20, sqlite_busy_timeout_ms: int = 30_000) -> AsyncEngine:
    if backend_of(url) == "sqlite":
        engine = create_async_engine(async_url(url))
        configure_sqlite(engine.sync_engine, sqlite_busy_timeout_ms)
        return engine
    # The admin side pings a pooled connection before use (one cheap round trip), so connections the database dropped
    # (a restart, an outage) are replaced by themselves. The purchase path does not use this engine on PostgreSQL.
    return create_async_engine(async_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
