"""A real HTTP endpoint for the webhook tests: `http.server` in a thread of the test process, on a free port.

It records every request (headers and raw body) and answers each with the next status of `answers` (then 200).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    answers: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    delay_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def delivered_ids(self) -> list[str]:
        """The Coalition-Webhook-Id of each request answered 2xx."""
        return [r.headers["Coalition-Webhook-Id"] for r in self.requests if r.headers.get("X-Answered") == "2xx"]


@contextmanager
def receiver(answers: list[int] | None = None) -> Iterator[Receiver]:
    state = Receiver(url="", answers=list(answers or []))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                status = state.answers.pop(0) if state.answers else 200
                headers = dict(self.headers.items())
                headers["X-Answered"] = "2xx" if 200 <= status < 300 else str(status)
                state.requests.append(Received(self.path, headers, body))
            if state.delay_s:
                threading.Event().wait(state.delay_s)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:  # quiet in the test output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
