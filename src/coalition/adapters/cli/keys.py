"""`coalition network rotate-admin-key | rotate-terminal-key | end-previous-keys | key-expiry`: the key life cycle
from the server's shell, where the caller is the operator (docs: README, "Keys")."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any

import typer

from coalition.adapters.cli.common import DatabaseOption, errors, network_of, run, settings_for
from coalition.application.key_life import OPERATOR
from coalition.domain.errors import InvalidInput
from coalition.wiring import Services

_GRACE = re.compile(r"^([0-9]{1,12})([smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

GraceOption = Annotated[
    str,
    typer.Option(
        "--grace", help="how long the old key keeps working: 0 (at once) to 30d, in seconds or with s, m, h or d"
    ),
]
ExpiresOption = Annotated[
    str | None,
    typer.Option("--expires-at", help="when the new key expires, e.g. 2027-01-31T00:00:00Z; never if omitted"),
]


def grace_seconds(text: str) -> int:
    found = _GRACE.match(text.strip())
    if found is None:
        raise InvalidInput("give the grace as seconds or with a unit: 0, 90s, 15m, 12h, 7d", field="grace_seconds")
    return int(found.group(1)) * _UNIT_SECONDS[found.group(2)]


def moment(text: str | None) -> datetime | None:
    """An ISO 8601 moment with its zone, or None for "never"."""
    if text is None or text.strip().lower() == "never":
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            "give the expiry as ISO 8601, e.g. 2027-01-31T00:00:00Z, or 'never'", field="expires_at"
        ) from None


def _print(result: dict[str, Any], shown_once: bool) -> None:
    print(json.dumps(result, indent=2))
    if shown_once:
        errors.print("[yellow]The new key is shown only this once: store it now.[/yellow]")


def rotate_admin_key(
    network: str, grace: GraceOption, expires_at: ExpiresOption = None, database_url: DatabaseOption = None
) -> None:
    """Issue a new admin key (printed once); the old one keeps working until the grace period ends."""

    async def work(services: Services) -> dict[str, Any]:
        rotated = await services.keys.rotate_admin_key(OPERATOR, network, grace_seconds(grace), moment(expires_at))
        return rotated.json()

    _print(run(settings_for(database_url), work), shown_once=True)


def rotate_terminal_key(
    network: str,
    terminal_id: int,
    grace: GraceOption,
    expires_at: ExpiresOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Give a terminal a new key (printed once); its old key serves on until the grace ends, so the till can be
    reconfigured while it still serves."""

    async def work(services: Services) -> dict[str, Any]:
        ref = await network_of(services, network)
        rotated = await services.keys.rotate_terminal_key(
            OPERATOR, ref, terminal_id, grace_seconds(grace), moment(expires_at)
        )
        return rotated.json()

    _print(run(settings_for(database_url), work), shown_once=True)


def end_previous_keys(network: str, terminal_id: int, database_url: DatabaseOption = None) -> None:
    """End the grace of a terminal's replaced keys now (once the till uses its new key)."""

    async def work(services: Services) -> dict[str, Any]:
        ref = await network_of(services, network)
        return await services.keys.end_previous_terminal_keys(OPERATOR, ref, terminal_id)

    _print(run(settings_for(database_url), work), shown_once=False)


def key_expiry(
    network: str,
    at: Annotated[str, typer.Option("--at", help="when the key expires, e.g. 2027-01-31T00:00:00Z, or 'never'")],
    terminal: Annotated[
        int | None, typer.Option("--terminal", help="a terminal's key; the admin key if omitted")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Set when the admin key (or a terminal's key) expires; 'never' removes the expiry."""

    async def work(services: Services) -> dict[str, Any]:
        if terminal is None:
            return await services.keys.set_admin_key_expiry(OPERATOR, network, moment(at))
        ref = await network_of(services, network)
        return await services.keys.set_terminal_key_expiry(OPERATOR, ref, terminal, moment(at))

    _print(run(settings_for(database_url), work), shown_once=False)


def register(network_app: typer.Typer) -> None:
    """The key commands join `coalition network`."""
    network_app.command("rotate-admin-key")(rotate_admin_key)
    network_app.command("rotate-terminal-key")(rotate_terminal_key)
    network_app.command("end-previous-keys")(end_previous_keys)
    network_app.command("key-expiry")(key_expiry)
