"""Building rule sets from the YAML of the docs, and purchases as the rules see them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import yaml

from coalition.domain.rules.context import LineFacts, MemberFacts, PurchaseFacts
from coalition.domain.rules.engine import CompiledRuleSet, Evaluation, compile_rule_set, evaluate
from coalition.domain.rules.model import Trigger
from coalition.domain.rules.parsing import parse_rule_set

CURRENCY = "RUB"
POINT_VALUE_MINOR = 100  # one point is worth 1.00
NOON = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)


def rules(text: str) -> CompiledRuleSet:
    return compile_rule_set(parse_rule_set(yaml.safe_load(text), CURRENCY), version=1)


def line(
    sku: str, total: str, *, category: str | None = None, tags: tuple[str, ...] = (), quantity: int = 1
) -> LineFacts:
    units, _, cents = total.partition(".")
    total_minor = int(units) * 100 + int(cents or 0)
    return LineFacts(sku, total_minor, quantity * 1000, total_minor // quantity, category, frozenset(tags))


def purchase(
    *lines: LineFacts,
    outlet: str = "shop",
    partner: str = "acme",
    at: datetime = NOON,
    coupons: tuple[str, ...] = (),
    lifetime: int = 0,
    period: int = 0,
    previous_period: int = 0,
    segments: tuple[str, ...] = (),
    card_type: str = "standard",
    birth_date: date | None = None,
) -> PurchaseFacts:
    member = MemberFacts(
        segments=frozenset(segments),
        lifetime_spend_minor=lifetime,
        period_spend_minor=period,
        previous_period_spend_minor=previous_period,
        card_type=card_type,
        birth_date=birth_date,
    )
    return PurchaseFacts(lines, outlet, partner, member, at, at, frozenset(coupons))


def amount(total: str) -> PurchaseFacts:
    return purchase(line("", total))


def run(
    rule_set: CompiledRuleSet, facts: PurchaseFacts, trigger: Trigger = Trigger.PURCHASE, *, explain: bool = False
) -> Evaluation:
    return evaluate(rule_set, facts, trigger, explain=explain)


def earned(evaluation: Evaluation, redeemed_points: int = 0) -> int:
    paid = evaluation.after_discounts_minor - redeemed_points * POINT_VALUE_MINOR
    return sum(grant.points for grant in evaluation.points_earned(paid, POINT_VALUE_MINOR))
