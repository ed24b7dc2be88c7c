"""`coalition import members FILE` and `coalition export members` (issue 17, docs/files.md): the members file in
CSV or XLSX, imported with a progress bar and exported with the same columns. A refused file prints every error
with its row and column and ends with exit 2, having written nothing. Audited as the operator's (common.run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from coalition.adapters.cli.common import DatabaseOption, console, errors, network_of, run, settings_for
from coalition.application.file_exchange.table import FileFormat, FileRefused, RowError
from coalition.application.member_import import ImportOptions, ImportResult
from coalition.wiring import Services

import_app = typer.Typer(help="Import files (docs/files.md): members.", no_args_is_help=True)
export_app = typer.Typer(help="Export files (docs/files.md): members.", no_args_is_help=True)
NetworkOption = Annotated[str, typer.Option("--network", help="the network's code")]
SHOWN_ERRORS = 50


def _errors_table(found: list[RowError] | tuple[RowError, ...]) -> Table:
    table = Table("row", "column", "reason", title=f"{len(found)} error(s)")
    for error in found[:SHOWN_ERRORS]:
        table.add_row(str(error.row), error.column or "-", error.reason)
    return table


@import_app.command("members")
def import_members(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="a CSV or XLSX file")],
    network: NetworkOption,
    encoding: Annotated[str | None, typer.Option(help="utf-8, cp1251, cp1252 or cp866 (default: detected)")] = None,
    delimiter: Annotated[str | None, typer.Option(help="comma, semicolon or tab (default: detected)")] = None,
    partial: Annotated[bool, typer.Option("--partial", help="take the valid rows; rejected ones to --rejects")] = False,
    rejects: Annotated[Path | None, typer.Option(help="where partial mode writes the rejected rows")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Import members with their cards, identifiers and opening balances; nothing is written unless every row is
    valid (or, with --partial, the valid rows)."""
    settings = settings_for(database_url)
    if file.stat().st_size > settings.import_max_bytes:
        errors.print(f"[red]refused:[/red] the file is larger than {settings.import_max_bytes} bytes")
        raise typer.Exit(2)
    data = file.read_bytes()
    options = ImportOptions(file.name, encoding, delimiter, partial)

    async def work(services: Services) -> ImportResult | FileRefused:
        ref = await network_of(services, network)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("importing members", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            try:
                return await services.member_import.run(ref.id, data, options, advance)
            except FileRefused as refusal:
                return refusal

    result = run(settings, work)
    if isinstance(result, FileRefused):
        if as_json:
            print(json.dumps({"refused": True, "errors": [e.json() for e in result.errors]}, ensure_ascii=False))
        else:
            errors.print("[red]the file was refused; nothing was written[/red]")
            errors.print(_errors_table(result.errors))
        raise typer.Exit(2)
    if result.rejects is not None and rejects is not None:
        rejects.write_bytes(result.rejects)
    if as_json:
        print(json.dumps(result.json() | {"rejects_file": str(rejects) if rejects else None}, ensure_ascii=False))
        return
    _print_result(result, rejects)


def _print_result(result: ImportResult, rejects: Path | None) -> None:
    note = " (this file was imported before: nothing written now)" if result.replayed else ""
    console.print(
        f"[green]{result.rows_read} rows read[/green]: {result.created} created, {result.unchanged} unchanged, "
        f"{result.rejected} rejected; {result.opening_transactions} opening transactions, "
        f"{result.opening_points} points{note}"
    )
    if result.errors:
        console.print(_errors_table(result.errors))
        if rejects is not None and result.rejects is not None:
            console.print(f"the rejected rows are in {rejects}")


@export_app.command("members")
def export_members(
    network: NetworkOption,
    out: Annotated[Path, typer.Option("--out", dir_okay=False, help="the file to write")],
    file_format: Annotated[FileFormat, typer.Option("--format", help="csv or xlsx")] = FileFormat.CSV,
    database_url: DatabaseOption = None,
) -> None:
    """The network's members in the members file (the import's columns, balances included)."""

    async def work(services: Services) -> bytes:
        ref = await network_of(services, network)
        return await services.member_export.file(ref.id, file_format)

    data = run(settings_for(database_url), work)
    out.write_bytes(data)
    answer: dict[str, Any] = {"file": str(out), "format": file_format.value, "bytes": len(data)}
    console.print(json.dumps(answer))
