"""`coalition settle …`: close a network's settlement period, show a statement and its transfer plans."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from coalition.adapters.cli.common import errors, network_of, run, settings_for
from coalition.adapters.documents.pdf import statement_pdf
from coalition.application.csv_text import csv_text
from coalition.application.settlement import statement_csv_rows, statement_json
from coalition.domain.errors import InvalidInput
from coalition.wiring import Services

settle_app = typer.Typer(help="Settlement: close a period, show statements (docs/settlement.md).", no_args_is_help=True)
console = Console()
DatabaseUrl = Annotated[str | None, typer.Option("--database-url", envvar="COALITION_DATABASE_URL")]


def _moment(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        errors.print(
            f"[red]error ({option}):[/red] expected an ISO 8601 moment with offset, e.g. 2026-07-02T00:00:00+03:00"
        )
        raise typer.Exit(2)
    return moment


@settle_app.command("close")
def close(
    network: str,
    end: Annotated[str, typer.Option(help="the period's end (exclusive), ISO 8601 with offset")],
    start: Annotated[str | None, typer.Option(help="only for the network's first period")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Close the open period up to END and print its statement and transfer plans."""
    period_end, period_start = _moment(end, "end"), _moment(start, "start")

    with Progress(
        TextColumn("closing the period"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("sum", total=None)

        async def work(services: Services) -> dict[str, Any]:
            if period_end is None:
                raise InvalidInput("give the period's end", field="end")
            ref = await network_of(services, network)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            return await services.settlement.close(ref.id, period_end, period_start, advance)

        answer = run(settings_for(database_url), work)
    _print_statement(answer)


@settle_app.command("show")
def show(
    network: str,
    number: int,
    output_format: Annotated[str, typer.Option("--format", help="table, json, csv or pdf")] = "table",
    output: Annotated[Path | None, typer.Option(help="write to this file (needed for pdf)")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print statement NUMBER of the network, or write it to a file."""

    async def work(services: Services) -> Any:
        ref = await network_of(services, network)
        return await services.settlement.statement(ref.id, number)

    statement = run(settings_for(database_url), work)
    if output_format == "pdf":
        if output is None:
            errors.print("[red]error (output):[/red] a PDF goes to a file: add --output statement.pdf")
            raise typer.Exit(2)
        output.write_bytes(statement_pdf(statement))
        console.print(f"wrote {output}")
    elif output_format == "csv":
        sys.stdout.write(csv_text(statement_csv_rows(statement)))
    elif output_format == "json":
        import json

        print(json.dumps(statement_json(statement), indent=2, ensure_ascii=False))
    else:
        _print_statement(statement_json(statement))


@settle_app.command("send")
def send(network: str, number: int, database_url: DatabaseUrl = None) -> None:
    """E-mail each partner with an address its entries and the statement (COALITION_SMTP_HOST)."""

    async def work(services: Services) -> dict[str, Any]:
        ref = await network_of(services, network)
        return await services.settlement.send(ref.id, number)

    answer = run(settings_for(database_url), work)
    console.print(f"sent to {', '.join(answer['sent']) or 'nobody'}")
    if answer["without_address"]:
        console.print(f"no e-mail address: {', '.join(answer['without_address'])}")


def _print_statement(answer: dict[str, Any]) -> None:
    period = answer["period"]
    console.print(f"statement {answer['number']}: {period['start']} – {period['end']} ({answer['currency']})")
    table = Table("partner", "granted", "refunded", "honoured", "refunded", "breakage", "net", "transactions")
    for line in answer["partners"]:
        table.add_row(
            line["name"],
            line["granted"],
            line["granted_refunded"],
            line["honoured"],
            line["honoured_refunded"],
            line["breakage"],
            line["net"],
            str(line["transactions"]),
        )
    table.add_row("settlement node", "", "", "", "", "", answer["node"]["net"], "")
    console.print(table)
    if answer.get("prepaid_money"):  # prepaid money apart (issue 14): the net above is both parts together
        money = Table("partner", "taken", "accepted", "breakage", "money net", "points net", title="prepaid money")
        for line in answer["partners"]:
            m = line["money"]
            taken = f"{m['top_ups']} + {m['gift_cards_sold']}"
            accepted = f"{m['wallet_accepted']} + {m['gift_cards_accepted']}"
            money.add_row(line["name"], taken, accepted, m["gift_card_breakage"], m["net"], line["points_net"])
        node = answer["node"]
        held = f"wallets {node['money']['wallets']}, gift cards {node['money']['gift_cards']}"
        money.add_row(
            "settlement node", held, "", node["money"]["breakage_kept"], node["money"]["net"], node["points_net"]
        )
        console.print(money)
    for name, plan in (("through the node", "through_node"), ("direct, fewest transfers", "direct")):
        transfers = Table("from", "to", "amount", title=f"transfers {name}")
        for transfer in answer["transfers"][plan]:
            transfers.add_row(transfer["from"], transfer["to"], transfer["amount"])
        console.print(transfers)
