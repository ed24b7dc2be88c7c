"""Run the API under uvicorn; with several workers, each listens on its own SO_REUSEPORT socket.

Uvicorn's own multi-worker mode shares one listening socket, and whichever worker wakes first accepts: with a few
long-lived keep-alive connections (tills, an integration uploading batches) one worker could take them all while
the others idled — measured here, 8 batch connections gave one worker 67 % of a core and the other nothing. With a
socket per worker bound with SO_REUSEPORT, the kernel spreads connections by a hash of their addresses: evenly on
average, but 4 connections often land 3 and 1. So the workers also balance: each publishes how many connections it
holds, and one holding more than its fair share closes a keep-alive connection after its next answer; the client
reconnects and the kernel hashes the new connection afresh (see `ConnectionBalancer`).

The workers also share one number that moves whenever who may act changes (`application.cache.AccessChanges`): a
terminal key revoked or a cashier blocked through any worker is dropped from every worker's cache at once.
"""

from __future__ import annotations

import math
import multiprocessing
import signal
import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping, MutableSequence
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.server import ServerState

APP = "coalition.adapters.http.asgi:app"
RESTART_PAUSE_S = 1.0
COUNT_REFRESH_S = 0.25  # an idle worker's published connection count is at most this old

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def serve(host: str, port: int, workers: int) -> None:
    if workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        # proxy_headers off: uvicorn would believe X-Forwarded-For from 127.0.0.1; the application decides whom to
        # believe (COALITION_TRUSTED_PROXIES, see adapters/web/sessions.py client_address)
        uvicorn.run(APP, host=host, port=port, workers=workers, access_log=False, log_level="info", proxy_headers=False)
        return
    _listening_socket(host, port).close()  # fail here, once, if the port is taken
    Supervisor(host, port, workers).run()


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


class ConnectionBalancer:
    """ASGI middleware: asks a client to reconnect when this worker holds more than its fair share of connections.

    `counts` is shared by all workers (one slot each). The answer that carries `connection: close` is complete; the
    client opens a new connection, which SO_REUSEPORT hashes afresh, so the workers converge to even shares.
    """

    def __init__(self, app: AsgiApp, counts: MutableSequence[int], index: int, state: ServerState) -> None:
        self.app, self.counts, self.index, self.state = app, counts, index, state

    def publish(self) -> int:
        held = len(self.state.connections)
        self.counts[self.index] = held
        return held

    def over_share(self) -> bool:
        held = self.publish()
        return held > 1 and held > math.ceil(sum(self.counts) / len(self.counts))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.over_share():
            await self.app(scope, receive, send)
            return

        async def send_then_close(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (b"connection", b"close")]
            await send(message)

        await self.app(scope, receive, send_then_close)

    def keep_publishing(self) -> None:
        """Keep this worker's count fresh while it answers nothing (its clients may have gone)."""

        def loop() -> None:
            while True:
                time.sleep(COUNT_REFRESH_S)
                self.publish()

        threading.Thread(target=loop, name="connection-count", daemon=True).start()


def uvicorn_config(app: Any, **options: Any) -> uvicorn.Config:
    """How a worker runs the application; X-Forwarded-For is left to the application (see `serve`)."""
    return uvicorn.Config(app, access_log=False, log_level="info", proxy_headers=False, **options)


def _worker(
    host: str, port: int, counts: MutableSequence[int], index: int, access_changes: MutableSequence[int]
) -> None:
    from coalition.application.cache import ACCESS_CHANGES

    ACCESS_CHANGES.share(access_changes)  # before the app builds its services
    from coalition.adapters.http.asgi import app

    sock = _listening_socket(host, port)
    server = uvicorn.Server(uvicorn_config(app))
    balancer = ConnectionBalancer(app, counts, index, server.server_state)
    server.config.app = balancer
    balancer.keep_publishing()
    server.run(sockets=[sock])


class Supervisor:
    """Starts the workers, restarts one that dies, and stops them all on SIGINT or SIGTERM."""

    def __init__(self, host: str, port: int, workers: int) -> None:
        self.host, self.port, self.count = host, port, workers
        self.context = multiprocessing.get_context("spawn")
        self.processes: list[multiprocessing.process.BaseProcess] = []
        self.connection_counts = self.context.RawArray("i", workers)  # one slot per worker, see ConnectionBalancer
        self.access_changes = self.context.RawArray("q", 1)  # see AccessChanges; a restarted worker keeps it
        self.stopping = False

    def run(self) -> None:
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)
        self.processes = [self._start(index) for index in range(self.count)]
        print(f"serving on http://{self.host}:{self.port} with {self.count} workers (SO_REUSEPORT)", flush=True)
        while not self.stopping:
            time.sleep(0.2)
            for index, process in enumerate(self.processes):
                if not process.is_alive() and not self.stopping:
                    print(f"worker {process.pid} exited with {process.exitcode}: restarting it", flush=True)
                    time.sleep(RESTART_PAUSE_S)
                    self.processes[index] = self._start(index)
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.join(timeout=10)

    def _start(self, index: int) -> multiprocessing.process.BaseProcess:
        self.connection_counts[index] = 0
        args = (self.host, self.port, self.connection_counts, index, self.access_changes)
        process = self.context.Process(target=_worker, args=args, daemon=False)
        process.start()
        return process

    def _stop(self, _signal: int, _frame: FrameType | None) -> None:
        self.stopping = True
