"""Tenders: money on the card paying part of a purchase after its discounts and points (issue 14, MONEY.md).

A purchase's amount due (the check less the rules' discounts and the points' value) is paid by the tenders the till
names, in the order given — a member's wallet, gift cards — and the remainder, `to_collect`, in cash or by bank
card at the till. Each tender's money moves from its source (the wallet, the card) to the outlet's partner's
PREPAID account: the node owes the partner what it served against prepaid money. A source is any `Funds` — the
wallet's and a gift card's are the same shape, so gift cards plug in without this module knowing them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from coalition.domain.errors import InsufficientFunds, InvalidInput
from coalition.domain.ledger import Posting
from coalition.domain.money import format_minor, prorate_floor
from coalition.domain.records import fast_init

MAX_TENDERS = 8


class TenderKind(StrEnum):
    WALLET = "wallet"
    GIFT_CARD = "gift_card"


@fast_init
@dataclass(frozen=True, slots=True)
class TenderRequest:
    """One tender as the till names it: `amount_minor` None pays as much as the source can of what is left."""

    kind: TenderKind
    amount_minor: int | None = None
    gift_card_number: str | None = None
    pin: str | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class Funds:
    """A source of money read before deciding: its ledger account, balance and floor (a wallet's −credit limit,
    a gift card's 0), what it may still spend today (None: no daily limit), and why it may not pay at all."""

    kind: TenderKind
    account_id: int
    currency: str
    balance_minor: int
    floor_minor: int = 0
    label: str = ""
    spend_left_minor: int | None = None
    gift_card_number: str | None = None  # which card, for a gift card's funds
    refusal: str | None = None  # e.g. the wallet is closed, the card expired

    @property
    def available_minor(self) -> int:
        """What it can pay now: down to its floor, and within what is left of its daily limit."""
        above_floor = max(0, self.balance_minor - self.floor_minor)
        return above_floor if self.spend_left_minor is None else max(0, min(above_floor, self.spend_left_minor))


@fast_init
@dataclass(frozen=True, slots=True)
class TenderApplied:
    kind: TenderKind
    account_id: int
    amount_minor: int
    label: str = ""


@dataclass(frozen=True, slots=True)
class TenderPlan:
    applied: tuple[TenderApplied, ...]
    to_collect_minor: int
    postings: tuple[Posting, ...]

    @property
    def paid_minor(self) -> int:
        return sum(tender.amount_minor for tender in self.applied)

    def spent_from(self, account_id: int) -> int:
        return sum(tender.amount_minor for tender in self.applied if tender.account_id == account_id)


NO_TENDERS = TenderPlan((), 0, ())


def funds_for(request: TenderRequest, funds: Sequence[Funds]) -> Funds | None:
    """The source a tender names: the wallet (of the purchase's currency), or the gift card by its number."""
    for source in funds:
        if source.kind is not request.kind:
            continue
        if request.kind is TenderKind.WALLET or source.gift_card_number == request.gift_card_number:
            return source
    return None


def apply_tenders(
    requests: Sequence[TenderRequest],
    funds: Sequence[Funds],
    amount_due_minor: int,
    prepaid_account: int,
    asset: str,
) -> TenderPlan:
    """Pay `amount_due_minor` with the tenders in the order given; the rest is to collect at the till. A tender
    asking more than is left to pay or than its source can pay is refused naming `tenders[i].amount`; a tender whose
    source cannot pay at all, `tenders[i]`. Postings: each source − its amount, the outlet's PREPAID account + it."""
    if len(requests) > MAX_TENDERS:
        raise InvalidInput(f"a purchase has at most {MAX_TENDERS} tenders", field="tenders")
    left = amount_due_minor
    spent: dict[int, int] = {}
    applied: list[TenderApplied] = []
    for index, request in enumerate(requests):
        source = funds_for(request, funds)
        if source is None:
            raise InsufficientFunds(f"the member has no {request.kind.value} to pay with", field=f"tenders[{index}]")
        if source.refusal is not None:
            raise InsufficientFunds(source.refusal, field=f"tenders[{index}]")
        available = max(0, source.available_minor - spent.get(source.account_id, 0))
        if request.amount_minor is None:
            amount = min(available, left)
            if amount == 0 and left > 0:
                raise InsufficientFunds(f"the {request.kind.value} has nothing left to pay", field=f"tenders[{index}]")
        else:
            amount = request.amount_minor
            if amount <= 0:
                raise InvalidInput("a tender's amount is greater than zero", field=f"tenders[{index}].amount")
            if amount > left:
                raise InvalidInput(
                    "a tender's amount is more than is left to pay after discounts, points and the tenders before it",
                    field=f"tenders[{index}].amount",
                )
            if amount > available:
                raise InsufficientFunds(
                    f"the {request.kind.value} can pay at most {format_minor(available, source.currency)} "
                    f"{source.currency} now",
                    field=f"tenders[{index}].amount",
                )
        if amount == 0:
            continue
        spent[source.account_id] = spent.get(source.account_id, 0) + amount
        left -= amount
        applied.append(TenderApplied(source.kind, source.account_id, amount, source.label))
    return TenderPlan(tuple(applied), left, tender_postings(applied, prepaid_account, asset))


def tender_postings(applied: Sequence[TenderApplied], prepaid_account: int, asset: str) -> tuple[Posting, ...]:
    """Each source once (−), the partner's PREPAID account once (+ everything): few postings per purchase."""
    by_source: dict[int, int] = {}
    for tender in applied:
        by_source[tender.account_id] = by_source.get(tender.account_id, 0) + tender.amount_minor
    total = sum(by_source.values())
    if not total:
        return ()
    return (
        *(Posting(account, asset, -amount) for account, amount in by_source.items()),
        Posting(prepaid_account, asset, total),
    )


def refunded_tenders(applied: Sequence[TenderApplied], amount_minor: int) -> tuple[TenderApplied, ...]:
    """What a refund of `amount_minor` of money paid returns to each tender: the last tender first (the reverse of
    the order they paid in), each at most what it paid. What is left after them goes back at the till."""
    left = amount_minor
    back: list[TenderApplied] = []
    for tender in reversed(applied):
        if left <= 0:
            break
        amount = min(tender.amount_minor, left)
        back.append(TenderApplied(tender.kind, tender.account_id, amount, tender.label))
        left -= amount
    return tuple(back)


def refund_to_sources(
    paid: Sequence[tuple[int, int]],
    refunded_before_minor: int,
    refund_minor: int,
    check_minor: int,
    prepaid_account: int,
    asset: str,
) -> tuple[tuple[tuple[int, int], ...], tuple[Posting, ...]]:
    """What a refund returns to each source that paid (account, minor units paid), in the reverse order of the
    tenders, each prorated like the rest of the refund (cumulative shares: refunds of the whole check return each
    source exactly what it paid); and the postings: the refunding partner's PREPAID −, each source +."""
    returns = []
    for account, amount in reversed(paid):
        share = prorate_floor(amount, refunded_before_minor + refund_minor, check_minor) - prorate_floor(
            amount, refunded_before_minor, check_minor
        )
        if share:
            returns.append((account, share))
    total = sum(share for _, share in returns)
    if not total:
        return (), ()
    postings = (
        Posting(prepaid_account, asset, -total),
        *(Posting(account, asset, share) for account, share in returns),
    )
    return tuple(returns), postings
