"""The one decision of a purchase: priced, checked against the network's limits and permissions, planned as a ledger
transaction with its lots. Pure: the quote, the purchase, a batch's item and an offline upload all call `decide`."""

from __future__ import annotations

from dataclasses import dataclass, replace

from coalition.domain.bonus import Quote
from coalition.domain.checkout.context import CheckoutContext, Sale
from coalition.domain.coupons import Coupon
from coalition.domain.errors import Conflict
from coalition.domain.gifts import GiftType
from coalition.domain.ledger import Transaction, TransactionKind, money_asset, require_valid
from coalition.domain.lots import LotTake
from coalition.domain.permissions import POINTS, Operation, gift_counter
from coalition.domain.purchase import AccrualPlace, NewLot, plan_purchase, points_balance
from coalition.domain.records import fast_init
from coalition.domain.rules.builtin import builtin_quote, quote_in_force
from coalition.domain.rules.context import LineFacts, MemberFacts, PurchaseFacts
from coalition.domain.tenders import NO_TENDERS, TenderApplied, TenderKind, TenderPlan, apply_tenders
from coalition.domain.wallets import wallet_counter


@dataclass(frozen=True, slots=True)
class CouponIssue:
    """A coupon an applied rule issues to the member (its code is drawn when it is written)."""

    campaign: str
    valid_days: int
    uses: int


@dataclass(frozen=True, slots=True)
class GiftGrant:
    """A gift an applied rule grants the member (its id is drawn when it is written)."""

    gift_type: GiftType
    outlets: frozenset[str]
    valid_days: int


@fast_init
@dataclass(frozen=True, slots=True)
class Decision:
    """What a purchase does: its prices and points (`quote`), the ledger transaction (None when no points move),
    the points taken from each lot and the lots the earned points go to, the member's figures after it, the coupons
    it uses and issues, the gifts it grants and the tier it moves the member to."""

    quote: Quote
    transaction: Transaction | None
    lot_takes: tuple[LotTake, ...]
    new_lots: tuple[NewLot, ...]
    balance_after: int
    lifetime_spend_after_minor: int
    coupons_used: tuple[Coupon, ...] = ()
    coupons_issued: tuple[CouponIssue, ...] = ()
    gifts: tuple[GiftGrant, ...] = ()
    new_tier: str | None = None
    tenders: tuple[TenderApplied, ...] = ()  # what each tender paid, in the order given
    to_collect_minor: int = 0  # what is left to take at the till: the amount due less the tenders

    @property
    def wallet_debits(self) -> tuple[tuple[int, int], ...]:
        """(wallet account, minor units) the tenders take from wallets, once per wallet."""
        debits: dict[int, int] = {}
        for tender in self.tenders:
            if tender.kind is TenderKind.WALLET:
                debits[tender.account_id] = debits.get(tender.account_id, 0) + tender.amount_minor
        return tuple(debits.items())


def decide(context: CheckoutContext, sale: Sale) -> Decision:
    """Price the sale at its moment, within what this outlet may do, and plan its writes. Raises the domain's
    refusals (a redemption not allowed, too few points, an operation the matrix forbids, a limit passed)."""
    quote = _within_permissions(context, price(context, sale))
    context.limits.require_points(quote.redeem_points, quote.points_to_earn)
    till, matrix = context.till, context.matrix
    if quote.points_to_earn > 0:
        matrix.require(till.outlet_id, till.outlet_name, POINTS, Operation.ACCRUE)
    for code, _, _ in quote.gifts_to_grant:
        matrix.require(till.outlet_id, till.outlet_name, gift_counter(code), Operation.GRANT)
    plan = plan_purchase(
        context.program,
        context.accounts,
        context.points,
        sale.check_minor,
        sale.redeem_points,
        sale.moment,
        priced=quote,
        place=AccrualPlace(till.zone, context.open_visit_id),
    )
    tenders = _tenders(context, sale, quote.amount_due_minor)
    return Decision(
        quote=quote,
        transaction=_with_tenders(plan.transaction, tenders),
        lot_takes=plan.lot_takes,
        new_lots=plan.new_lots,
        balance_after=plan.balance_after,
        lifetime_spend_after_minor=plan.lifetime_spend_after_minor,
        coupons_used=context.coupons if quote.uses_coupons else (),
        coupons_issued=_coupon_issues(quote) if quote.coupons_to_issue else (),
        gifts=_gifts(context, quote) if quote.gifts_to_grant else (),
        new_tier=_tier_change(context, quote),
        tenders=tenders.applied,
        to_collect_minor=tenders.to_collect_minor if sale.tenders else quote.amount_due_minor,
    )


