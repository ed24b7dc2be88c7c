"""`coalition wallets …`: a member's prepaid wallet (balance, limits, history), its limits and closing, and the
network's wallet liability (docs/wallets.md). A member is named by any identifier (card, phone, …) or `id:<n>`.
Answers are JSON, like the neighbouring commands; every change is audited as the operator's (common.run)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from coalition.adapters.cli.common import DatabaseOption, network_of, run, settings_for
from coalition.application.wallet_admin import UNCHANGED, WalletAdmin
from coalition.application.wallets_pos import MAX_HISTORY, history_json
from coalition.domain.money import format_minor
from coalition.wiring import Services

wallets_app = typer.Typer(help="Members' prepaid wallets: balance, limits, history, liability.", no_args_is_help=True)
Member = Annotated[str, typer.Argument(help="any identifier of the member (card, phone, …), or id:<member id>")]


def _print(answer: Any) -> None:
    print(json.dumps(answer, indent=2, ensure_ascii=False))


@wallets_app.command("show")
def show(
    network: str,
    member: Member,
    lines: Annotated[int, typer.Option(min=1, max=MAX_HISTORY, help="how many of the latest movements")] = 100,
    timezone: Annotated[str, typer.Option(help="whose midnight starts today's spending (the outlets' zone)")] = "UTC",
    database_url: DatabaseOption = None,
) -> None:
    """The member's wallet: balance, credit and daily limits, what it can pay now, and its movements (oldest first)."""

    async def work(services: Services) -> dict[str, Any]:
        ref = await network_of(services, network)
        admin = WalletAdmin(services.pos)
        member_id = await admin.member_of(ref.id, member)
        found = await admin.overview(ref.id, ref.currency, member_id, timezone, lines)
        if found is None:
            return {"member": member_id, "currency": ref.currency, "wallet": None, "history": []}
        history = history_json(list(found.lines), ref.currency, member_id)["lines"]
        return found.view.json() | {"history": history}

    _print(run(settings_for(database_url), work))


@wallets_app.command("limits")
def limits(
    network: str,
    member: Member,
    credit_limit: Annotated[
        str | None, typer.Option(help="the wallet may go down to −this, e.g. 30.00; 0: none")
    ] = None,
    daily_limit: Annotated[
        str | None, typer.Option(help="at most this much a day, e.g. 80.00; 'none' removes it")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Set the credit limit and/or the daily spending limit (the same command as PUT /v1/admin/members/{id}/wallet)."""

    async def work(services: Services) -> dict[str, Any]:
        ref = await network_of(services, network)
        admin = WalletAdmin(services.pos)
        member_id = await admin.member_of(ref.id, member)
        daily: str | object | None = UNCHANGED
        if daily_limit is not None:
            daily = None if daily_limit.strip().lower() == "none" else daily_limit
        return await admin.set_limits(
            ref.id, ref.currency, member_id, credit_limit=credit_limit, daily_spend_limit=daily
        )

    _print(run(settings_for(database_url), work))


@wallets_app.command("close")
def close(network: str, member: Member, database_url: DatabaseOption = None) -> None:
    """Close the member's wallet: it pays no more and takes no refunds."""

    async def work(services: Services) -> dict[str, Any]:
        ref = await network_of(services, network)
        admin = WalletAdmin(services.pos)
        return await admin.close(ref.id, ref.currency, await admin.member_of(ref.id, member), None)

    _print(run(settings_for(database_url), work))


@wallets_app.command("liability")
def liability(network: str, database_url: DatabaseOption = None) -> None:
    """What the network owes its members on their wallets, per currency, and the credit it extended."""

    async def work(services: Services) -> list[dict[str, Any]]:
        ref = await network_of(services, network)
        found = await services.wallet_reports.liability(ref.id)
        return [
            {
                "currency": row.currency,
                "wallets": row.wallets,
                "closed": row.closed,
                "owed_to_members": format_minor(row.owed_to_members_minor, row.currency),
                "credit_in_use": format_minor(row.owed_by_members_minor, row.currency),
                "net_liability": format_minor(row.balance_minor, row.currency),
                "credit_extended": format_minor(row.credit_extended_minor, row.currency),
            }
            for row in found.wallets
        ]

    _print(run(settings_for(database_url), work))
