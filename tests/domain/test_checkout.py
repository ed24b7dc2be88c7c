"""`decide`, the one decision of a purchase, without a database: the context and the sale in, the decision out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from coalition.domain.checkout import CheckoutContext, Sale, Till, decide, gift_codes, needs_open_visit
from coalition.domain.errors import Conflict, Forbidden, InvalidInput
from coalition.domain.gifts import GiftType
from coalition.domain.ledger import require_valid
from coalition.domain.limits import PurchaseLimits
from coalition.domain.lots import Lot
from coalition.domain.permissions import POINTS, Matrix, Operation, Permission
from coalition.domain.purchase import BasketLine, MemberPoints
from coalition.domain.rules.context import MemberFacts
from tests.domain.rules.support import rules
from tests.domain.support import ACCOUNTS, GRANTOR, MONEY, posting_set, small_shop
from tests.domain.support import POINTS as POINTS_ASSET

MOSCOW = ZoneInfo("Europe/Moscow")
TILL = Till(outlet_id=9, outlet_name="Shop till", partner_id=GRANTOR, partner_name="Shop", zone=MOSCOW)
MORNING = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)  # 11:00 in Moscow
AFTERNOON = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)  # 14:00 in Moscow
WITH_POINTS = MemberPoints(500, 0, (Lot(1, 500, None, GRANTOR),))

RULES = rules(
    """
rules:
  - code: morning
    window: {until: "12:00"}
    effects: [{discount: {percent: "10"}}]
  - code: points
    effects:
      - accrue_percent: {percent: "5", expiry: {days: 30}}
      - set_redemption: {cap_percent: "50"}
"""
)


def _context(**overrides: object) -> CheckoutContext:
    context = CheckoutContext(till=TILL, program=small_shop(), accounts=ACCOUNTS, member_id=7, points=WITH_POINTS)
    return replace(context, **overrides) if overrides else context


def _sale(amount_minor: int = 100_000, redeem: int | None = None, moment: datetime = MORNING) -> Sale:
    return Sale(amount_minor, (), redeem, moment)


def test_without_a_rule_set_the_bonus_program_prices_the_check():
    decision = decide(_context(), _sale(200_000, redeem=100))
    q = decision.quote
    # the small shop: 3 % of what is paid in money, up to 15 % of a check from 1,500.00 paid with points
    assert (q.check_minor, q.redeem_points, q.amount_due_minor, q.points_to_earn) == (200_000, 100, 190_000, 57)
    assert (q.max_redeemable_points, q.tier) == (300, small_shop().tiers[0])
    assert decision.balance_after == 500 - 100 + 57
    assert decision.lifetime_spend_after_minor == 200_000
    assert [(take.lot_id, take.points) for take in decision.lot_takes] == [(1, 100)]
    assert decision.transaction is not None
    require_valid(decision.transaction)
    assert (4, MONEY, -5700) in posting_set(decision.transaction)  # the partner owes the node 57 points' value
    assert (1, POINTS_ASSET, 57) in posting_set(decision.transaction)  # gross postings: earned and spent apart


def test_the_rule_set_prices_at_the_sales_own_local_time_and_expiries_start_then():
    morning = decide(_context(rules=RULES), _sale(100_000, moment=MORNING))
    afternoon = decide(_context(rules=RULES), _sale(100_000, moment=AFTERNOON))
    assert (morning.quote.discount_minor, morning.quote.points_to_earn) == (10_000, 45)
    assert (afternoon.quote.discount_minor, afternoon.quote.points_to_earn) == (0, 50)
    assert [lot.expires_at for lot in afternoon.new_lots] == [AFTERNOON + timedelta(days=30)]


def test_the_same_context_and_sale_give_the_same_decision():
    context, sale = _context(rules=RULES), _sale(50_000, redeem=40)
    assert decide(context, sale) == decide(context, sale)


def test_where_spending_is_forbidden_no_points_are_offered_and_asking_is_refused():
    matrix = Matrix(frozenset({Permission(TILL.outlet_id, POINTS, Operation.ACCRUE)}))
    offered = decide(_context(matrix=matrix), _sale())  # 1,000.00: 30 points, none may pay
    assert (offered.quote.max_redeemable_points, offered.quote.redeem_points) == (0, 0)
    assert offered.quote.points_to_earn == 30
    with pytest.raises(Forbidden, match="may not spend points"):
        decide(_context(matrix=matrix), _sale(200_000, redeem=10))
    no_accrual = Matrix(frozenset({Permission(TILL.outlet_id, POINTS, Operation.SPEND)}))
    with pytest.raises(Forbidden, match="may not accrue points"):
        decide(_context(matrix=no_accrual), _sale())


def test_the_networks_point_limit_refuses_the_purchase():
    with pytest.raises(InvalidInput):
        decide(_context(limits=PurchaseLimits(max_points_per_purchase=10)), _sale())


def test_gifts_coupons_and_tiers_come_from_the_applied_rules():
    granted = rules(
        """
rules:
  - code: big
    effects:
      - grant_gift: {gift_type: free-photo, valid_days: 2}
      - issue_coupon: {campaign: back-soon, valid_days: 7}
      - set_tier: {tier: gold}
"""
    )
    photo = GiftType(3, "free-photo", "A free photo", 30_000, 2, frozenset({GRANTOR}))
    decision = decide(_context(rules=granted, gift_types={"free-photo": photo}), _sale())
    assert [(g.gift_type, g.valid_days) for g in decision.gifts] == [(photo, 2)]
    assert [(c.campaign, c.valid_days, c.uses) for c in decision.coupons_issued] == [("back-soon", 7, 1)]
    assert decision.new_tier == "gold"
    already_gold = _context(rules=granted, gift_types={"free-photo": photo}, history=MemberFacts(tier="gold"))
    assert decide(already_gold, _sale()).new_tier is None
    with pytest.raises(Conflict, match="free-photo"):
        decide(_context(rules=granted), _sale())  # the catalogue has no such gift type
    assert gift_codes(granted, "Shop", "Shop till") == ("free-photo",)


def test_the_rule_set_tells_the_loader_what_to_read():
    by_visit = rules(
        """
rules:
  - code: pool
    effects: [{accrue_fixed: {points: 5, expiry: {kind: end_of_visit}}}]
"""
    )
    assert needs_open_visit(by_visit, "Shop", "Shop till")
    assert not needs_open_visit(RULES, "Shop", "Shop till")
    assert not needs_open_visit(None, "Shop", "Shop till")
    assert gift_codes(RULES, "Shop", "Shop till") == ()


def test_a_basket_of_lines_is_priced_line_by_line():
    drinks = rules(
        """
rules:
  - code: drinks
    effects: [{discount: {percent: "20", lines: {categories: [drinks]}}}]
"""
    )
    lines = (BasketLine("latte", "drinks", 2000, 15_000), BasketLine("cake", "food", 1000, 30_000))
    decision = decide(_context(rules=drinks), Sale(60_000, lines, None, MORNING))
    assert (decision.quote.discount_minor, decision.quote.amount_due_minor) == (6_000, 54_000)
