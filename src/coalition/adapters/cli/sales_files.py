"""`coalition import purchases|refunds FILE` and `coalition sync` (issue 17, docs/files.md).

The imports call the application layer directly (no HTTP) with a progress bar; a refused file prints every error
with its row and column and ends with exit 2, having written nothing. `sync` watches an inbox folder
(adapters/sync_folder.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from coalition.adapters.cli.common import DatabaseOption, console, errors, network_of, run, settings_for
from coalition.adapters.cli.file_io import (
    DelimiterOption,
    EncodingOption,
    FileArgument,
    JsonOption,
    NetworkOption,
    bar_columns,
    errors_table,
    finish_import,
    import_file,
    with_progress,
)
from coalition.adapters.sync_folder import SyncFolder, watch
from coalition.application.file_exchange.table import FileRefused
from coalition.application.sales_files import SalesImportResult, SalesKind
from coalition.application.sales_import import SalesImportOptions
from coalition.domain.money import format_minor
from coalition.wiring import Services


def summary(result: SalesImportResult) -> list[str]:
    """What `coalition import purchases|refunds` prints of a result (docs/files.md quotes it)."""
    money = format_minor(result.amount_minor, result.currency)
    first = (
        f"{result.filename}: {result.rows_read} rows; {result.recorded} recorded now ({money} {result.currency}), "
        f"{result.already_recorded} recorded before, {result.rejected} rejected"
        + (" (the same file was imported before: nothing written)" if result.replayed else "")
    )
    if result.kind is SalesKind.PURCHASES:
        return [first, f"points earned {result.points_earned}, redeemed {result.points_redeemed}"]
    return [first, f"points taken back {result.points_clawed_back}, given back {result.points_returned}"]


PartialOption = Annotated[
    bool,
    typer.Option(
        "--partial",
        help="record the valid rows, each chunk of 1,000 committed as it goes; rejected ones to --rejects (without it,"
        " a row refused when checked or when recorded refuses the file: nothing is written)",
    ),
]
RejectsOption = Annotated[Path | None, typer.Option(help="where the rejected rows are written")]


def _import_command(kind: SalesKind, description: str) -> Callable[..., None]:
    """`coalition import purchases|refunds FILE`: the two differ only in the kind and their help."""

    def command(
        file: FileArgument,
        network: NetworkOption,
        encoding: EncodingOption = None,
        delimiter: DelimiterOption = None,
        partial: PartialOption = False,
        rejects: RejectsOption = None,
        as_json: JsonOption = False,
        database_url: DatabaseOption = None,
    ) -> None:
        settings = settings_for(database_url)
        data = import_file(file, settings)
        options = SalesImportOptions(file.name, encoding, delimiter, partial)

        async def work(services: Services) -> SalesImportResult | FileRefused:
            ref = await network_of(services, network)
            return await with_progress(
                f"importing {kind.value}",
                bar_columns(percent=True),
                as_json,
                lambda advance: services.sales_import.run(ref.id, kind, data, options, advance),
            )

        result = finish_import(run(settings, work), rejects, as_json)
        if result is None:
            return
        for line in summary(result):
            console.print(line, highlight=False)
        if result.errors:
            errors.print(errors_table(result.errors))
            if rejects is not None and result.rejects is not None:
                console.print(f"rejected rows written to {rejects}")

    command.__name__ = command.__qualname__ = f"import_{kind.value}"
    command.__doc__ = description
    return command


import_purchases = _import_command(
    SalesKind.PURCHASES,
    """Import purchases made elsewhere, priced at their own time by the batch path; nothing is written unless every
    row is valid and every row is recorded (or, with --partial, the valid rows). By default each of the two lanes is
    one database transaction, committed together when no row was refused: while a large file imports, its members'
    balances are locked and a till selling to one of them waits. The same rows again record nothing twice.""",
)
import_refunds = _import_command(
    SalesKind.REFUNDS,
    """Import refunds of recorded purchases, each naming its purchase's receipt at the same outlet; by default all in
    one database transaction, nothing written when a row is refused (with --partial, the valid rows).""",
)


def register(import_app: typer.Typer) -> None:
    import_app.info.help = "Import files (docs/files.md): members, purchases, refunds."
    import_app.command("purchases")(import_purchases)
    import_app.command("refunds")(import_refunds)


def sync_command(
    inbox: Annotated[Path, typer.Option("--inbox", file_okay=False, help="the folder files are dropped into")],
    outbox: Annotated[Path, typer.Option("--outbox", file_okay=False, help="where results and exports go")],
    network: NetworkOption,
    interval: Annotated[float, typer.Option("--interval", min=0.1, help="seconds between two looks")] = 5.0,
    once: Annotated[bool, typer.Option("--once", help="one round, then stop")] = False,
    partial: Annotated[bool, typer.Option("--partial", help="imports take the valid rows of a file")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Watch --inbox: import members*, purchases* and refunds* (CSV or XLSX), answer export-*.request files, write
    each result to --outbox and move the file to done/ or failed/ (docs/files.md "The sync folder")."""

    async def work(services: Services) -> int:
        network_id = (await network_of(services, network)).id
        folder = SyncFolder(inbox, outbox, network_id, partial)

        def log(line: str) -> None:
            console.print(line, highlight=False)

        return await watch(services, folder, log, interval, once, asyncio.sleep)

    processed = run(settings_for(database_url), work)
    console.print(f"{processed} file(s) processed")
