"""A member's opening balance brought from another system (a file import, docs/files.md): one transaction of kind
`opening` per member, funded by the settlement node.

A positive points balance moves points from the node's `points_issued` to the member, in one lot the node grants (no
partner owes for points earned before the network kept the books) that expires as the program says from the import;
a negative balance (a debt the other system carried) moves them the other way and makes no lot, as a debt has none.
Money on the member's wallet moves in the same transaction from the node's `prepaid` account (where a top-up's money
comes from, the node's own as for a gift card it issues: no partner of this network took that cash) to the wallet.
A zero balance of both writes nothing. No points' value moves: it was settled, or not, in the old system.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from coalition.domain.bonus import BonusProgram
from coalition.domain.ledger import Transaction, TransactionKind, require_valid, transfer
from coalition.domain.purchase import BonusPlan, lot_expiry, new_lot

MAX_OPENING_POINTS = 10**12


@dataclass(frozen=True, slots=True)
class WalletOpening:
    """Money for a member's new wallet: from the node's PREPAID account of the asset to the wallet's account."""

    node_prepaid_account: int
    wallet_account: int
    asset: str  # money:<currency>
    amount_minor: int  # ≥ 0


def plan_opening_balance(
    program: BonusProgram,
    points_issued: int,
    member_points: int,
    points: int,
    now: datetime,
    memo: str,
    wallet: WalletOpening | None = None,
) -> BonusPlan | None:
    """The opening transaction of a member who has no points (nor wallet money) yet, and their lot; None when both
    balances are zero."""
    money = wallet.amount_minor if wallet is not None else 0
    if points == 0 and money == 0:
        return None
    if abs(points) > MAX_OPENING_POINTS:
        raise ValueError(f"an opening balance is at most {MAX_OPENING_POINTS} points either way")
    if money < 0:
        raise ValueError("an opening wallet balance is at least zero")
    postings = transfer(points_issued, member_points, program.points_asset, points)
    if wallet is not None:
        postings += transfer(wallet.node_prepaid_account, wallet.wallet_account, wallet.asset, money)
    transaction = require_valid(Transaction(TransactionKind.OPENING, postings, memo=memo))
    lot = new_lot(points, lot_expiry(program, now), (), None) if points > 0 else None
    return BonusPlan(transaction, () if lot is None else (lot,), points)
