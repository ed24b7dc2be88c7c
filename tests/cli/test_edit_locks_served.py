"""Two administrators' edits of one version, through two separate `coalition serve` processes on one database
(docs/api.md "Conventions"): 20 concurrent PUTs of /v1/admin/limits, all sent with the If-Match of one GET and
spread over both servers, make exactly one edit; the other 19 are 412s naming If-Match. A lock held in one process's
memory would let each process pass one of them (issue 17: the check and the edit hold a PostgreSQL advisory lock or
a file lock beside the SQLite database)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.cli.test_serve import VENV_BIN, _free_port, _healthy, _wait_until

ADMIN = {"Authorization": "Bearer adm_demo_network"}
EDITS = 20


@pytest.fixture()
def two_servers(database_url: str, tmp_path: Path) -> Iterator[list[str]]:
    loaded = subprocess.run(
        [VENV_BIN / "coalition", "demo", "--json", "--database-url", database_url], check=True, capture_output=True
    )
    assert json.loads(loaded.stdout)["admin_key"] == "adm_demo_network"
    env = os.environ | {"COALITION_RATE_LIMIT_ADDRESS": "100000/s", "COALITION_BACKGROUND": "off"}
    servers, bases, logs = [], [], []
    try:
        for number in range(2):
            port = _free_port()
            log = (tmp_path / f"serve{number}.log").open("w")
            logs.append(log)
            servers.append(
                subprocess.Popen(
                    [VENV_BIN / "coalition", "serve", "--database-url", database_url, "--port", str(port)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
        for base in bases:
            _wait_until(lambda base=base: _healthy(base), seconds=90)
        yield bases
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
        for server in servers:
            server.wait(timeout=20)
        for log in logs:
            log.close()


def test_twenty_edits_of_one_version_over_two_processes_make_one(two_servers: list[str]) -> None:
    read = httpx.get(f"{two_servers[0]}/v1/admin/limits", headers=ADMIN, timeout=10)
    assert read.status_code == 200, read.text
    version = read.headers["ETag"]
    assert httpx.get(f"{two_servers[1]}/v1/admin/limits", headers=ADMIN, timeout=10).headers["ETag"] == version
    assert read.json()["max_lines_per_purchase"] not in range(100, 100 + EDITS)

    def edit(number: int) -> httpx.Response:
        # each edit a different value, so that every edit that passes changes the version
        return httpx.put(
            f"{two_servers[number % 2]}/v1/admin/limits",
            json={"max_lines_per_purchase": 100 + number},
            headers={**ADMIN, "If-Match": version},
            timeout=60,
        )

    with ThreadPoolExecutor(EDITS) as pool:
        answers = list(pool.map(edit, range(EDITS)))

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [412] * (EDITS - 1), [answer.text for answer in answers]
    for answer in answers:
        if answer.status_code == 412:
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.json()["field"] == "If-Match"
    (won,) = [number for number, answer in enumerate(answers) if answer.status_code == 200]
    for base in two_servers:
        now = httpx.get(f"{base}/v1/admin/limits", headers=ADMIN, timeout=10)
        assert now.json()["max_lines_per_purchase"] == 100 + won
        assert now.headers["ETag"] == answers[won].headers["ETag"] != version
