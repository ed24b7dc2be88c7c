"""`coalition network rotate-admin-key | rotate-terminal-key | end-previous-keys | key-expiry` on an SQLite file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from coalition.domain.errors import DomainError
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.cli.test_cli import run


@pytest.fixture()
def corner(tmp_path: Path) -> tuple[str, dict[str, Any]]:
    """A migrated database with the network 'corner', one partner, outlet and terminal."""
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    assert run("migrate", "--database-url", url).exit_code == 0
    created = _json(run("network", "create", "corner", "Corner", "--database-url", url))
    partner = _json(run("network", "partner", "corner", "Shop", "--database-url", url))
    outlet = _json(run("network", "outlet", "corner", str(partner["id"]), "Till", "--database-url", url))
    terminal = _json(run("network", "terminal", "corner", str(outlet["id"]), "POS", "--database-url", url))
    return url, {"admin_key": created["admin_key"], "terminal": terminal}


def _json(result: Any) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def _works(url: str, admin_keys: tuple[str, ...] = (), terminal_keys: tuple[str, ...] = ()) -> list[bool]:
    async def check() -> list[bool]:
        services = build_services(Settings(database_url=url, operator_token=None, public_url="http://x"))
        answers = []
        try:
            for key in admin_keys:
                answers.append(await _accepted(services.admin.authenticate(key)))
            for key in terminal_keys:
                answers.append(await _accepted(services.pos.authenticate(key)))
        finally:
            await services.close()
        return answers

    return anyio.run(check)


async def _accepted(call: Any) -> bool:
    try:
        await call
    except DomainError:
        return False
    return True


def test_the_admin_key_rotates_with_a_grace_and_the_new_key_is_printed_once(corner):
    url, made = corner
    rotated = run("network", "rotate-admin-key", "corner", "--grace", "1h", "--database-url", url)
    body = _json(rotated)
    assert body["admin_key"].startswith("adm_") and body["previous_key_valid_until"]
    assert "shown only this once" in rotated.stderr
    assert _works(url, (made["admin_key"], body["admin_key"])) == [True, True]
    again = _json(run("network", "rotate-admin-key", "corner", "--grace", "0", "--database-url", url))
    # grace 0 ends the key it replaced at once; the first key keeps the hour it was given
    assert _works(url, (made["admin_key"], body["admin_key"], again["admin_key"])) == [True, False, True]


def test_a_terminal_key_rotates_and_its_old_key_can_be_ended_early(corner):
    url, made = corner
    terminal = made["terminal"]
    rotated = _json(
        run("network", "rotate-terminal-key", "corner", str(terminal["id"]), "--grace", "15m", "--database-url", url)
    )
    assert rotated["id"] == terminal["id"] and rotated["key"].startswith("term_")
    assert _works(url, terminal_keys=(terminal["key"], rotated["key"])) == [True, True]
    ended = _json(run("network", "end-previous-keys", "corner", str(terminal["id"]), "--database-url", url))
    assert ended == {"id": terminal["id"], "previous_keys_ended": 1}
    assert _works(url, terminal_keys=(terminal["key"], rotated["key"])) == [False, True]


def test_keys_expire_set_at_creation_or_later(corner):
    url, made = corner
    terminal = made["terminal"]
    set_later = run(
        "network",
        "key-expiry",
        "corner",
        "--terminal",
        str(terminal["id"]),
        "--at",
        "2030-01-01T00:00:00Z",
        "--database-url",
        url,
    )
    assert _json(set_later) == {"id": terminal["id"], "expires_at": "2030-01-01T00:00:00Z"}
    assert _json(run("network", "key-expiry", "corner", "--at", "never", "--database-url", url))["expires_at"] is None
    created = _json(
        run(
            "network",
            "terminal",
            "corner",
            "1",
            "Kiosk",
            "--expires-at",
            "2030-01-01T00:00:00+03:00",
            "--database-url",
            url,
        )
    )
    assert created["expires_at"] == "2029-12-31T21:00:00Z"
    assert _works(url, (made["admin_key"],), (terminal["key"], created["key"])) == [True, True, True]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("rotate-admin-key", "corner", "--grace", "-5"), "grace_seconds"),
        (("rotate-admin-key", "corner", "--grace", "1.5h"), "grace_seconds"),
        (("rotate-admin-key", "corner", "--grace", "31d"), "grace_seconds"),
        (("rotate-admin-key", "corner", "--grace", "99999999999999d"), "grace_seconds"),
        (("rotate-admin-key", "corner", "--grace", "1h", "--expires-at", "2020-01-01T00:00:00Z"), "expires_at"),
        (("rotate-terminal-key", "corner", "1", "--grace", "1h", "--expires-at", "soon"), "expires_at"),
        (("key-expiry", "corner", "--at", "2030-01-01T00:00:00"), "expires_at"),
        (("rotate-admin-key", "elsewhere", "--grace", "1h"), "network"),
        (("rotate-terminal-key", "corner", "999", "--grace", "1h"), "terminal_id"),
    ],
)
def test_bad_values_exit_2_naming_the_field_and_change_nothing(corner, args, field):
    url, made = corner
    result = run("network", *args, "--database-url", url)
    assert result.exit_code == 2, result.output
    assert f"({field})" in result.stderr
    assert _works(url, (made["admin_key"],), (made["terminal"]["key"],)) == [True, True]
