"""Simulating a draft rule set over the stored purchases of a period: nothing is written (issue 3, point 8).

Each stored purchase is priced again by the draft: the same basket, outlet, local time and member, with the member's
lifetime spend before that purchase (the sum of their earlier checks; refunds are not subtracted) and the same points
redeemed, capped by what the draft allows. The report sets what the draft would have given next to what was recorded
(the rule set or bonus program in force then): points issued, discounts, redemption capacity, cost by partner, and
the members whose outcome would change.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from coalition.domain.errors import InvalidInput
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

    def merge(self, other: Totals) -> None:
        for name in ("purchases", "check_minor", "discount_minor", "points_issued", "points_redeemed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.redemption_capacity_points += other.redemption_capacity_points
        for partner, cost in other.cost_by_partner_minor.items():
            self.cost_by_partner_minor[partner] += cost

    def plain(self) -> dict[str, Any]:
        return {name: value for name, value in vars(self).items() if name != "cost_by_partner_minor"} | {
            "cost_by_partner_minor": dict(self.cost_by_partner_minor)
        }

    @classmethod
    def from_plain(cls, data: dict[str, Any]) -> Totals:
        totals = cls(**{k: v for k, v in data.items() if k != "cost_by_partner_minor"})
        totals.cost_by_partner_minor.update(data["cost_by_partner_minor"])
        return totals

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
    zones: dict[str, ZoneInfo] = field(default_factory=dict)

    def add(self, sale: StoredSale, lifetime_before_minor: int) -> None:
        value = self.point_value_minor
        recorded_discount = max(sale.check_minor - sale.amount_due_minor - sale.points_redeemed * value, 0)
        self._count(self.recorded, sale, recorded_discount, sale.points_earned, sale.points_redeemed, 0)
        zone = self.zones.get(sale.timezone)
        if zone is None:
            zone = self.zones[sale.timezone] = ZoneInfo(sale.timezone)
        facts = PurchaseFacts(
            lines=sale.lines or (LineFacts("", sale.check_minor),),
            outlet=sale.outlet,
            partner=sale.partner,
            member=MemberFacts(lifetime_spend_minor=lifetime_before_minor),
            now_utc=sale.occurred_at,
            local_time=sale.occurred_at.astimezone(zone),
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
        draft_outcome = (evaluation.discount_minor, earned, redeemed)
        if draft_outcome != (recorded_discount, sale.points_earned, sale.points_redeemed):
            self.members_affected.add(sale.member_id)

    def _count(self, totals: Totals, sale: StoredSale, discount: int, earned: int, redeemed: int, cap: int) -> None:
        totals.purchases += 1
        totals.check_minor += sale.check_minor
        totals.discount_minor += discount
        totals.points_issued += earned
        totals.points_redeemed += redeemed
        totals.redemption_capacity_points += cap
        totals.cost_by_partner_minor[sale.partner] += discount + earned * self.point_value_minor

    def partial(self) -> dict[str, Any]:
        """Plain data (picklable), for `report_of`."""
        return {
            "rule_set_version": self.rules.version,
            "point_value_minor": self.point_value_minor,
            "recorded": self.recorded.plain(),
            "draft": self.draft.plain(),
            "members": sorted(self.members),
            "members_affected": sorted(self.members_affected),
            "rules_applied": dict(self.rules_applied),
        }


def report_of(partials: list[dict[str, Any]], currency: str) -> dict[str, Any]:
    """The report of a simulation run in one or several stretches."""
    recorded, draft = Totals(), Totals()
    members: set[int] = set()
    affected: set[int] = set()
    applied: dict[str, int] = defaultdict(int)
    for part in partials:
        recorded.merge(Totals.from_plain(part["recorded"]))
        draft.merge(Totals.from_plain(part["draft"]))
        members.update(part["members"])
        affected.update(part["members_affected"])
        for code, count in part["rules_applied"].items():
            applied[code] += count
    point_value_minor = partials[0]["point_value_minor"]
    return {
        "rule_set_version": partials[0]["rule_set_version"],
        "recorded": recorded.json(currency, point_value_minor),
        "draft": draft.json(currency, point_value_minor),
        "members": len(members),
        "members_affected": len(affected),
        "rules_applied": dict(sorted(applied.items())),
    }


def check_period(start: datetime, end: datetime) -> None:
    for moment, name in ((start, "from"), (end, "to")):
        if moment.tzinfo is None:
            raise InvalidInput("a moment needs its offset, e.g. +03:00", field=name)
    if not start < end or (end - start).days > MAX_PERIOD_DAYS:
        raise InvalidInput(f"'to' must be after 'from', at most {MAX_PERIOD_DAYS} days later", field="to")


def split_period(start: datetime, end: datetime, parts: int) -> list[tuple[datetime, datetime]]:
    """[start, end) in `parts` consecutive stretches of (nearly) equal length."""
    step = (end - start) / parts
    bounds = [start + step * index for index in range(parts)] + [end]
    return list(itertools.pairwise(bounds))
