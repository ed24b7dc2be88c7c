"""A member's prepaid wallet: money of one currency the node owes the member (issue 14, MONEY.md).

A top-up of A at an outlet of partner P (P took the cash) posts P.PREPAID −A, wallet +A; a wallet payment is a
tender of the purchase (domain/tenders.py). The wallet may go down to −credit limit (0 unless the administrator sets
one) and, with a daily spending limit, spend at most that much a day. A closed wallet neither pays nor takes money.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from coalition.domain.errors import Conflict, InvalidInput
from coalition.domain.ledger import Transaction, TransactionKind, money_asset, require_valid, transfer
from coalition.domain.money import format_minor
from coalition.domain.tenders import Funds, TenderKind


class WalletStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


def wallet_counter(currency: str) -> str:
    """The permissions matrix's counter of a currency's wallets."""
    return f"wallet:{currency}"


@dataclass(frozen=True, slots=True)
class Wallet:
    account_id: int
    member_id: int
    currency: str
    balance_minor: int
    credit_limit_minor: int = 0
    daily_spend_limit_minor: int | None = None
    status: WalletStatus = WalletStatus.OPEN

    @property
    def floor_minor(self) -> int:
        return -self.credit_limit_minor

    @property
    def available_minor(self) -> int:
        """What it can pay, the daily limit aside: down to −credit limit."""
        return max(0, self.balance_minor + self.credit_limit_minor)

    def daily_left_minor(self, spent_today_minor: int) -> int | None:
        if self.daily_spend_limit_minor is None:
            return None
        return max(0, self.daily_spend_limit_minor - spent_today_minor)

    def funds(self, spent_today_minor: int) -> Funds:
        """The wallet as a tender's source."""
        return Funds(
            kind=TenderKind.WALLET,
            account_id=self.account_id,
            currency=self.currency,
            balance_minor=self.balance_minor,
            floor_minor=self.floor_minor,
            label=f"wallet {self.currency}",
            spend_left_minor=self.daily_left_minor(spent_today_minor),
            refusal="the wallet is closed" if self.status is WalletStatus.CLOSED else None,
        )


def top_up_amount(amount_minor: int, max_amount_minor: int, currency: str) -> int:
    """A top-up is positive and at most the network's purchase amount limit."""
    if amount_minor <= 0:
        raise InvalidInput("a top-up is greater than zero", field="amount")
    if amount_minor > max_amount_minor:
        raise InvalidInput(
            f"a top-up is at most {format_minor(max_amount_minor, currency)} {currency} here", field="amount"
        )
    return amount_minor


def plan_top_up(wallet: Wallet, prepaid_account: int, amount_minor: int, memo: str = "wallet top-up") -> Transaction:
    """The partner that took the money owes it to the node (its PREPAID −A), the node owes it to the member."""
    require_open(wallet, field="customer")
    asset = money_asset(wallet.currency)
    return require_valid(
        Transaction(
            TransactionKind.TOP_UP, transfer(prepaid_account, wallet.account_id, asset, amount_minor), memo=memo
        )
    )


def require_open(wallet: Wallet, *, field: str) -> None:
    if wallet.status is WalletStatus.CLOSED:
        raise Conflict("the member's wallet is closed", field=field)


def checked_credit_limit(credit_limit_minor: int, max_amount_minor: int, balance_minor: int, currency: str) -> int:
    """At least 0, at most the network's amount limit, and not below what the wallet already owes."""
    if not 0 <= credit_limit_minor <= max_amount_minor:
        raise InvalidInput(
            f"a credit limit is between 0 and {format_minor(max_amount_minor, currency)} {currency}",
            field="credit_limit",
        )
    if balance_minor + credit_limit_minor < 0:
        raise InvalidInput(
            f"the wallet owes {format_minor(-balance_minor, currency)} {currency}: the credit limit cannot be lower",
            field="credit_limit",
        )
    return credit_limit_minor


def checked_daily_limit(daily_minor: int | None, max_amount_minor: int, currency: str) -> int | None:
    if daily_minor is None:
        return None
    if not 0 < daily_minor <= max_amount_minor:
        raise InvalidInput(
            f"a daily spending limit is greater than 0 and at most {format_minor(max_amount_minor, currency)} "
            f"{currency}",
            field="daily_spend_limit",
        )
    return daily_minor


def wallet_currency(requested: str | None, network_currency: str) -> str:
    """The network's currency: a wallet of another is refused (one currency per network for now)."""
    if requested is None or requested.strip().upper() == network_currency:
        return network_currency
    raise InvalidInput(f"wallets here hold {network_currency} only", field="currency")
