"""`coalition export transactions|balances|statement|report NAME`: a network's ledger, balances, a statement or a
console report written to a file as CSV or XLSX as the rows are read, with a progress bar (docs/exports.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from coalition.adapters.cli.common import DatabaseOption, console, errors, network_of, run, settings_for
from coalition.adapters.cli.file_io import NetworkOption, bar_columns
from coalition.adapters.documents.tables import csv_options, export_format, write_table
from coalition.application.exports import Cell, ExportScope, Period, Table
from coalition.application.program_tables import threshold_input
from coalition.application.report_tables import REPORTS, ExportRequest, export_table
from coalition.wiring import Services

export_app = typer.Typer(help="Export transactions, balances, statements and reports as CSV or XLSX.")

From = Annotated[str | None, typer.Option("--from", help="the period's first day, YYYY-MM-DD (the scope's zone)")]
To = Annotated[str | None, typer.Option("--to", help="the period's last day (included); default: --from")]
Partner = Annotated[int | None, typer.Option("--partner", min=1, help="only this partner's outlets")]
Outlet = Annotated[int | None, typer.Option("--outlet", min=1, help="only this outlet")]
Member = Annotated[int | None, typer.Option("--member", min=1, help="only this member's transactions")]
Format = Annotated[str, typer.Option("--format", help="csv or xlsx")]
Out = Annotated[Path, typer.Option("--out", help="the file to write", dir_okay=False, writable=True)]
Delimiter = Annotated[str, typer.Option("--delimiter", help="CSV: comma or semicolon")]
Encoding = Annotated[str, typer.Option("--encoding", help="CSV: utf-8 or cp1251")]
Bom = Annotated[bool, typer.Option("--bom", help="CSV in UTF-8: start with the byte-order mark Excel reads")]


def _day(text: str | None, field: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.print(f"[red]error ({field}):[/red] a day is written YYYY-MM-DD, such as 2026-11-26")
        raise typer.Exit(2) from None


async def _counted(table: Table, progress: Progress, task: int) -> AsyncIterator[Sequence[Sequence[Cell]]]:
    async for rows in table.chunks:
        yield rows
        progress.advance(task, len(rows))  # type: ignore[arg-type]


def _export(
    what: str,
    network: str,
    first: str | None,
    last: str | None,
    scope: tuple[int | None, int | None, int | None],
    output: str,
    out: Path,
    csv: tuple[str, str, bool],
    database_url: str | None,
    number: int | None = None,
    helper: tuple[int | None, str | None, str | None] = (None, None, None),
) -> None:
    first_day, last_day = _day(first, "from"), _day(last, "to")
    base = (_day(helper[1], "base_from"), _day(helper[2], "base_to"))
    fmt = export_format(output) if output in ("csv", "xlsx") else None
    if fmt is None:
        errors.print("[red]error (format):[/red] choose csv or xlsx")
        raise typer.Exit(2)

    async def work(services: Services) -> int:
        options = csv_options(*csv)
        ref = await network_of(services, network)
        threshold = threshold_input(helper[0], *base)
        request = ExportRequest(what, ExportScope(ref.id, *scope), first_day, last_day, number, threshold)
        table = await export_table(services.report_tables, request)
        total = None
        if what == "transactions" and first_day is not None:
            period = Period(first_day, last_day or first_day)
            total = await services.report_tables.exports.transaction_rows(request.scope, period)
        columns = bar_columns(percent=False)
        with Progress(*columns, console=console, transient=False) as progress, out.open("wb") as file:
            task = progress.add_task(f"{table.name} rows", total=total)
            counted = Table(table.name, table.header, _counted(table, progress, task))
            written = await write_table(counted, fmt, options, file)
            progress.update(task, total=progress.tasks[0].completed)
        return written

    written = run(settings_for(database_url), work)
    console.print(f"{out}: {written:,} bytes")


@export_app.command("transactions")
def transactions(
    network: NetworkOption,
    out: Out,
    first: From = None,
    last: To = None,
    partner: Partner = None,
    outlet: Outlet = None,
    member: Member = None,
    output: Format = "csv",
    delimiter: Delimiter = "comma",
    encoding: Encoding = "utf-8",
    bom: Bom = False,
    database_url: DatabaseOption = None,
) -> None:
    """The ledger's postings of the period's transactions (one row per posting; docs/exports.md)."""
    _export(
        "transactions", network, first, last, (partner, outlet, member), output, out, (delimiter, encoding, bom),
        database_url,
    )  # fmt: skip


@export_app.command("balances")
def balances(
    network: NetworkOption,
    out: Out,
    last: To = None,
    member: Member = None,
    output: Format = "csv",
    delimiter: Delimiter = "comma",
    encoding: Encoding = "utf-8",
    bom: Bom = False,
    database_url: DatabaseOption = None,
) -> None:
    """Every member's points and wallet at the end of --to."""
    _export(
        "balances", network, None, last, (None, None, member), output, out, (delimiter, encoding, bom), database_url
    )


@export_app.command("statement")
def statement(
    network: NetworkOption,
    out: Out,
    number: Annotated[int, typer.Option("--number", min=1, help="the statement's number")],
    partner: Partner = None,
    output: Format = "csv",
    delimiter: Delimiter = "comma",
    encoding: Encoding = "utf-8",
    bom: Bom = False,
    database_url: DatabaseOption = None,
) -> None:
    """A closed settlement statement (all of it, or --partner's part), in the console's CSV columns."""
    _export(
        "statement", network, None, None, (partner, None, None), output, out, (delimiter, encoding, bom),
        database_url, number,
    )  # fmt: skip


@export_app.command("report")
def report(
    name: Annotated[str, typer.Argument(help=", ".join(REPORTS))],
    network: NetworkOption,
    out: Out,
    first: From = None,
    last: To = None,
    partner: Partner = None,
    outlet: Outlet = None,
    output: Format = "csv",
    delimiter: Delimiter = "comma",
    encoding: Encoding = "utf-8",
    bom: Bom = False,
    database_url: DatabaseOption = None,
    threshold: Annotated[
        int | None, typer.Option("--threshold", min=1, help="threshold: the old entry threshold, minor units")
    ] = None,
    base_from: Annotated[str | None, typer.Option("--base-from", help="threshold: the base period's first day")] = None,
    base_to: Annotated[str | None, typer.Option("--base-to", help="threshold: the base period's last day")] = None,
) -> None:
    """A console report of the period: sales per outlet, per cashier or per hour/day, the day's transactions, what is
    worth a look, gift cards, the wallets' and gift cards' liability, attendance, new and returning customers, the
    program's effectiveness, and the entry-threshold helper (docs/reports.md)."""
    if name not in REPORTS:
        errors.print(f"[red]error (name):[/red] no report '{name}'; choose one of {', '.join(REPORTS)}")
        raise typer.Exit(2)
    _export(
        name, network, first, last, (partner, outlet, None), output, out, (delimiter, encoding, bom), database_url,
        None, (threshold, base_from, base_to),
    )  # fmt: skip
