"""`coalition verify`: re-check every ledger invariant over the whole database (also run after a restore)."""

from __future__ import annotations

from typing import Any

import typer
from rich.progress import Progress

from coalition.adapters.cli.common import DatabaseOption, console, errors, run, settings_for
from coalition.adapters.storage.migrate import schema_revisions
from coalition.adapters.storage.verify import CHECKS, Check, verify
from coalition.wiring import Services


def verify_command(database_url: DatabaseOption = None) -> None:
    """Re-check every ledger invariant over the whole database; exit 1 on any violation."""
    settings = settings_for(database_url)
    current, head = schema_revisions(settings.database_url)
    if current != head:  # the checks read today's columns: on another schema they would fail as errors, not findings
        errors.print(
            f"the database's schema is at revision {current or 'none'}, this code's is {head}: "
            "run `coalition migrate` first"
        )
        raise typer.Exit(2)

    async def work(services: Services) -> list[Any]:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("verifying", total=len(CHECKS))

            def advance(check: Check) -> None:
                progress.update(task, advance=1, description=check.name)

            return await verify(services.engine, advance)

    violations = run(settings, work)
    for check in CHECKS:
        found = next((v for v in violations if v.check is check), None)
        mark = "[red]FAIL[/red]" if found else "[green]ok[/green]"
        console.print(f"{mark}  {check.name}: {check.description}")
        for row in found.rows if found else []:
            console.print(f"      {row}")
    if violations:
        raise typer.Exit(1)
