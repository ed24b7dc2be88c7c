"""Evaluating a published rule set on one event: which rules fire, which apply, and what they give.

Order of application (docs/rules.md):
1. Candidates: the rule's trigger, scope and window match; then its condition holds.
2. Stacking: in an exclusive group only the highest-priority firing rule applies; in a best-of group only the one
   worth most to the customer (discount plus points at their value); stackable rules all apply.
3. Discounts, in priority order: every percent is taken of a line's price before discounts, so percents add
   (3 % + 5 % = 8 %, as the brief's "added to the minimum discount" says); fixed amounts come after, spread over
   their lines in proportion to what is left. No line goes below zero.
4. Points are earned on the money actually paid: the check after discounts less the points redeemed.
Every division rounds down, once per rule, and is named where it happens.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from coalition.domain.money import BASIS_POINTS_PER_WHOLE, round_down_div
from coalition.domain.rules.context import (
    COUPON_ROOTS,
    ContextFields,
    LineFacts,
    PurchaseFacts,
    fields_used,
    to_context,
)
from coalition.domain.rules.expressions import Condition, ExpressionError, activation, compile_condition
from coalition.domain.rules.model import (
    ALWAYS,
    AccrueFixed,
    AccruePercent,
    Discount,
    DiscountTarget,
    Effect,
    GrantGift,
    IssueCoupon,
    LineSelector,
    Per,
    PointsExpiry,
    ResetBalances,
    Rule,
    RuleSet,
    SetRedemption,
    SetTier,
    SpendBasis,
    SpendTierDiscount,
    Stacking,
    Trigger,
)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    condition: Condition
    position: int  # in application order
    timed: bool  # has a window to check


MAX_CACHED_SCOPES = 10_000


@dataclass(frozen=True)
class CompiledRuleSet:
    """Conditions compiled once, when a rule set is published; rules kept in application order; the context
    fields the conditions use, so a purchase hands CEL only those (building CEL values costs more than evaluating);
    and an index of the rules that can apply per trigger and outlet."""

    version: int
    rules: tuple[CompiledRule, ...]
    context_fields: ContextFields
    needs_member_history: bool = False  # conditions or spend-tier effects read more than points and spend
    _candidates: dict[tuple[Trigger, str, str], tuple[CompiledRule, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @functools.cached_property
    def positions(self) -> dict[str, int]:
        """Each rule's place in application order, by code (outcomes are reported in that order)."""
        return {compiled.rule.code: compiled.position for compiled in self.rules}

    def candidates(self, trigger: Trigger, partner: str, outlet: str) -> tuple[CompiledRule, ...]:
        key = (trigger, partner, outlet)
        found = self._candidates.get(key)
        if found is None:
            found = tuple(c for c in self.rules if c.rule.trigger is trigger and c.rule.scope.matches(partner, outlet))
            if len(self._candidates) < MAX_CACHED_SCOPES:
                self._candidates[key] = found
        return found


def compile_rule_set(rule_set: RuleSet, version: int) -> CompiledRuleSet:
    ordered = sorted(rule_set.rules, key=lambda rule: (-rule.priority, rule.code))
    compiled = tuple(
        # the set was parsed, so its conditions were checked against their budget then (parsing.py)
        CompiledRule(rule, compile_condition(rule.condition, budgeted=False), position, rule.window != ALWAYS)
        for position, rule in enumerate(ordered)
    )
    fields = fields_used(rule.condition for rule in ordered)
    member_fields = fields.get("member", frozenset())
    history = member_fields is None or bool(member_fields & HISTORY_FIELDS)
    history = history or any(
        (isinstance(effect, SpendTierDiscount) and effect.basis is not SpendBasis.LIFETIME)
        or isinstance(effect, SetTier)  # the member's tier is read so that an unchanged one is not written again
        for rule in ordered
        for effect in rule.effects
    )
    return CompiledRuleSet(version, compiled, fields, history)


# member fields read from the database only when a rule set uses them (the purchase path reads points and spend)
HISTORY_FIELDS = frozenset(
    {
        "kind",
        "birth_date",
        "is_birthday",
        "visit_count",
        "period_spend_minor",
        "previous_period_spend_minor",
        "tier",
        "segments",
        "card_type",
    }
)


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """Why a rule did or did not apply: the quote-level explain."""

    code: str
    applied: bool
    reason: str


