"""Simulating a draft rule set over the stored purchases of a period: nothing is written (issue 3, point 8).

Each stored purchase is priced again by the draft: the same basket, outlet, local time and member, with the member's
lifetime spend before that purchase (the sum of their earlier checks; refunds are not subtracted) and the same points
redeemed, capped by what the draft allows. The report sets what the draft would have given next to what was recorded
(the rule set or bonus program in force then): points issued, discounts, redemption capacity, cost by partner, and
the members whose outcome would change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from coalition.domain.money import format_minor
from coalition.domain.rules.context import LineFacts, MemberFacts, PurchaseFacts
from coalition.domain.rules.engine import CompiledRuleSet, evaluate

PAGE_SIZE = 2000
MAX_PERIOD_DAYS = 3660


@dataclass(frozen=True, slots=True)
class StoredSale:
    """A stored purchase as the simulation needs it."""

    purchase_id: str
    occurred_at: datetime
    outlet: str
    partner: str
    timezone: str
    member_id: int
    lifetime_before_minor: int
    check_minor: int
    amount_due_minor: int
    points_redeemed: int
    points_earned: int
    lines: tuple[LineFacts, ...]


@dataclass
class Totals:
    purchases: int = 0
    check_minor: int = 0
    discount_minor: int = 0
    points_issued: int = 0
    points_redeemed: int = 0
    redemption_capacity_points: int = 0
    cost_by_partner_minor: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def json(self, currency: str, point_value_minor: int) -> dict[str, Any]:
        def money(minor: int) -> str:
            return format_minor(minor, currency)

        return {
            "purchases": self.purchases,
            "checks": money(self.check_minor),
            "discounts": money(self.discount_minor),
            "points_issued": self.points_issued,
            "points_issued_value": money(self.points_issued * point_value_minor),
            "points_redeemed": self.points_redeemed,
            "redemption_capacity_points": self.redemption_capacity_points if self.redemption_capacity_points else None,
            "cost_by_partner": {partner: money(cost) for partner, cost in sorted(self.cost_by_partner_minor.items())},
        }


@dataclass
class Simulation:
    """Accumulates the recorded outcome and the draft's outcome, one stored purchase at a time."""

    rules: CompiledRuleSet
    point_value_minor: int
    recorded: Totals = field(default_factory=Totals)
    draft: Totals = field(default_factory=Totals)
    members: set[int] = field(default_factory=set)
    members_affected: set[int] = field(default_factory=set)
    rules_applied: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, sale: StoredSale) -> None:
        value = self.point_value_minor
        recorded_discount = max(sale.check_minor - sale.amount_due_minor - sale.points_redeemed * value, 0)
        self._count(self.recorded, sale, recorded_discount, sale.points_earned, sale.points_redeemed, 0)
        local = sale.occurred_at.astimezone(ZoneInfo(sale.timezone))
        facts = PurchaseFacts(
            lines=sale.lines or (LineFacts("", sale.check_minor),),
            outlet=sale.outlet,
            partner=sale.partner,
            member=MemberFacts(lifetime_spend_minor=sale.lifetime_before_minor),
            now_utc=sale.occurred_at,
            local_time=local,
        )
        evaluation = evaluate(self.rules, facts)
        cap = evaluation.max_redeemable_points(value)
        redeemed = min(sale.points_redeemed, cap)
        paid = evaluation.after_discounts_minor - redeemed * value
        earned = sum(grant.points for grant in evaluation.points_earned(paid, value))
        self._count(self.draft, sale, evaluation.discount_minor, earned, redeemed, cap)
        for code in evaluation.applied_rules:
            self.rules_applied[code] += 1
        self.members.add(sale.member_id)
        if (evaluation.discount_minor, earned, redeemed) != (
            recorded_discount,
            sale.points_earned,
            sale.points_redeemed,
        ):
            self.members_affected.add(sale.member_id)

    def _count(self, totals: Totals, sale: StoredSale, discount: int, earned: int, redeemed: int, cap: int) -> None:
        totals.purchases += 1
        totals.check_minor += sale.check_minor
        totals.discount_minor += discount
        totals.points_issued += earned
        totals.points_redeemed += redeemed
        totals.redemption_capacity_points += cap
        totals.cost_by_partner_minor[sale.partner] += discount + earned * self.point_value_minor

    def report(self, currency: str) -> dict[str, Any]:
        return {
            "rule_set_version": self.rules.version,
            "recorded": self.recorded.json(currency, self.point_value_minor),
            "draft": self.draft.json(currency, self.point_value_minor),
            "members": len(self.members),
            "members_affected": len(self.members_affected),
            "rules_applied": dict(sorted(self.rules_applied.items())),
        }


async def simulate(
    rules: CompiledRuleSet,
    sales: AsyncIterator[list[StoredSale]],
    point_value_minor: int,
    currency: str,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    simulation = Simulation(rules, point_value_minor)
    async for page in sales:
        for sale in page:
            simulation.add(sale)
        if progress is not None:
            progress(len(page))
    return simulation.report(currency)
