"""`coalition limits …`: show or change a network's limits on one purchase (README, "Limits")."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from coalition.adapters.cli.common import network_of, run, settings_for
from coalition.wiring import Services

limits_app = typer.Typer(help="Limits on one purchase: amount, quantity, lines, points.", no_args_is_help=True)
console = Console()
DatabaseUrl = Annotated[str | None, typer.Option("--database-url", envvar="COALITION_DATABASE_URL")]



@limits_app.command("show")
def show(network: str, database_url: DatabaseUrl = None) -> None:
    """Print the network's limits."""

    async def work(services: Services) -> dict[str, Any]:
        ref = await network_of(services, network)
        return await services.limits.limits(ref.id, ref.currency)

    _print(run(settings_for(database_url), work))


@limits_app.command("set")
def change(
    network: str,
    max_amount: Annotated[str | None, typer.Option(help="the largest check, line or unit price, e.g. 50000.00")] = None,
    max_quantity: Annotated[str | None, typer.Option(help="the largest quantity of a line, e.g. 1000")] = None,
    max_lines: Annotated[int | None, typer.Option(help="the most lines a purchase has (1 to 500)")] = None,
    max_points: Annotated[int | None, typer.Option(help="the most points a purchase redeems or earns")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Change the limits given; the others stay. Tills feel it within seconds."""

    async def work(services: Services) -> dict[str, Any]:
        ref = await network_of(services, network)
        return await services.limits.set_limits(
            ref.id,
            ref.currency,
            max_amount=max_amount,
            max_quantity=max_quantity,
            max_lines_per_purchase=max_lines,
            max_points_per_purchase=max_points,
        )

    _print(run(settings_for(database_url), work))


def _print(answer: dict[str, Any]) -> None:
    table = Table("limit", "value")
    for name, value in answer.items():
        table.add_row(name, str(value))
    console.print(table)
