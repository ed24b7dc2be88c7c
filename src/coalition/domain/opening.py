"""A member's opening balance brought from another system (a file import, docs/files.md): one transaction of kind
`opening` per member, funded by the settlement node.

A positive balance moves points from the node's `points_issued` to the member, in one lot the node grants (no
partner owes for points earned before the network kept the books) that expires as the program says from the import;
a negative balance (a debt the other system carried) moves them the other way and makes no lot, as a debt has none.
A zero balance writes nothing. No money moves: the points' value was settled, or not, in the old system.
"""

from __future__ import annotations

from datetime import datetime

from coalition.domain.bonus import BonusProgram
from coalition.domain.ledger import Transaction, TransactionKind, require_valid, transfer
from coalition.domain.purchase import BonusPlan, lot_expiry, new_lot

MAX_OPENING_POINTS = 10**12


def plan_opening_balance(
    program: BonusProgram, points_issued: int, member_points: int, points: int, now: datetime, memo: str
) -> BonusPlan | None:
    """The opening transaction of a member who has no points yet, and their lot; None for a zero balance."""
    if points == 0:
        return None
    if abs(points) > MAX_OPENING_POINTS:
        raise ValueError(f"an opening balance is at most {MAX_OPENING_POINTS} points either way")
    postings = transfer(points_issued, member_points, program.points_asset, points)
    transaction = require_valid(Transaction(TransactionKind.OPENING, postings, memo=memo))
    lot = new_lot(points, lot_expiry(program, now), (), None) if points > 0 else None
    return BonusPlan(transaction, () if lot is None else (lot,), points)
