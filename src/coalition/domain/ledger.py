"""Double-entry ledger entries: immutable transactions of postings that sum to zero per asset.

An asset is a string code: ``points:<program code>`` for a program's points, ``money:<ISO currency>`` for
money (obligations between partners and the settlement node, prepaid wallets). Validation is a tuple of
pure checks, each returning the problems it finds; `require_valid` raises if any check finds one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from coalition.domain.errors import LedgerInvariantViolated
from coalition.domain.records import fast_init

MAX_POSTINGS_PER_TRANSACTION = 64
MAX_ABS_POSTING = 10**15


def points_asset(program_code: str) -> str:
    return f"points:{program_code}"


def money_asset(currency: str) -> str:
    return f"money:{currency}"


class OwnerKind(StrEnum):
    MEMBER = "member"
    PARTNER = "partner"
    NODE = "node"  # the network's settlement node
    GIFT_CARD = "gift_card"  # a gift card's own account (owner_id: the card's id)


class AccountPurpose(StrEnum):
    MEMBER_POINTS = "member_points"  # a member's points of one program
    POINTS_ISSUED = "points_issued"  # node: source of every point granted (runs negative)
    POINTS_REDEEMED = "points_redeemed"  # node: sink of every point accepted as payment
    POINTS_BREAKAGE = "points_breakage"  # node: sink of points that expired unused
    OBLIGATIONS = "obligations"  # partner or node, in money: positive = the node owes the partner
    MEMBER_WALLET = "member_wallet"  # a member's prepaid money of one currency: credit = the node owes the member
    GIFT_CARD = "gift_card"  # a gift card's money (never below 0)
    PREPAID = "prepaid"  # partner or node, money from prepaid money, apart from OBLIGATIONS: + = the node owes
    PREPAID_BREAKAGE = "prepaid_breakage"  # node: gift-card money that expired unused and the node keeps
    HELD_MONEY = "held_money"  # node, one per currency: wallet money a device holds until it captures or releases it


class TransactionKind(StrEnum):
    PURCHASE = "purchase"
    REFUND = "refund"
    EXPIRY = "expiry"
    ADJUSTMENT = "adjustment"
    REVERSAL = "reversal"
    BONUS = "bonus"  # points a rule grants outside a purchase: a welcome bonus at enrolment
    GIFT = "gift"  # a gift granted (the granting partner owes the node its price) or honoured (the node owes)
    TOP_UP = "top_up"  # money put on a member's wallet (the partner that took it owes the node)
    GIFT_CARD_SALE = "gift_card_sale"  # a gift card sold (or issued by the administrator)
    GIFT_CARD_EXPIRY = "gift_card_expiry"  # a gift card's unused money to breakage
    DEVICE_HOLD = "device_hold"  # a device holds wallet money (wallet −A, held +A)
    DEVICE_CHARGE = "device_charge"  # a hold captured: held −A, the device's partner PREPAID +C, wallet +(A − C)
    DEVICE_RELEASE = "device_release"  # a hold voided or expired: held −A, wallet +A
    OPENING = "opening"  # a member's opening balance brought from another system by a file import (docs/files.md)


@fast_init
@dataclass(frozen=True, slots=True)
class Posting:
    account_id: int
    asset: str
    amount: int  # points or minor units; positive credits the account, negative debits it


@fast_init
@dataclass(frozen=True, slots=True)
class Transaction:
    kind: TransactionKind
    postings: tuple[Posting, ...]
    reverses_tx_id: int | None = None
    memo: str = ""


Check = Callable[[Transaction], list[str]]


def _has_postings(tx: Transaction) -> list[str]:
    if len(tx.postings) < 2:
        return [f"a transaction needs at least two postings, got {len(tx.postings)}"]
    if len(tx.postings) > MAX_POSTINGS_PER_TRANSACTION:
        return [f"a transaction has at most {MAX_POSTINGS_PER_TRANSACTION} postings"]
    return []


def _amounts_in_range(tx: Transaction) -> list[str]:
    return [
        f"posting to account {p.account_id} has amount {p.amount}, outside (0, {MAX_ABS_POSTING}]"
        for p in tx.postings
        if p.amount == 0 or abs(p.amount) > MAX_ABS_POSTING
    ]


def _balanced_per_asset(tx: Transaction) -> list[str]:
    return [
        f"postings in {asset} sum to {total}, not 0" for asset, total in sums_per_asset(tx.postings).items() if total
    ]


CHECKS: tuple[Check, ...] = (_has_postings, _amounts_in_range, _balanced_per_asset)


def sums_per_asset(postings: Iterable[Posting]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for posting in postings:
        totals[posting.asset] += posting.amount
    return dict(totals)


def validate(tx: Transaction) -> list[str]:
    return [problem for check in CHECKS for problem in check(tx)]


def require_valid(tx: Transaction) -> Transaction:
    """The transaction, or LedgerInvariantViolated naming every problem `validate` finds. The same checks in one
    pass first (every purchase and batch item calls this): only a transaction that fails one is run through the
    checks one by one, for their words."""
    if not _passes(tx.postings):
        raise LedgerInvariantViolated("; ".join(validate(tx)) or "the transaction breaks a ledger invariant")
    return tx


def _passes(postings: tuple[Posting, ...]) -> bool:
    """True when `validate` finds no problem: 2 to 64 postings, each amount in (0, MAX] by size, zero per asset."""
    if not 2 <= len(postings) <= MAX_POSTINGS_PER_TRANSACTION:
        return False
    totals: dict[str, int] = {}
    for posting in postings:
        amount = posting.amount
        if amount == 0 or not -MAX_ABS_POSTING <= amount <= MAX_ABS_POSTING:
            return False
        totals[posting.asset] = totals.get(posting.asset, 0) + amount
    return not any(totals.values())


def transfer(from_account: int, to_account: int, asset: str, amount: int) -> tuple[Posting, ...]:
    """Two postings moving `amount` of `asset`; nothing when the amount is zero."""
    if amount == 0:
        return ()
    return (Posting(from_account, asset, -amount), Posting(to_account, asset, amount))


def reversal_of(original: Transaction, original_tx_id: int, memo: str = "") -> Transaction:
    """The transaction that undoes `original` exactly: every posting negated, referencing it."""
    postings = tuple(Posting(p.account_id, p.asset, -p.amount) for p in original.postings)
    return require_valid(Transaction(TransactionKind.REVERSAL, postings, reverses_tx_id=original_tx_id, memo=memo))
