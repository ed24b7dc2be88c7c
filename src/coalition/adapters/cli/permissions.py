"""`coalition permissions …`: show or replace a network's permissions matrix (docs/settlement.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from coalition.adapters.cli.common import errors, network_of, run, settings_for
from coalition.application.permissions import MatrixEntry
from coalition.wiring import Services

permissions_app = typer.Typer(help="The permissions matrix: outlet × counter × operation.", no_args_is_help=True)
console = Console()
DatabaseUrl = Annotated[str | None, typer.Option("--database-url", envvar="COALITION_DATABASE_URL")]



@permissions_app.command("show")
def show(network: str, database_url: DatabaseUrl = None) -> None:
    """Print the matrix; an empty one lets every outlet do everything."""

    async def work(services: Services) -> dict[str, Any]:
        return await services.permissions.matrix((await network_of(services, network)).id)

    _print(run(settings_for(database_url), work))


@permissions_app.command("set")
def replace(
    network: str,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="YAML or JSON: {entries: [...]}")],
    database_url: DatabaseUrl = None,
) -> None:
    """Replace the matrix with FILE's entries: {outlet, counter, operations} each."""
    try:
        document = yaml.safe_load(file.read_text())  # JSON is YAML too
    except yaml.YAMLError as error:
        errors.print(f"[red]error (file):[/red] {str(error).splitlines()[0]}")
        raise typer.Exit(2) from None
    raw = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(raw, list):
        errors.print("[red]error (file):[/red] expected a mapping with a list of `entries`")
        raise typer.Exit(2)
    entries = [
        MatrixEntry(str(e.get("outlet", "")), str(e.get("counter", "")), tuple(str(o) for o in e.get("operations", [])))
        for e in raw
        if isinstance(e, dict)
    ]

    async def work(services: Services) -> dict[str, Any]:
        return await services.permissions.replace((await network_of(services, network)).id, entries)

    _print(run(settings_for(database_url), work))


def _print(answer: dict[str, Any]) -> None:
    if not answer["defined"]:
        console.print("no matrix: every outlet may do everything")
        return
    table = Table("outlet", "counter", "operations")
    for entry in answer["entries"]:
        table.add_row(entry["outlet"], entry["counter"], ", ".join(entry["operations"]))
    console.print(table)
