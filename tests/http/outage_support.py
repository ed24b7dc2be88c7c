"""A database outage for tests, without touching the machine's shared PostgreSQL server: a TCP proxy (asyncio) in
front of it that a test cuts and restores, and on SQLite the write lock held by another connection."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit, urlunsplit


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to PostgreSQL. `cut()` closes every connection and refuses new ones until
    `restore()`; `break_silently()` drops the server's side only, so the client learns of it when it next writes."""

    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self.upstream_host, self.upstream_port = parts.hostname or "127.0.0.1", parts.port or 5432
        self._upstream_url = parts
        self.down = False
        self.silent = False  # while down: accept connections and never answer (a network that drops packets)
        self._held: list[asyncio.StreamWriter] = []
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        parts = self._upstream_url
        netloc = f"{parts.username}@127.0.0.1:{self.port}" if parts.username else f"127.0.0.1:{self.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    async def __aenter__(self) -> CuttableProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()

    def cut(self) -> None:
        self.down = True
        for client, server in list(self._pairs):
            client.transport.abort()
            server.transport.abort()
        self._pairs.clear()

    def restore(self) -> None:
        self.down = self.silent = False
        for writer in self._held:
            writer.transport.abort()
        self._held.clear()

    def break_silently(self) -> None:
        """The server's side goes (as when PostgreSQL restarted); the client's side stays open until it writes."""
        for _client, server in list(self._pairs):
            server.transport.abort()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down and self.silent:
            self._held.append(writer)
            return
        if self.down:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.upstream_host, self.upstream_port)
        except OSError:
            writer.transport.abort()
            return
        pair = (writer, up_writer)
        self._pairs.add(pair)
        for source, target in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.get_running_loop().create_task(self._pump(source, target, pair))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(
        self,
        source: asyncio.StreamReader,
        target: asyncio.StreamWriter,
        pair: tuple[asyncio.StreamWriter, asyncio.StreamWriter],
    ) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await source.read(65536):
                if target.transport.is_closing():
                    break
                target.write(data)
                await target.drain()
        for writer in pair:
            writer.transport.abort()
        self._pairs.discard(pair)