def _tenders(context: CheckoutContext, sale: Sale, amount_due_minor: int) -> TenderPlan:
    """The sale's tenders paid from what is left after discounts and points, where the matrix lets this outlet
    take them (`spend` on `wallet:<currency>`; gift cards: `spend` on `gift_card`)."""
    if not sale.tenders:
        return NO_TENDERS
    till, currency = context.till, context.program.currency
    for kind in dict.fromkeys(tender.kind for tender in sale.tenders):  # in the order named
        counter = wallet_counter(currency) if kind is TenderKind.WALLET else "gift_card"
        context.matrix.require(till.outlet_id, till.outlet_name, counter, Operation.SPEND)
    if context.prepaid_account is None:
        raise ValueError("a sale with tenders needs the outlet's PREPAID account in its context")
    return apply_tenders(sale.tenders, context.funds, amount_due_minor, context.prepaid_account, money_asset(currency))


def _with_tenders(transaction: Transaction | None, tenders: TenderPlan) -> Transaction | None:
    """The purchase's transaction with the tenders' postings (a transaction of its own when no points move)."""
    if not tenders.postings:
        return transaction
    if transaction is None:
        return require_valid(Transaction(TransactionKind.PURCHASE, tenders.postings))
    return require_valid(
        Transaction(transaction.kind, (*transaction.postings, *tenders.postings), memo=transaction.memo)
    )


def price(context: CheckoutContext, sale: Sale) -> Quote:
    """The one place a check is priced: by the rule set in force at the sale's moment, at the outlet's local time
    then; with none published, by the network's bonus program written as a rule set (one pricing engine)."""
    spendable = points_balance(context.points, sale.moment)
    if context.rules is None:  # the built-in set reads only the lifetime spend: no facts to build
        return builtin_quote(
            context.program,
            lifetime_spend_minor=context.points.lifetime_spend_minor,
            spendable_points=spendable,
            check_minor=sum(line.total_minor for line in sale.lines) if sale.lines else sale.check_minor,
            redeem_points=sale.redeem_points,
        )
    facts = PurchaseFacts(
        lines=tuple(
            LineFacts(line.sku, line.total_minor, line.quantity_milli, line.unit_price_minor, line.category, line.tags)
            for line in sale.lines
        )
        or (LineFacts("", sale.check_minor),),
        outlet=context.till.outlet_name,
        partner=context.till.partner_name,
        member=_member_facts(context, spendable),
        now_utc=sale.moment,
        local_time=sale.moment.astimezone(context.till.zone),
        coupons=frozenset(coupon.code for coupon in context.coupons),
        coupon_campaigns=frozenset(coupon.campaign for coupon in context.coupons),
    )
    return quote_in_force(
        context.rules, context.program, facts, spendable_points=spendable, redeem_points=sale.redeem_points
    )


def _member_facts(context: CheckoutContext, spendable: int) -> MemberFacts:
    lifetime = context.points.lifetime_spend_minor
    if context.history is None:
        return MemberFacts(lifetime_spend_minor=lifetime, points_balance=spendable)
    return replace(context.history, lifetime_spend_minor=lifetime, points_balance=spendable)


def _within_permissions(context: CheckoutContext, quote: Quote) -> Quote:
    """Where the matrix forbids spending points, none are offered; asking for some is refused."""
    till = context.till
    if context.matrix.allows(till.outlet_id, POINTS, Operation.SPEND):
        return quote
    if quote.redeem_points > 0:
        context.matrix.require(till.outlet_id, till.outlet_name, POINTS, Operation.SPEND)
    return replace(quote, max_redeemable_points=0)


def _tier_change(context: CheckoutContext, quote: Quote) -> str | None:
    """The tier an applied rule moves the member to; None when no rule does or they are in it already."""
    if quote.new_tier is None or (context.history is not None and context.history.tier == quote.new_tier):
        return None
    return quote.new_tier


def _coupon_issues(quote: Quote) -> tuple[CouponIssue, ...]:
    return tuple(CouponIssue(campaign, days, uses) for campaign, days, uses in quote.coupons_to_issue)


def _gifts(context: CheckoutContext, quote: Quote) -> tuple[GiftGrant, ...]:
    grants = []
    for code, outlets, days in quote.gifts_to_grant:
        gift_type = context.gift_types.get(code)
        if gift_type is None:
            raise Conflict(f"the rule set grants gift type '{code}', which this network does not have", field="rules")
        grants.append(GiftGrant(gift_type, outlets, days))
    return tuple(grants)
