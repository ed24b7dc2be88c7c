"""`coalition gift-cards …`: the expiry sweep of a network's gift cards (run it daily, like `coalition expire`)."""

from __future__ import annotations

from typing import Any

import typer

from coalition.adapters.cli.common import DatabaseOption, console, network_of, run, settings_for
from coalition.domain.money import format_minor
from coalition.wiring import Services

gift_cards_app = typer.Typer(help="Gift cards: the expiry sweep.", no_args_is_help=True)


@gift_cards_app.command("expire")
def expire(network: str, database_url: DatabaseOption = None) -> None:
    """Post the balance of every gift card whose validity ended to breakage, by the network's gift-card policy."""

    async def work(services: Services) -> tuple[dict[str, Any], str]:
        ref = await network_of(services, network)
        return await services.gift_cards.expire(ref.id), ref.currency

    result, currency = run(settings_for(database_url), work)
    console.print(
        f"{result['cards']} gift card(s) expired: {format_minor(result['kept_minor'], currency)} {currency} kept by "
        f"the node, {format_minor(result['returned_minor'], currency)} {currency} returned to the sellers "
        f"({result['policy']})"
    )
