"""`coalition serve --access-log PATH` (issue 18): one JSON line per request in the file, secrets of the query masked,
no Authorization header, control characters escaped."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from coalition.adapters.http.access_log import masked_query, open_sink

CLI = [sys.executable, "-m", "coalition.adapters.cli.main"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _lines(path: Path, count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count:
            return [json.loads(line) for line in lines]
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} lines in {path}")


def test_serve_writes_the_access_log_to_the_file_it_is_given(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    env = {**os.environ, "COALITION_BACKGROUND": "off"}
    subprocess.run([*CLI, "migrate", "--database-url", url], check=True, capture_output=True, env=env)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    access = tmp_path / "access.log"
    output = (tmp_path / "serve.out").open("w")
    server = subprocess.Popen(
        [*CLI, "serve", "--database-url", url, "--port", str(port), "--access-log", str(access)],
        stdout=output,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        # a loaded host (CI's two cores under three test processes) takes long to import and start: as long as the
        # other served tests give it, and no longer than the server lives
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.out").read_text()
            time.sleep(0.1)
        answer = httpx.get(
            f"{base}/v1/members/42?token=s3cret&page=2&api_key=k&password=p",
            headers={
                "Authorization": "Bearer term_secret_key",
                "X-Request-ID": "req-1",
                "User-Agent": b"till/1.0 \x85\x9b",  # C1 controls (obs-text bytes on the wire)
            },
        )
        assert answer.status_code == 401
        httpx.get(f"{base}/v1/members/a%0A%7B%22forged%22%3A1%7D%1B%5B2J")  # a line feed and an escape sequence
        lines = _lines(access, 3)
    finally:
        server.terminate()
        server.wait(timeout=20)
    text = access.read_text()
    health, member, forged = lines[0], lines[-2], lines[-1]
    assert health["method"] == "GET" and health["path"] == "/health" and health["status"] == 200
    assert str(health["time"]).endswith("Z") and "T" in str(health["time"])
    assert health["client"] == "127.0.0.1" and isinstance(health["ms"], float | int)
    assert member["path"] == "/v1/members/42?token=***&page=2&api_key=***&password=***"
    assert member["status"] == 401 and member["bytes"] == len(answer.content)
    assert member["request_id"] == "req-1"
    assert member["user_agent"] == "till/1.0 \\u0085\\u009b"
    assert forged["path"] == '/v1/members/a\n{"forged":1}\x1b[2J' and forged["status"] in (401, 422)
    assert '\\n{\\"forged\\":1}\\u001b[2J' in text  # escaped in the file: one line per request, no escape codes
    assert len(text.splitlines()) == len(lines), text
    assert "\x1b" not in text
    assert "s3cret" not in text and "term_secret_key" not in text and "authorization" not in text.lower()


def test_the_query_keeps_its_keys_and_masks_secret_values() -> None:
    assert masked_query(b"a=1&Token=x&session_id=y&flag") == "a=1&Token=***&session_id=***&flag"
    assert masked_query(b"pin%5Fcode=1234&q=ivan") == "pin%5Fcode=***&q=ivan"


def test_where_the_log_goes(tmp_path: Path) -> None:
    assert open_sink("off") is None and open_sink(" OFF ") is None
    assert open_sink("-") == sys.stdout.fileno()
    assert open_sink("") == sys.stderr.fileno() == open_sink("stderr")
    descriptor = open_sink(str(tmp_path / "a.log"))
    assert descriptor is not None
    os.close(descriptor)
