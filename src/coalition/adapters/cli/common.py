"""What the `coalition` commands share: the database option, the settings, running a piece of work on the
services with errors printed for a person, the consoles, and naming a network.

The command modules import this module, never `main`: main imports them to assemble the command, so that running
`python -m coalition.adapters.cli.main` and the `coalition` script build one and the same command, with no import
circle.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from coalition.application.admin import NetworkRef
from coalition.application.audit import Actor, act_as
from coalition.domain.errors import DomainError
from coalition.settings import Settings
from coalition.wiring import Services, build_services

console = Console()
errors = Console(stderr=True)
T = TypeVar("T")

DatabaseOption = Annotated[
    str | None, typer.Option("--database-url", envvar="COALITION_DATABASE_URL", help="sqlite:///file or postgresql://…")
]

# a list's time window (docs/api.md "Conventions"): ISO 8601 moments with their offset, `--since` inclusive
SinceOption = Annotated[
    str | None, typer.Option("--since", help="at or after: ISO 8601 with offset, 2026-07-02T00:00Z")
]
UntilOption = Annotated[str | None, typer.Option("--until", help="before: ISO 8601 with offset")]


def moment_of(value: str | None, name: str) -> datetime | None:
    """An option's ISO 8601 moment with its offset; anything else is told on stderr (exit 2), naming the option."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        errors.print(f"[red]error ({name}):[/red] expected an ISO 8601 moment with offset, e.g. 2026-07-02T00:00Z")
        raise typer.Exit(2)
    return moment


def settings_for(database_url: str | None) -> Settings:
    """The settings from the environment, with the database the command was given, if any."""
    settings = Settings.from_env()
    if database_url:
        settings = replace(settings, database_url=database_url)
    return settings


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return None


def run(settings: Settings, work: Callable[[Services], Awaitable[T]]) -> T:
    """Run `work` on freshly built services; a refusal is printed with its field and ends the command with exit 2."""

    async def main() -> T:
        services = build_services(settings)
        # every change a command makes is audited as the operator's at this machine (the OS user)
        act_as(Actor("cli", name=_os_user(), address="local"))
        try:
            return await work(services)
        finally:
            await services.close()

    try:
        return asyncio.run(main())
    except DomainError as error:
        field = f" ({error.field})" if error.field else ""
        errors.print(f"[red]error{field}:[/red] {error.detail}")
        raise typer.Exit(2) from None


def network_of(services: Services, code: str) -> Awaitable[NetworkRef]:
    return services.admin.network(code)
