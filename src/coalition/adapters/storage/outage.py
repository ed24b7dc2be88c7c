"""Which errors mean the database is out of reach (down, restarting, unreachable, locked past the busy timeout, out
of connections) rather than a fault of the request or of our code: those are answered 503 with Retry-After."""

from __future__ import annotations

import errno
import sqlite3

import asyncpg
from sqlalchemy import exc as sa_exc

# the exception classes an outage can surface as, for the HTTP layer's handlers (each checked by `unavailable`)
OUTAGE_ERROR_KINDS: tuple[type[Exception], ...] = (
    sa_exc.DBAPIError,
    sa_exc.TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    sqlite3.Error,
    OSError,
)

# the connection is gone: no statement sent on it from now on reaches the server
CONNECTION_LOST: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08, and "connection was closed in the middle of operation"
    asyncpg.AdminShutdownError,  # 57P01: terminated (pg_terminate_backend, a fast shutdown)
    asyncpg.CrashShutdownError,
    ConnectionError,
)
_POSTGRES_UNAVAILABLE = (
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,  # shutting down, starting up, a cancelled statement
    asyncpg.InsufficientResourcesError,  # too many connections, disk full, out of memory
)
_SQLITE_UNAVAILABLE = (
    "database is locked",
    "database table is locked",
    "unable to open database",
    "disk i/o error",
    "database or disk is full",
    "readonly database",
)
_NETWORK_ERRNOS = {errno.ECONNREFUSED, errno.ECONNRESET, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT}


def unavailable(error: BaseException) -> bool:
    """True when the error, or one it wraps, says the database cannot be reached right now."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _says_unavailable(current):
            return True
        wrapped = getattr(current, "orig", None)
        current = wrapped if isinstance(wrapped, BaseException) else current.__cause__
    return False


def _says_unavailable(error: BaseException) -> bool:
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(error, (*_POSTGRES_UNAVAILABLE, ConnectionError, TimeoutError)):
        return True
    if isinstance(error, asyncpg.InterfaceError):
        return "closed" in str(error)  # "connection is closed"; other interface errors are our faults
    if isinstance(error, sqlite3.OperationalError):
        return str(error).lower().startswith(_SQLITE_UNAVAILABLE)
    if isinstance(error, OSError):
        # asyncio names every address it tried when none answered ("Multiple exceptions: [Errno 111] ...")
        return error.errno in _NETWORK_ERRNOS or "Connect call failed" in str(error)
    return False