@dataclass(frozen=True, slots=True)
class PointsGrant:
    rule: str
    points: int
    expiry: PointsExpiry


@dataclass(frozen=True, slots=True)
class Evaluation:
    version: int
    line_totals_minor: tuple[int, ...]
    line_discounts_minor: tuple[int, ...]
    discounts_by_rule_minor: dict[str, int]
    outcomes: tuple[RuleOutcome, ...]
    redemption: SetRedemption | None
    redemption_rule: str | None
    accruals: tuple[tuple[str, AccruePercent | AccrueFixed], ...]
    gifts: tuple[tuple[str, GrantGift], ...] = ()
    coupons: tuple[tuple[str, IssueCoupon], ...] = ()
    tier: str | None = None
    reset: ResetBalances | None = None
    reads_coupons: bool = False  # an applied rule's condition reads the coupons: the presented ones are used
    selection: Selection | None = field(default=None, repr=False, compare=False)

    @property
    def check_minor(self) -> int:
        return sum(self.line_totals_minor)

    @property
    def discount_minor(self) -> int:
        return sum(self.line_discounts_minor)

    @property
    def after_discounts_minor(self) -> int:
        return self.check_minor - self.discount_minor

    @property
    def applied_rules(self) -> tuple[str, ...]:
        return tuple(outcome.code for outcome in self.outcomes if outcome.applied)

    def max_redeemable_points(self, point_value_minor: int) -> int:
        """The most points the rules let pay this check after discounts, before the member's balance."""
        policy = self.redemption
        due = self.after_discounts_minor
        if policy is None or due <= 0 or self.check_minor < policy.min_check_minor:
            return 0
        # rounding: the cap share rounds down to the minor unit, then down to whole points
        cap_minor = round_down_div(due * policy.cap_bp, BASIS_POINTS_PER_WHOLE)
        return round_down_div(cap_minor, point_value_minor)

    def points_earned(self, paid_minor: int, point_value_minor: int) -> tuple[PointsGrant, ...]:
        """Points per accrual rule on `paid_minor`, the money paid (after discounts, less points redeemed)."""
        if self.selection is None:
            return ()
        nets = [total - off for total, off in zip(self.line_totals_minor, self.line_discounts_minor, strict=True)]
        net_total = sum(nets)
        grants = []
        for code, effect in self.accruals:
            points = _accrued(effect, self.selection, nets, net_total, paid_minor, point_value_minor)
            if points > 0:
                grants.append(PointsGrant(code, points, effect.expiry))
        return tuple(grants)


class Selection:
    """Which lines each selector picks, worked out once per purchase and selector from an index of the lines by
    SKU, category and tag (rules share selectors, and a selector names few values)."""

    def __init__(self, lines: tuple[LineFacts, ...]) -> None:
        self.lines = lines
        self.every_line = tuple(range(len(lines)))
        self._found: dict[LineSelector, tuple[int, ...]] = {}
        self._indexed = False
        self._by_sku: dict[str, set[int]] = {}
        self._by_category: dict[str | None, set[int]] = {}
        self._by_tag: dict[str, set[int]] = {}

    def _index(self) -> None:
        """Built on the first narrowed selector only: most purchases meet none."""
        for index, line in enumerate(self.lines):
            self._by_sku.setdefault(line.sku, set()).add(index)
            self._by_category.setdefault(line.category, set()).add(index)
            for tag in line.tags:
                self._by_tag.setdefault(tag, set()).add(index)
        self._indexed = True

    def indexes(self, selector: LineSelector) -> tuple[int, ...]:
        if selector.everything:
            return self.every_line
        found = self._found.get(selector)
        if found is None:
            found = self._select(selector)
            self._found[selector] = found
        return found

    def _select(self, selector: LineSelector) -> tuple[int, ...]:
        if not self._indexed:
            self._index()
        chosen: set[int] = set(self.every_line) if not selector.narrowed else set()
        if selector.narrowed:
            chosen.update(*self._lines(selector.skus, selector.categories, selector.tags))
        chosen.difference_update(
            *self._lines(selector.exclude_skus, selector.exclude_categories, selector.exclude_tags)
        )
        return tuple(sorted(chosen))

    def _lines(self, skus: frozenset[str], categories: frozenset[str], tags: frozenset[str]) -> list[set[int]]:
        empty: set[int] = set()
        return (
            [self._by_sku.get(sku, empty) for sku in skus]
            + [self._by_category.get(category, empty) for category in categories]
            + [self._by_tag.get(tag, empty) for tag in tags]
        )


