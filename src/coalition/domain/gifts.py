"""Gifts: a catalogue item a partner hands over at an agreed settlement price, and one member's right to it.

A rule's `grant_gift` effect gives the member a gift when a purchase at one outlet commits; the granting outlet's
partner then owes the settlement node the gift's price. An outlet of a partner that hands the gift type over (or one
the rule named) honours it — once — and the node then owes that partner the price. Both are money postings on the
obligations accounts, in ledger transactions of kind `gift`, so settlement counts them with the points.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from coalition.domain.errors import Conflict, Forbidden, InvalidInput
from coalition.domain.ledger import Transaction, TransactionKind, require_valid, reversal_of, transfer
from coalition.domain.members import parse_label

MAX_GIFT_PRICE_MINOR = 10**10
MAX_GIFT_DAYS = 3660


class GiftState(StrEnum):
    GRANTED = "granted"
    HONOURED = "honoured"
    EXPIRED = "expired"  # not handed over in time


class GiftBreakage(StrEnum):
    """What happens to the granting partner's obligation when a gift expires unused (per network)."""

    KEPT = "kept"  # the node keeps the price the partner owes
    RELEASED = "released"  # the grant is reversed: the partner owes nothing for it


def release_transaction(grant: Transaction, grant_tx_id: int, gift_id: str, why: str = "expired") -> Transaction:
    """The granting partner's obligation for a gift not handed over, released (it expired, or the purchase that
    granted it was refunded in full): the grant transaction reversed exactly."""
    return reversal_of(grant, grant_tx_id, memo=f"gift {gift_id} {why}: obligation released")


@dataclass(frozen=True, slots=True)
class GiftType:
    id: int
    code: str
    name: str
    price_minor: int  # what the node pays the partner that hands it over
    valid_days: int
    partner_ids: frozenset[int]  # partners whose outlets hand it over


@dataclass(frozen=True, slots=True)
class Gift:
    id: str
    gift_type: GiftType
    member_id: int
    outlets: frozenset[str]  # named by the granting rule; empty: any outlet of the gift type's partners
    granted_at: datetime
    valid_until: datetime
    state: GiftState


def parse_gift_type(code: str, name: str, price_minor: int, valid_days: int) -> tuple[str, str]:
    label = parse_label(code, field="code")
    if not name.strip() or len(name) > 200:
        raise InvalidInput("a gift type needs a name of 1 to 200 characters", field="name")
    if not 0 < price_minor <= MAX_GIFT_PRICE_MINOR:
        raise InvalidInput("a gift's agreed price is more than zero", field="price")
    if not 1 <= valid_days <= MAX_GIFT_DAYS:
        raise InvalidInput(f"a gift is valid 1 to {MAX_GIFT_DAYS} days", field="valid_days")
    return label, name.strip()


def require_honourable(gift: Gift, outlet: str, partner_id: int, now: datetime) -> None:
    """May this outlet hand the gift over now? Refusals name the reason."""
    if gift.state is GiftState.HONOURED:
        raise Conflict(f"gift {gift.id} was handed over already", field="gift_id")
    if now >= gift.valid_until or gift.state is GiftState.EXPIRED:
        raise Conflict(f"gift {gift.id} expired at {gift.valid_until.isoformat()}", field="gift_id")
    if gift.outlets:
        if outlet not in gift.outlets:
            raise Forbidden(f"'{gift.gift_type.name}' is handed over only at {', '.join(sorted(gift.outlets))}")
    elif partner_id not in gift.gift_type.partner_ids:
        raise Forbidden(f"this outlet's partner does not hand over '{gift.gift_type.name}'")


def grant_transaction(
    partner_obligations: int, node_obligations: int, money_asset: str, price_minor: int, memo: str
) -> Transaction:
    """Granting: the granting partner owes the node the gift's price."""
    postings = transfer(partner_obligations, node_obligations, money_asset, price_minor)
    return require_valid(Transaction(TransactionKind.GIFT, postings, memo=memo))


def honour_transaction(
    partner_obligations: int, node_obligations: int, money_asset: str, price_minor: int, memo: str
) -> Transaction:
    """Honouring: the node owes the partner that handed it over the gift's price."""
    postings = transfer(node_obligations, partner_obligations, money_asset, price_minor)
    return require_valid(Transaction(TransactionKind.GIFT, postings, memo=memo))
