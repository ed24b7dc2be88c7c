"""`coalition import members FILE` and `coalition export members` (issue 17, docs/files.md): the members file in
CSV or XLSX, imported with a progress bar and exported with the same columns. A refused file prints every error
with its row and column and ends with exit 2, having written nothing. Audited as the operator's (common.run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from coalition.adapters.cli.common import DatabaseOption, console, network_of, run, settings_for
from coalition.adapters.cli.file_io import (
    DelimiterOption,
    EncodingOption,
    FileArgument,
    JsonOption,
    NetworkOption,
    errors_table,
    finish_import,
    import_file,
    with_progress,
)
from coalition.application.file_exchange.table import FileFormat, FileRefused
from coalition.application.member_import import ImportOptions, ImportResult
from coalition.wiring import Services

import_app = typer.Typer(help="Import files (docs/files.md): members.", no_args_is_help=True)
export_app = typer.Typer(help="Export files (docs/files.md): members.", no_args_is_help=True)


@import_app.command("members")
def import_members(
    file: FileArgument,
    network: NetworkOption,
    encoding: EncodingOption = None,
    delimiter: DelimiterOption = None,
    partial: Annotated[bool, typer.Option("--partial", help="take the valid rows; rejected ones to --rejects")] = False,
    rejects: Annotated[Path | None, typer.Option(help="where partial mode writes the rejected rows")] = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """Import members with their cards, identifiers and opening balances; nothing is written unless every row is
    valid (or, with --partial, the valid rows)."""
    settings = settings_for(database_url)
    data = import_file(file, settings)
    options = ImportOptions(file.name, encoding, delimiter, partial)

    async def work(services: Services) -> ImportResult | FileRefused:
        ref = await network_of(services, network)
        return await with_progress(
            "importing members", (), True, lambda advance: services.member_import.run(ref.id, data, options, advance)
        )

    result = finish_import(run(settings, work), rejects, as_json)
    if result is None:
        return
    _print_result(result, rejects)


def _print_result(result: ImportResult, rejects: Path | None) -> None:
    note = " (this file was imported before: nothing written now)" if result.replayed else ""
    wallets = f", {result.opening_wallet} on wallets" if result.opening_wallet.strip("0.") else ""
    console.print(
        f"[green]{result.rows_read} rows read[/green]: {result.created} created, {result.unchanged} unchanged, "
        f"{result.rejected} rejected; {result.opening_transactions} opening transactions, "
        f"{result.opening_points} points{wallets}{note}"
    )
    if result.errors:
        console.print(errors_table(result.errors))
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