def _accrued(
    effect: AccruePercent | AccrueFixed,
    selection: Selection,
    nets: list[int],
    net_total: int,
    paid_minor: int,
    point_value_minor: int,
) -> int:
    chosen = selection.indexes(effect.lines)
    if isinstance(effect, AccrueFixed):
        if effect.per is Per.CHECK:
            return effect.points if chosen or not effect.lines.narrowed else 0
        return effect.points * sum(selection.lines[index].whole_units for index in chosen)
    if net_total <= 0 or paid_minor <= 0:
        return 0
    factors = {index: BASIS_POINTS_PER_WHOLE for index in chosen}
    for multiplier in effect.multipliers:
        for index in selection.indexes(multiplier.lines):
            if index in factors:  # rounding: exact for factors with at most four decimals
                factors[index] = factors[index] * multiplier.factor_bp // BASIS_POINTS_PER_WHOLE
    weighted = sum(nets[index] * factor for index, factor in factors.items())  # minor units × basis points
    # rounding: one floor per rule — weighted money × share paid in money × percent, down to whole points
    numerator = weighted * paid_minor * effect.percent_bp
    denominator = net_total * BASIS_POINTS_PER_WHOLE * BASIS_POINTS_PER_WHOLE * point_value_minor
    return round_down_div(numerator, denominator)


# --- evaluation -------------------------------------------------------------------------------------------------


def evaluate(
    rule_set: CompiledRuleSet, facts: PurchaseFacts, trigger: Trigger = Trigger.PURCHASE, *, explain: bool = False
) -> Evaluation:
    """What the rule set gives on this event. With `explain`, every rule of the set gets an outcome with its
    reason; without, only the rules that could apply here are looked at (the purchase path)."""
    context = activation(to_context(facts, rule_set.context_fields))
    selection = Selection(facts.lines)
    outcomes: dict[str, RuleOutcome] = {}
    if explain:
        firing = []
        for compiled in rule_set.rules:
            reason = _why_not(compiled, facts, trigger, context)
            if reason is None:
                firing.append(compiled.rule)
            else:
                outcomes[compiled.rule.code] = RuleOutcome(compiled.rule.code, False, reason)
    else:  # the candidates' trigger and scope already match
        pool = rule_set.candidates(trigger, facts.partner, facts.outlet)
        firing = [compiled.rule for compiled in pool if _fires_here(compiled, facts, context)]
    applied = _resolve_stacking(firing, facts, selection, outcomes)
    return _apply(rule_set.version, applied, facts, selection, outcomes, rule_set.positions)


def _fires_here(compiled: CompiledRule, facts: PurchaseFacts, context: Any) -> bool:
    if compiled.timed and not compiled.rule.window.is_open(facts.now_utc, facts.local_time):
        return False
    program = compiled.condition.program
    if program is None:
        return True
    try:
        return program.execute(context) is True  # a non-boolean result is refused at save time
    except (ExpressionError, KeyError, RuntimeError, TypeError, ValueError):
        return False  # explain says why; a failing condition never stops a purchase


def _why_not(compiled: CompiledRule, facts: PurchaseFacts, trigger: Trigger, context: Any) -> str | None:
    rule = compiled.rule
    if rule.trigger is not trigger:
        return f"its trigger is {rule.trigger.value}"
    if not rule.scope.matches(facts.partner, facts.outlet):
        return "this outlet is outside its scope"
    if not rule.window.is_open(facts.now_utc, facts.local_time):
        return "outside its time window"
    try:
        if not compiled.condition.holds(context):
            return f"its condition is false: {rule.condition}"
    except (ExpressionError, KeyError, RuntimeError, TypeError, ValueError) as error:
        return f"its condition could not be evaluated: {str(error)[:200]}"
    return None


