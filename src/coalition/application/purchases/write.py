"""Write: a decision made into the rows storage writes — the purchase, the coupons it uses and issues, the gifts it
grants (their codes and ids drawn here) — and the typed answer stored with them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from coalition.application.commands import PurchaseInput
from coalition.application.ports import MemberRef, NewPurchase, PosUnitOfWork, TerminalContext
from coalition.application.purchases.results import (
    GrantedGift,
    IssuedCoupon,
    PurchaseResult,
    SoldCard,
    paid_by,
    points_expiring,
)
from coalition.application.record_ids import new_record_id
from coalition.domain.checkout import Decision
from coalition.domain.coupons import Coupon, NewCoupon, issued_coupon
from coalition.domain.gifts import Gift, GiftState, grant_transaction
from coalition.domain.purchase import BasketLine, PointsAccounts
from coalition.domain.records import fast_init


@fast_init
@dataclass(frozen=True, slots=True)
class Extras:
    """What a purchase writes beyond its points: the coupons it uses, the coupons and the gifts its rules grant."""

    purchase_id: str
    used: tuple[Coupon, ...]
    issued: tuple[NewCoupon, ...]
    gifts: tuple[Gift, ...] = ()
    recorded_at: datetime | None = None  # the server's time of the write

    @classmethod
    def of(cls, decision: Decision, purchase_id: str, member_id: int, now: datetime) -> Extras:
        """Coupons and gifts valid from the server's `now`: they are issued when the purchase is recorded."""
        if not decision.coupons_issued and not decision.gifts:  # most purchases: nothing to draw
            return cls(purchase_id, decision.coupons_used, (), (), now)
        issued = tuple(
            issued_coupon(issue.campaign, member_id, issue.valid_days, issue.uses, now, purchase_id)
            for issue in decision.coupons_issued
        )
        gifts = tuple(
            Gift(
                new_record_id(),
                grant.gift_type,
                member_id,
                grant.outlets,
                now,
                now + timedelta(days=grant.valid_days),
                GiftState.GRANTED,
            )
            for grant in decision.gifts
        )
        return cls(purchase_id, decision.coupons_used, issued, gifts, now)

    @property
    def needs_more_statements(self) -> bool:
        return bool(self.issued or self.gifts or self.used)

    async def write(
        self, uow: PosUnitOfWork, ctx: TerminalContext, accounts: PointsAccounts, money_asset: str, now: datetime
    ) -> None:
        if self.used:
            await uow.use_coupons([(coupon.id, self.purchase_id) for coupon in self.used], now)
        if self.issued:
            await uow.add_coupons(ctx.network_id, self.issued, now)
        await self.write_gifts(uow, ctx, accounts, money_asset, now)

    async def write_gifts(
        self, uow: PosUnitOfWork, ctx: TerminalContext, accounts: PointsAccounts, money_asset: str, now: datetime
    ) -> None:
        """Each gift granted: the granting partner owes the node its price (its own `gift` transaction)."""
        for gift in self.gifts:
            memo = f"gift {gift.id} granted: {gift.gift_type.name}"
            tx = grant_transaction(
                accounts.partner_obligations, accounts.node_obligations, money_asset, gift.gift_type.price_minor, memo
            )
            tx_id = await uow.post(ctx.network_id, tx, ctx.outlet_id, now, now)
            await uow.insert_gift(ctx.network_id, gift, ctx.outlet_id, tx_id, self.purchase_id)


def purchase_record(
    ctx: TerminalContext,
    purchase: PurchaseInput,
    member: MemberRef,
    receipt: str,
    lines: tuple[BasketLine, ...],
    decision: Decision,
    occurred_at: datetime,
) -> NewPurchase:
    """The purchase row to store, with a new id."""
    quote = decision.quote
    return NewPurchase(
        id=new_record_id(),
        terminal=ctx,
        cashier_login=purchase.cashier,
        member=member,
        receipt=receipt,
        check_minor=quote.check_minor,
        points_redeemed=quote.redeem_points,
        amount_due_minor=quote.amount_due_minor,
        points_earned=quote.points_to_earn,
        lines=lines,
        occurred_at=occurred_at,
        rule_set_version=quote.rule_set_version,
        applied_rules=quote.applied_rules,
        discount_minor=quote.discount_minor,
        new_tier=decision.new_tier,
    )


def purchase_result(
    purchase: NewPurchase,
    decision: Decision,
    extras: Extras,
    currency: str,
    *,
    tendered: bool = False,
    sold: tuple[SoldCard, ...] = (),
) -> PurchaseResult:
    """The answer to a committed purchase, stored with it for replays; gift cards it sold are collected with the
    rest at the till."""
    return PurchaseResult(
        id=purchase.id,
        receipt=purchase.receipt,
        amount_minor=purchase.check_minor,
        discount_minor=purchase.discount_minor,
        amount_due_minor=purchase.amount_due_minor,
        currency=currency,
        points_redeemed=purchase.points_redeemed,
        points_earned=purchase.points_earned,
        points_balance=decision.balance_after - _expired_on_arrival(decision, extras.recorded_at),
        occurred_at=purchase.occurred_at,
        rule_set_version=purchase.rule_set_version,
        applied_rules=purchase.applied_rules,
        tier=purchase.new_tier,
        # most purchases use, issue and grant nothing: no generator to run for them
        coupons_used=tuple([coupon.code for coupon in extras.used]) if extras.used else (),
        coupons_issued=tuple([IssuedCoupon.of(coupon) for coupon in extras.issued]) if extras.issued else (),
        gifts_granted=tuple([GrantedGift.of(gift) for gift in extras.gifts]) if extras.gifts else (),
        points_expiring=points_expiring(decision.new_lots),
        tenders=paid_by(decision, tendered),
        to_collect_minor=decision.to_collect_minor + sum(card.amount_minor for card in sold),
        gift_cards_sold=sold,
    )


def _expired_on_arrival(decision: Decision, recorded_at: datetime | None) -> int:
    """Points of this purchase's new lots already expired when it is recorded: an offline sale's expiries count
    from its own time, so an old enough one earns points that are gone on upload. The balance the answer shows is
    the one the member has, as the member summary shows it; the next sweep writes their expiry."""
    if recorded_at is None:
        return 0
    return sum(lot.points for lot in decision.new_lots if lot.expires_at is not None and lot.expires_at <= recorded_at)
