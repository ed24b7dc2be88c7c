"""Body caps and the key check before the body, over a real socket to uvicorn (issue 12, hole 12): a client that
announces or streams 100 MB gets its 401 or 413 after sending a small part of it."""

from __future__ import annotations

import contextlib
import socket
import time
from urllib.parse import urlsplit

from tests.web.conftest import LiveServer

HUNDRED_MB = 100 * 1024 * 1024
CHUNK = b"x" * (64 * 1024)


def _send_until_answered(url: str, head: bytes, chunked: bool) -> tuple[bytes, int]:
    """Sends `head`, then body bytes until the server answers (or 100 MB went); the answer and the bytes sent."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as connection:
        connection.sendall(head)
        connection.setblocking(False)
        sent_bytes, answer = 0, b""
        deadline = time.monotonic() + 60
        while sent_bytes < HUNDRED_MB and time.monotonic() < deadline:
            with contextlib.suppress(BlockingIOError):
                answer += connection.recv(65536)
            if b"\r\n\r\n" in answer:
                break
            piece = (b"%x\r\n" % len(CHUNK) + CHUNK + b"\r\n") if chunked else CHUNK
            try:
                sent_bytes += connection.send(piece)
            except BlockingIOError:
                time.sleep(0.01)
            except (BrokenPipeError, ConnectionResetError):
                break
        connection.setblocking(True)
        try:
            while b"\r\n\r\n" not in answer:
                more = connection.recv(65536)
                if not more:
                    break
                answer += more
        except (ConnectionResetError, TimeoutError):
            pass
    return answer, sent_bytes


def _head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_100_mb_body_without_a_key_is_refused_before_it_is_read(live_server: LiveServer) -> None:
    for chunked in (False, True):
        framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(HUNDRED_MB)}
        answer, sent_bytes = _send_until_answered(live_server.url, _head("/v1/purchases", framing), chunked)
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
        assert sent_bytes < 16 * 1024 * 1024, sent_bytes  # what the sockets' buffers held, not the 100 MB


def test_a_100_mb_body_with_a_valid_key_is_413_while_it_streams(live_server: LiveServer) -> None:
    key = {"Authorization": "Bearer term_demo_corner_shop", "Idempotency-Key": "big"}
    for chunked in (False, True):
        framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(HUNDRED_MB)}
        answer, sent_bytes = _send_until_answered(live_server.url, _head("/v1/purchases", key | framing), chunked)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert sent_bytes < 16 * 1024 * 1024, sent_bytes
