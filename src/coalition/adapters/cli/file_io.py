"""What the CLI's file commands share (`coalition import|export|sync`, docs/files.md, docs/exports.md): the import
file's options, the progress bar, the table of a refused file's errors and the end of an import (a refusal exits 2,
partial mode writes the rejects, --json prints the result)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from coalition.adapters.cli.common import console, errors
from coalition.application.file_exchange.table import FileRefused, RowError
from coalition.settings import Settings

NetworkOption = Annotated[str, typer.Option("--network", help="the network's code")]
FileArgument = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="a CSV or XLSX file")]
EncodingOption = Annotated[str | None, typer.Option(help="utf-8, cp1251, cp1252 or cp866 (default: detected)")]
DelimiterOption = Annotated[str | None, typer.Option(help="comma, semicolon or tab (default: detected)")]
JsonOption = Annotated[bool, typer.Option("--json", help="print the result as JSON")]
SHOWN_ERRORS = 50

Advance = Callable[[int, int], None]
R = TypeVar("R")


class ImportAnswer(Protocol):
    @property
    def rejects(self) -> bytes | None: ...

    def json(self) -> dict[str, Any]: ...


A = TypeVar("A", bound=ImportAnswer)


def errors_table(found: list[RowError] | tuple[RowError, ...]) -> Table:
    table = Table("row", "column", "reason", title=f"{len(found)} error(s)")
    for error in found[:SHOWN_ERRORS]:
        table.add_row(str(error.row), error.column or "-", error.reason)
    return table


def bar_columns(percent: bool) -> tuple[ProgressColumn, ...]:
    """The bar's columns: what, the bar, done of total, (percent,) time taken."""
    shown = (TaskProgressColumn(),) if percent else ()
    return (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), *shown, TimeElapsedColumn())


def import_file(file: Path, settings: Settings) -> bytes:
    """The file's bytes; one over the import limit is refused (exit 2) before it is read."""
    if file.stat().st_size > settings.import_max_bytes:
        errors.print(f"[red]refused:[/red] the file is larger than {settings.import_max_bytes} bytes")
        raise typer.Exit(2)
    return file.read_bytes()


async def with_progress(
    description: str, columns: tuple[ProgressColumn, ...], transient: bool, call: Callable[[Advance], Awaitable[R]]
) -> R | FileRefused:
    """`call(advance)` under a progress bar `advance(done, total)` moves; a refused file is answered, not raised."""
    with Progress(*columns, console=console, transient=transient) as progress:
        task = progress.add_task(description, total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            return await call(advance)
        except FileRefused as refusal:
            return refusal


def finish_import(result: A | FileRefused, rejects: Path | None, as_json: bool) -> A | None:
    """A refusal printed (exit 2); the rejected rows written to `rejects`; with --json the result printed (None
    back); otherwise the result back for the command to print."""
    if isinstance(result, FileRefused):
        if as_json:
            print(json.dumps({"refused": True, "errors": [e.json() for e in result.errors]}, ensure_ascii=False))
        else:
            errors.print("[red]the file was refused; nothing was written[/red]")
            errors.print(errors_table(result.errors))
        raise typer.Exit(2)
    if result.rejects is not None and rejects is not None:
        rejects.write_bytes(result.rejects)
    if as_json:
        print(json.dumps(result.json() | {"rejects_file": str(rejects) if rejects else None}, ensure_ascii=False))
        return None
    return result
