"""A device's offline uses (issue 15): a machine that lost the network keeps selling to a card, within its offline
limit per card, and uploads each use later with its own key and its original time.

A use is priced by the price list in force when it happened and paid straight from the wallet to the device's
partner (one DEVICE_CHARGE: wallet −P, the partner's PREPAID +P; no hold). What the wallet cannot pay (its balance
plus credit limit, and its daily limit) stays unpaid: the partner bears it, since it chose to sell offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from coalition.domain.errors import InvalidInput
from coalition.domain.ledger import Transaction, TransactionKind, money_asset, require_valid, transfer

MAX_UPLOAD_USES = 500
MAX_AHEAD = timedelta(minutes=5)  # a device's clock a little fast
MAX_AGE = timedelta(days=30)  # older uses are not charged any more (the device must have come back by then)


@dataclass(frozen=True, slots=True)
class Payment:
    paid_minor: int
    unpaid_minor: int

    @property
    def short(self) -> bool:
        return self.unpaid_minor > 0


def use_moment(occurred_at: datetime, now: datetime, device_created_at: datetime) -> datetime:
    """The use's moment when it may be charged: with an offset, at most 5 minutes ahead of the server, at most 30
    days old, and not before the device existed."""
    if occurred_at.tzinfo is None or occurred_at.utcoffset() is None:
        raise InvalidInput("occurred_at needs a time zone offset, such as Z or +03:00", field="occurred_at")
    if occurred_at > now + MAX_AHEAD:
        raise InvalidInput(
            f"occurred_at is more than 5 minutes after the server's time ({now.isoformat()})", field="occurred_at"
        )
    if occurred_at < now - MAX_AGE:
        raise InvalidInput("occurred_at is more than 30 days old: too late to charge it", field="occurred_at")
    if occurred_at < device_created_at:
        raise InvalidInput(
            f"occurred_at is before the device existed ({device_created_at.isoformat()})", field="occurred_at"
        )
    return occurred_at


def payment(price_minor: int, payable_minor: int) -> Payment:
    """What the wallet pays of a price: all of it when it can, else what it can (never below zero)."""
    paid = min(price_minor, max(0, payable_minor))
    return Payment(paid, price_minor - paid)


def over_offline_limit(card_total_minor: int, offline_limit_minor: int) -> bool:
    """The card's uses of one upload so far (this one included) exceed what the device may sell it offline."""
    return card_total_minor > offline_limit_minor


def plan_offline_charge(
    wallet_account: int, prepaid_account: int, currency: str, paid_minor: int, memo: str = "device offline use"
) -> Transaction:
    return require_valid(
        Transaction(
            TransactionKind.DEVICE_CHARGE,
            transfer(wallet_account, prepaid_account, money_asset(currency), paid_minor),
            memo=memo,
        )
    )
