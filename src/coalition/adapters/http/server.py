"""Run the API under uvicorn; with several workers, each listens on its own SO_REUSEPORT socket.

Uvicorn's own multi-worker mode shares one listening socket, and whichever worker wakes first accepts: with a few
long-lived keep-alive connections (tills, an integration uploading batches) one worker could take them all while
the others idled — measured here, 8 batch connections gave one worker 67 % of a core and the other nothing. With a
socket per worker bound with SO_REUSEPORT, the kernel spreads connections evenly across workers.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import time
from types import FrameType

import uvicorn

APP = "coalition.adapters.http.asgi:app"
RESTART_PAUSE_S = 1.0


def serve(host: str, port: int, workers: int) -> None:
    if workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(APP, host=host, port=port, workers=workers, access_log=False, log_level="info")
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


def _worker(host: str, port: int) -> None:
    sock = _listening_socket(host, port)
    config = uvicorn.Config(APP, access_log=False, log_level="info")
    uvicorn.Server(config).run(sockets=[sock])


class Supervisor:
    """Starts the workers, restarts one that dies, and stops them all on SIGINT or SIGTERM."""

    def __init__(self, host: str, port: int, workers: int) -> None:
        self.host, self.port, self.count = host, port, workers
        self.context = multiprocessing.get_context("spawn")
        self.processes: list[multiprocessing.process.BaseProcess] = []
        self.stopping = False

    def run(self) -> None:
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)
        self.processes = [self._start() for _ in range(self.count)]
        print(f"serving on http://{self.host}:{self.port} with {self.count} workers (SO_REUSEPORT)", flush=True)
        while not self.stopping:
            time.sleep(0.2)
            for index, process in enumerate(self.processes):
                if not process.is_alive() and not self.stopping:
                    print(f"worker {process.pid} exited with {process.exitcode}: restarting it", flush=True)
                    time.sleep(RESTART_PAUSE_S)
                    self.processes[index] = self._start()
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.join(timeout=10)

    def _start(self) -> multiprocessing.process.BaseProcess:
        process = self.context.Process(target=_worker, args=(self.host, self.port), daemon=False)
        process.start()
        return process

    def _stop(self, _signal: int, _frame: FrameType | None) -> None:
        self.stopping = True