def _resolve_stacking(
    firing: list[Rule], facts: PurchaseFacts, selection: Selection, outcomes: dict[str, RuleOutcome]
) -> list[Rule]:
    applied: list[Rule] = []
    winners: dict[str, Rule] = {}
    for rule in firing:  # already in priority order
        if rule.stacking is Stacking.STACKABLE or rule.group is None:
            applied.append(rule)
            continue
        if rule.group not in winners:
            group_rules = [r for r in firing if r.group == rule.group]
            alone = len(group_rules) == 1
            winners[rule.group] = (
                group_rules[0]
                if alone or rule.stacking is Stacking.EXCLUSIVE
                else _best_for_customer(group_rules, facts, selection)
            )
        winner = winners[rule.group]
        if winner is rule:
            applied.append(rule)
        else:
            how = "exclusive" if rule.stacking is Stacking.EXCLUSIVE else "best-of"
            outcomes[rule.code] = RuleOutcome(
                rule.code, False, f"{winner.code} applied instead ({how} group '{rule.group}')"
            )
    return applied


def _best_for_customer(rules: list[Rule], facts: PurchaseFacts, selection: Selection) -> Rule:
    """The rule worth most on its own: discount plus points valued at one minor unit each; ties go by priority."""
    totals = [line.total_minor for line in facts.lines]

    def worth(rule: Rule) -> int:
        discounts, _ = _discounts([(rule.code, effect) for effect in rule.effects], facts, selection, totals)
        nets = [total - off for total, off in zip(totals, discounts, strict=True)]
        paid = sum(nets)
        points = sum(
            _accrued(effect, selection, nets, paid, paid, 1)
            for effect in rule.effects
            if isinstance(effect, (AccruePercent, AccrueFixed))
        )
        return sum(discounts) + points

    return max(rules, key=worth)  # max keeps the first (highest priority) among equals


def _discounts(
    effects: list[tuple[str, Effect]], facts: PurchaseFacts, selection: Selection, totals: list[int]
) -> tuple[list[int], dict[str, int]]:
    """Per-line discounts and their amount per rule: percents first (of the price before discounts), then amounts."""
    discounts = [0] * len(totals)
    by_rule: dict[str, int] = {}
    amounts: list[tuple[str, Discount]] = []
    for code, effect in effects:
        if isinstance(effect, Discount) and effect.percent_bp is not None:
            wanted = _percent_off(selection, totals, effect.lines, effect.target, effect.percent_bp)
            _take(by_rule, code, discounts, totals, wanted, effect.max_minor)
        elif isinstance(effect, Discount):
            amounts.append((code, effect))
        elif isinstance(effect, SpendTierDiscount):
            share = effect.percent_for(_spend(effect.basis, facts))
            wanted = _percent_off(selection, totals, effect.lines, DiscountTarget.LINES, share)
            _take(by_rule, code, discounts, totals, wanted, None)
    for code, effect in amounts:
        remaining = [total - off for total, off in zip(totals, discounts, strict=True)]
        _take(by_rule, code, discounts, totals, _amount_off(selection, remaining, effect), effect.max_minor)
    return discounts, by_rule


