"""The demo's published credentials: `coalition demo` refuses a database that holds another network (unless
--force), a re-run on its own database keeps working, and `coalition serve` warns on stderr when the demo's keys
work on a server listening beyond this machine."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli.test_cli import run
from tests.cli.test_serve import VENV_BIN, _free_port, _healthy, _wait_until

WARNING = "WARNING: the demo network's published keys"


@pytest.fixture()
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'demo.db'}"


def _networks(url: str) -> list[str]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        return [row[0] for row in connection.execute("SELECT code FROM networks ORDER BY code")]


def test_the_demo_refuses_a_database_holding_another_network_unless_forced(url):
    assert run("migrate", "--database-url", url).exit_code == 0
    assert run("network", "create", "corner", "Corner", "--database-url", url).exit_code == 0
    refused = run("demo", "--database-url", url)
    assert refused.exit_code == 2, refused.output
    assert "already holds the network(s) corner" in refused.stderr and "--force" in refused.stderr
    assert _networks(url) == ["corner"]  # nothing of the demo was written

    forced = run("demo", "--force", "--json", "--database-url", url)
    assert forced.exit_code == 0, forced.output
    assert _networks(url) == ["corner", "demo"]
    again = run("demo", "--json", "--database-url", url)  # the demo is there: printed again, not refused
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["admin_key_works"] is True


def test_make_run_twice_on_one_database_loads_the_demo_once_and_prints_it_again(url):
    first = run("demo", "--database-url", url)
    assert first.exit_code == 0 and "Demo network loaded" in first.stdout
    # `make run` serves with open registration: a shop registered meanwhile does not stop the next `make run`
    assert run("network", "create", "registered-shop", "Shop", "--database-url", url).exit_code == 0
    second = run("demo", "--database-url", url)
    assert second.exit_code == 0, second.output
    assert "Demo network already loaded" in second.stdout
    assert _networks(url) == ["demo", "registered-shop"]


def test_the_demo_still_describes_itself_once_its_keys_were_rotated(url):
    info = json.loads(run("demo", "--json", "--database-url", url).stdout)
    assert run("network", "rotate-admin-key", "demo", "--grace", "0", "--database-url", url).exit_code == 0
    assert run("network", "rotate-terminal-key", "demo", "1", "--grace", "0", "--database-url", url).exit_code == 0
    after = run("demo", "--json", "--database-url", url)
    assert after.exit_code == 0, after.output
    described = json.loads(after.stdout)
    assert described["admin_key_works"] is False
    assert [t["works"] for t in described["terminals"]] == [False, True, True]
    assert described["members"] == info["members"]


def _serve_output(url: str, host: str, tmp_path: Path) -> str:
    """What `coalition serve` writes to stderr by the time it answers /health."""
    port = _free_port()
    log_path = tmp_path / f"serve-{port}.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [VENV_BIN / "coalition", "serve", "--database-url", url, "--host", host, "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            _wait_until(lambda: _healthy(f"http://127.0.0.1:{port}"))
            time.sleep(0.2)
        finally:
            server.terminate()
            server.wait(timeout=20)
    return log_path.read_text()


def test_serve_warns_when_the_demo_keys_work_on_a_non_loopback_address(url, tmp_path):
    assert run("demo", "--database-url", url).exit_code == 0
    exposed = _serve_output(url, "0.0.0.0", tmp_path)
    [line] = [line for line in exposed.splitlines() if line.startswith(WARNING)]
    assert "adm_demo_network" in line and "term_demo_corner_shop" in line and "listens on 0.0.0.0" in line
    assert "rotate-admin-key" in line
    assert WARNING not in _serve_output(url, "127.0.0.1", tmp_path)  # only this machine can reach it


def test_serve_does_not_warn_once_the_demo_keys_were_rotated(url, tmp_path):
    assert run("demo", "--database-url", url).exit_code == 0
    assert run("network", "rotate-admin-key", "demo", "--grace", "0", "--database-url", url).exit_code == 0
    devices = json.loads(run("devices", "list", "demo", "--json", "--database-url", url).stdout)
    for terminal_id in ("1", "2", "3", *(str(device["terminal"]["id"]) for device in devices)):  # the tills', devices'
        rotated = run("network", "rotate-terminal-key", "demo", terminal_id, "--grace", "0", "--database-url", url)
        assert rotated.exit_code == 0, rotated.output
    assert WARNING not in _serve_output(url, "0.0.0.0", tmp_path)
