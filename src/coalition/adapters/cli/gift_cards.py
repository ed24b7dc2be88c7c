"""`coalition gift-cards …`: a network's gift cards — issue one (a promotion, funded by the node), show, block and
unblock a card, read or set the gift-card breakage policy, and the expiry sweep (run it daily, like `coalition
expire`). The same commands as the admin API (docs/gift_cards.md); answers are JSON like the neighbouring commands
(`expire` prints a sentence, as it always has); every change is audited as the operator's (common.run)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from coalition.adapters.cli.common import DatabaseOption, console, network_of, run, settings_for
from coalition.adapters.http.gift_card_answers import GiftCardAnswer
from coalition.application.gift_cards import GiftCardRequest, GiftCardView
from coalition.domain.money import format_minor
from coalition.wiring import Services

gift_cards_app = typer.Typer(
    help="Gift cards: issue, show, block, unblock, the breakage policy, the expiry sweep.", no_args_is_help=True
)
Number = Annotated[str, typer.Argument(help="the card's number (spaces and hyphens ignored)")]


def _print(answer: Any) -> None:
    print(json.dumps(answer, indent=2, ensure_ascii=False))


def _card(view: GiftCardView) -> dict[str, Any]:
    return GiftCardAnswer.of(view).model_dump(mode="json")


@gift_cards_app.command("issue")
def issue(
    network: str,
    amount: Annotated[str, typer.Argument(help="what the card holds, e.g. 500.00, in the network's currency")],
    pin: Annotated[str | None, typer.Option(help="4 to 8 digits asked at every use; none if omitted")] = None,
    valid_days: Annotated[int | None, typer.Option(min=1, max=3660, help="from now; 365 if omitted")] = None,
    number: Annotated[str | None, typer.Option(help="a pre-printed card's number; generated if omitted")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Issue a card for a promotion: the node funds it (POST /v1/admin/gift-cards)."""

    async def work(services: Services) -> dict[str, Any]:
        ref = await network_of(services, network)
        return _card(await services.gift_cards.issue(ref, GiftCardRequest(amount, None, pin, valid_days, number)))

    _print(run(settings_for(database_url), work))


@gift_cards_app.command("show")
def show(network: str, number: Number, database_url: DatabaseOption = None) -> None:
    """A card: balance, status, validity, whether it has a PIN, the outlet that sold it (never the PIN)."""

    async def work(services: Services) -> dict[str, Any]:
        ref = await network_of(services, network)
        return _card(await services.gift_cards.show(ref.id, number))

    _print(run(settings_for(database_url), work))


def _set_blocked(network: str, number: str, blocked: bool, database_url: str | None) -> None:
    async def work(services: Services) -> dict[str, Any]:
        ref = await network_of(services, network)
        return _card(await services.gift_cards.set_blocked(ref.id, number, blocked))

    _print(run(settings_for(database_url), work))


@gift_cards_app.command("block")
def block(network: str, number: Number, database_url: DatabaseOption = None) -> None:
    """Block a card: nothing can be spent from it until it is unblocked."""
    _set_blocked(network, number, True, database_url)


@gift_cards_app.command("unblock")
def unblock(network: str, number: Number, database_url: DatabaseOption = None) -> None:
    """Unblock a blocked card."""
    _set_blocked(network, number, False, database_url)


@gift_cards_app.command("breakage")
def breakage(
    network: str,
    policy: Annotated[
        str | None, typer.Argument(help="kept, returned or shared; omitted: show the policy in force")
    ] = None,
    share_bp: Annotated[int | None, typer.Option(help="shared: the seller's share in basis points")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Show or set what an expired card's balance becomes (GET/PUT /v1/admin/gift-card-breakage)."""

    async def work(services: Services) -> dict[str, Any]:
        ref = await network_of(services, network)
        if policy is None:
            return await services.gift_cards.breakage(ref.id)
        return await services.gift_cards.set_breakage(ref.id, policy, share_bp)

    _print(run(settings_for(database_url), work))


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