def _apply(
    version: int,
    applied: list[Rule],
    facts: PurchaseFacts,
    selection: Selection,
    outcomes: dict[str, RuleOutcome],
    positions: dict[str, int],
) -> Evaluation:
    totals = [line.total_minor for line in facts.lines]
    redemption: SetRedemption | None = None
    redemption_rule: str | None = None
    accruals: list[tuple[str, AccruePercent | AccrueFixed]] = []
    gifts, coupons = [], []
    tier: str | None = None
    reset: ResetBalances | None = None
    for rule in applied:
        outcomes[rule.code] = RuleOutcome(rule.code, True, "applied")
        for effect in rule.effects:
            match effect:
                case SetRedemption() if redemption is None:  # the highest-priority applied rule sets it
                    redemption, redemption_rule = effect, rule.code
                case AccruePercent() | AccrueFixed():
                    accruals.append((rule.code, effect))
                case GrantGift():
                    gifts.append((rule.code, effect))
                case IssueCoupon():
                    coupons.append((rule.code, effect))
                case SetTier() if tier is None:
                    tier = effect.tier
                case ResetBalances():
                    reset = effect
    discount_effects = [(rule.code, effect) for rule in applied for effect in rule.effects]
    discounts, by_rule = _discounts(discount_effects, facts, selection, totals)
    return Evaluation(
        version=version,
        line_totals_minor=tuple(totals),
        line_discounts_minor=tuple(discounts),
        discounts_by_rule_minor=by_rule,
        outcomes=tuple(sorted(outcomes.values(), key=lambda outcome: positions[outcome.code])),
        redemption=redemption,
        redemption_rule=redemption_rule,
        accruals=tuple(accruals),
        gifts=tuple(gifts),
        coupons=tuple(coupons),
        tier=tier,
        reset=reset,
        reads_coupons=any(_reads_coupons(rule.condition) for rule in applied),
        selection=selection,
    )


@functools.lru_cache(maxsize=4096)
def _reads_coupons(condition: str) -> bool:
    return bool(COUPON_ROOTS & set(fields_used((condition,))))


def _spend(basis: SpendBasis, facts: PurchaseFacts) -> int:
    member = facts.member
    if basis is SpendBasis.LIFETIME:
        return member.lifetime_spend_minor
    if basis is SpendBasis.CURRENT_PERIOD:
        return member.period_spend_minor
    return member.previous_period_spend_minor


def _take(
    by_rule: dict[str, int],
    code: str,
    discounts: list[int],
    totals: list[int],
    wanted: dict[int, int],
    cap_minor: int | None,
) -> None:
    """Add a rule's discounts (line index → amount): each clamped so no line goes below zero, then the rule's
    maximum applied."""
    if cap_minor is not None:
        granted = {index: min(amount, totals[index] - discounts[index]) for index, amount in wanted.items()}
        if sum(granted.values()) > cap_minor:
            granted = dict(zip(granted, spread(cap_minor, list(granted.values())), strict=True))
        wanted = granted
    taken = 0
    for index, amount in wanted.items():
        left = totals[index] - discounts[index]
        granted_here = amount if amount < left else left  # no line below zero (a comparison: min() costs a call)
        discounts[index] += granted_here
        taken += granted_here
    if taken:
        by_rule[code] = by_rule.get(code, 0) + taken


def _target_lines(selection: Selection, selector: LineSelector, target: DiscountTarget) -> tuple[int, ...]:
    chosen = selection.indexes(selector)
    if target is DiscountTarget.CHEAPEST_LINE and chosen:
        return (min(chosen, key=lambda index: (selection.lines[index].total_minor, index)),)
    return chosen


def _percent_off(
    selection: Selection,
    totals: list[int],
    selector: LineSelector,
    target: DiscountTarget,
    share_bp: int,
) -> dict[int, int]:
    # rounding: each line's percent rounds down to the minor unit
    return {
        index: totals[index] * share_bp // BASIS_POINTS_PER_WHOLE
        for index in _target_lines(selection, selector, target)
    }


def _amount_off(selection: Selection, remaining: list[int], effect: Discount) -> dict[int, int]:
    amount = effect.amount_minor or 0
    lines = _target_lines(selection, effect.lines, effect.target)
    if effect.target is DiscountTarget.LINES:
        return dict.fromkeys(lines, amount)
    weights = [remaining[index] for index in lines]
    return dict(zip(lines, spread(min(amount, sum(weights)), weights), strict=True))


def spread(amount: int, weights: Sequence[int]) -> list[int]:
    """`amount` split in proportion to `weights`, exactly: cumulative shares rounded down, so the parts sum to it."""
    whole = sum(weights)
    if amount <= 0 or whole <= 0:
        return [0] * len(weights)
    parts, before, running = [], 0, 0
    for weight in weights:
        running += weight
        # rounding: cumulative floor — each part is floor(amount × running / whole) minus the parts before it
        share_until_here = round_down_div(amount * running, whole)
        parts.append(share_until_here - before)
        before = share_until_here
    return parts
