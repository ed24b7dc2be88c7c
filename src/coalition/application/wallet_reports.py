"""What the administrator, an owner and a member read of money on the card (issue 14): the network's wallet liability
(what the node owes its members, per currency, and the credit it extended), and one member's wallet with its history.

Top-ups and wallet payments per outlet over a period are figures of the sales reports (application/reports.py:
`Figures.top_up_minor`, `wallet_paid_minor`, …), so the console's money page, its reports and the owner's e-mail
read them from one query. Gift cards' liability (their unspent balances) is a figure of its own beside the wallets'
when gift cards are merged: `MoneyOnCards` gains it.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from coalition.application.pos_ports.wallets import WalletLine, WalletsPort
from coalition.application.wallets_pos import WalletView


@dataclass(frozen=True, slots=True)
class WalletLiability:
    """Members' wallets of one currency: what the node owes on them, net and in each direction."""

    currency: str
    wallets: int
    closed: int
    balance_minor: int  # the sum of the balances: what the node owes its members, net of their debts
    owed_to_members_minor: int  # the positive balances
    owed_by_members_minor: int  # the credit in use: minus the negative balances
    credit_extended_minor: int  # the credit limits granted (used or not)


@dataclass(frozen=True, slots=True)
class MoneyOnCards:
    wallets: tuple[WalletLiability, ...]


class WalletReportsUnitOfWork(Protocol):
    async def wallet_liability(self, network_id: int) -> list[WalletLiability]: ...


class WalletReportsUnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[WalletReportsUnitOfWork]: ...


class WalletReports:
    def __init__(self, unit_of_work: WalletReportsUnitOfWorkFactory) -> None:
        self.unit_of_work = unit_of_work

    async def liability(self, network_id: int) -> MoneyOnCards:
        """The network's members' wallets summed per currency (from their running balances, which `coalition verify`
        checks against the postings)."""
        async with self.unit_of_work() as uow:
            return MoneyOnCards(tuple(await uow.wallet_liability(network_id)))


@dataclass(frozen=True, slots=True)
class WalletOverview:
    """A member's wallet and its latest movements (oldest first, each with the balance after it)."""

    view: WalletView
    lines: tuple[WalletLine, ...]

    @property
    def newest_first(self) -> tuple[WalletLine, ...]:
        return tuple(reversed(self.lines))


async def read_wallet(
    uow: WalletsPort, member_id: int, currency: str, day_start: datetime, limit: int
) -> WalletOverview | None:
    """The member's wallet of `currency` with its last `limit` movements; None when they never had one. What it can
    pay today counts what purchases took since `day_start` (the reader's midnight) under a daily limit."""
    wallet = await uow.wallet(member_id, currency)
    if wallet is None:
        return None
    spent = 0 if wallet.daily_spend_limit_minor is None else await uow.wallet_spent_since(wallet.account_id, day_start)
    lines = await uow.wallet_history(wallet.account_id, limit)
    return WalletOverview(WalletView.of(member_id, currency, wallet, spent), tuple(lines))
