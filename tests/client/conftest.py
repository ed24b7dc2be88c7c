"""A real `coalition serve` with the demo network loaded, on SQLite and PostgreSQL, for the client's end-to-end
tests, and a small proxy in front of it that can lose answers, refuse with 503/429 or drop the connection."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Demo:
    url: str
    admin_key: str
    till_key: str  # the Corner Shop's till
    arcade_key: str
    arcade_id: int
    info: dict[str, Any]


@pytest.fixture()
def demo(database_url: str, tmp_path: Path) -> Iterator[Demo]:
    loaded = subprocess.run(
        [VENV_BIN / "coalition", "demo", "--json", "--database-url", database_url],
        check=True,
        capture_output=True,
        text=True,
    )
    info = json.loads(loaded.stdout)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [VENV_BIN / "coalition", "serve", "--database-url", database_url, "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180  # a loaded CI host can take long to import and migrate (76 s seen at load 17)
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise AssertionError(f"the server did not start: {(tmp_path / 'serve.log').read_text()}")
            time.sleep(0.1)
        arcade = next(device for device in info["devices"] if device["kind"] == "arcade")
        till = next(terminal for terminal in info["terminals"] if terminal["partner"] == "Corner Shop")
        devices = httpx.get(f"{base}/v1/admin/devices", headers={"Authorization": f"Bearer {info['admin_key']}"})
        arcade_id = next(d["id"] for d in devices.json()["devices"] if d["name"] == arcade["device"])
        yield Demo(base, info["admin_key"], till["key"], arcade["key"], arcade_id, info)
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


@dataclass
class Proxy:
    """Forwards to the server; `plan[(method, path)]` lists what to do with the next calls there instead:
    "lose" (forward, then answer 503 as if the answer was lost), "503", "429" or "drop" (forward, then hang up)."""

    upstream: str
    plan: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)  # method, path, Idempotency-Key
    url: str = ""


@pytest.fixture()
def proxy(demo: Demo) -> Iterator[Proxy]:
    state = Proxy(demo.url)
    upstream = httpx.Client(base_url=demo.url, timeout=30)

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?")[0]
            state.seen.append((self.command, path, self.headers.get("Idempotency-Key")))
            queue = state.plan.get((self.command, path), [])
            action = queue.pop(0) if queue else "forward"
            if action in ("503", "429"):
                self._answer(int(action), b'{"title": "try later"}', {"Retry-After": "1" if action == "429" else "0"})
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            answer = upstream.request(self.command, self.path, headers=headers, content=body)
            if action == "lose":
                self._answer(503, b'{"title": "lost"}', {"Retry-After": "0"})
            elif action == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            else:
                hop = ("content-length", "transfer-encoding", "connection", "content-encoding", "date", "server")
                kept = {name: value for name, value in answer.headers.items() if name.lower() not in hop}
                self._answer(answer.status_code, answer.content, kept)

        def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            typed = any(name.lower() == "content-type" for name in headers)
            defaults = {} if typed else {"Content-Type": "application/problem+json"}
            for name, value in (defaults | headers).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        upstream.close()
