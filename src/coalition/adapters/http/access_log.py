"""The server's access log (issue 18, docs/operations.md): one JSON line per request, as pure ASGI middleware.

A line: the time the answer ended (ISO-8601, UTC), the client's address, method, path with its query string's keys
(the values of token-, key- and password-like keys masked), status, bytes of body sent, duration in milliseconds,
the X-Request-ID header if any, and the User-Agent. Never a header such as Authorization, never a body. Control
characters in the path and user agent are escaped (JSON escapes C0; DEL, C1 and the line separators are escaped
here), so a request cannot forge a line.

Where it goes (COALITION_ACCESS_LOG, `coalition serve --access-log`): `stderr` (the default from the environment),
`-` for stdout, `off`, or a file's path, appended to. Each line is one `os.write` on a descriptor opened with
O_APPEND, so the workers of `coalition serve --workers N` can share a file without interleaving lines.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from urllib.parse import unquote_plus

import orjson

from coalition.adapters.http.security_headers import AsgiApp, Message, Receive, Scope, Send

OFF = "off"
STDERR = "stderr"
STDOUT = "-"
MASK = "***"
# a query key holding any of these (case aside) has its value masked
SECRET_WORDS = ("token", "key", "password", "passwd", "secret", "pin", "code", "auth", "session", "signature", "otp")
_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029]")  # what JSON leaves as it is but a terminal or a reader may act on
_MAX_FIELD = 2048  # a path or user agent longer than this is cut (a line stays a line, and cheap)


def open_sink(where: str) -> int | None:
    """The descriptor the log goes to, or None when it is off."""
    where = where.strip()
    if where.lower() == OFF:
        return None
    if where in ("", STDERR):
        return sys.stderr.fileno()
    if where == STDOUT:
        return sys.stdout.fileno()
    return os.open(where, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)


def masked_query(query: bytes) -> str:
    """The query string with its keys kept and the values of secret-like keys replaced by ***."""
    parts = []
    for part in query.decode("latin-1").split("&"):
        key, sep, _value = part.partition("=")
        name = unquote_plus(key).lower()
        if sep and any(word in name for word in SECRET_WORDS):
            parts.append(f"{key}={MASK}")
        else:
            parts.append(part)
    return "&".join(parts)


def _escaped(text: str) -> str:
    if len(text) > _MAX_FIELD:
        text = text[:_MAX_FIELD] + "…"
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class AccessLog:
    """Outermost middleware. `where` is asked once, at the first request (the settings live in the services that
    the lifespan builds, after the middleware stack)."""

    def __init__(self, app: AsgiApp, where: Callable[[], str]) -> None:
        self.app = app
        self.where = where
        self.fd: int | None = None
        self.resolved = False

    def _resolve(self) -> int | None:
        self.fd = open_sink(self.where())
        self.resolved = True
        return self.fd

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fd = self.fd if self.resolved else self._resolve()
        if fd is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        sent = 0

        async def counting_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            self._write(fd, scope, status or 500, sent, time.perf_counter() - started)

    @staticmethod
    def _write(fd: int, scope: Scope, status: int, sent: int, seconds: float) -> None:
        request_id = user_agent = None
        for name, value in scope.get("headers", ()):
            if name == b"user-agent":
                user_agent = _escaped(value.decode("latin-1"))
            elif name == b"x-request-id":
                request_id = _escaped(value.decode("latin-1"))
        path = scope["path"]
        query = scope.get("query_string", b"")
        if query:
            path = f"{path}?{masked_query(query)}"
        client = scope.get("client")
        line = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "client": client[0] if client else None,
            "method": scope["method"],
            "path": _escaped(path),
            "status": status,
            "bytes": sent,
            "ms": round(seconds * 1000, 2),
            "request_id": request_id,
            "user_agent": user_agent,
        }
        with suppress(OSError):  # a full disk or a closed pipe must not fail the request
            os.write(fd, orjson.dumps(line) + b"\n")
