"""Conflicts in a rule set, found before it is published.

Two methods, and every finding says which one found it:
- analysis, where the question is decidable: windows (an end in the past), scopes (no known partner or outlet),
  conditions that are conjunctions of integer comparisons (`member.lifetime_spend_minor >= 1000000 && now.hour < 12`:
  their ranges are intersected exactly);
- sampling otherwise: the rules are evaluated over generated purchases built from the literals the conditions use
  (each number, one below and one above it; each text), every hour, weekday and day of the month.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from coalition.domain.errors import InvalidInput
from coalition.domain.money import BASIS_POINTS_PER_WHOLE, format_basis_points
from coalition.domain.rules.context import LineFacts, MemberFacts, PurchaseFacts, to_context
from coalition.domain.rules.engine import CompiledRule, CompiledRuleSet
from coalition.domain.rules.expressions import activation
from coalition.domain.rules.model import ALWAYS, Discount, GrantGift, Rule, SpendTierDiscount, Stacking

SAMPLES = 600
# The conditions' budget keeps sampling to a few seconds; past this, something slipped through the estimate and the
# draft is refused rather than checked for minutes.
MAX_SAMPLING_SECONDS = 30.0


class Severity(StrEnum):
    ERROR = "error"  # publishing is refused
    WARNING = "warning"


class Method(StrEnum):
    ANALYSIS = "analysis"
    SAMPLING = "sampling"


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    kind: str
    rules: tuple[str, ...]
    message: str
    method: Method


@dataclass(frozen=True, slots=True)
class Network:
    """What the checks need to know about the network: its partners and outlets, by code."""

    partners: frozenset[str]
    outlets: frozenset[str]
    gift_types: frozenset[str] | None = None  # None: not checked


_COMPARISON = re.compile(r"^\s*\(?\s*(?P<left>[\w.]+)\s*(?P<op><=|>=|==|<|>)\s*(?P<right>-?[\w.]+)\s*\)?\s*$")
_INT = re.compile(r"^-?\d+$")
_STRING_LITERAL = re.compile(r"\"([^\"\\]*)\"|'([^'\\]*)'")
_INT_LITERAL = re.compile(r"(?<![\w.])-?\d+(?![\w.])")
_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "=="}


def ranges(condition: str) -> dict[str, tuple[float, float]] | None:
    """For a conjunction of integer comparisons, each name's allowed range [low, high]; None if not that shape."""
    if not condition.strip():
        return {}
    if "||" in condition or "!" in condition.replace("!=", ""):
        return None
    found: dict[str, tuple[float, float]] = {}
    for term in condition.split("&&"):
        match = _COMPARISON.match(term)
        if match is None:
            return None
        left, op, right = match["left"], match["op"], match["right"]
        if _INT.match(left) and not _INT.match(right):
            left, right, op = right, left, _FLIP[op]
        if not _INT.match(right) or _INT.match(left):
            return None
        value = int(right)
        low, high = found.get(left, (float("-inf"), float("inf")))
        bounds = {
            "<": (low, min(high, value - 1)),
            "<=": (low, min(high, value)),
            ">": (max(low, value + 1), high),
            ">=": (max(low, value), high),
            "==": (max(low, value), min(high, value)),
        }
        found[left] = bounds[op]
    return found


def _empty(found: dict[str, tuple[float, float]]) -> bool:
    return any(low > high for low, high in found.values())


def _jointly_satisfiable(a: Rule, b: Rule) -> bool | None:
    """Whether both conditions can hold at once, by range analysis; None when undecidable that way."""
    first, second = ranges(a.condition), ranges(b.condition)
    if first is None or second is None:
        return None
    joined = dict(first)
    for name, (low, high) in second.items():
        other_low, other_high = joined.get(name, (float("-inf"), float("inf")))
        joined[name] = (max(low, other_low), min(high, other_high))
    return not _empty(joined)


# --- sampling ----------------------------------------------------------------------------------------------------


def _literals(rules: Iterable[Rule]) -> tuple[list[int], list[str]]:
    numbers, texts = {0, 1}, set()
    for rule in rules:
        for match in _INT_LITERAL.finditer(rule.condition):
            value = int(match.group())
            numbers.update({value - 1, value, value + 1})
        for match in _STRING_LITERAL.finditer(rule.condition):
            texts.add(match.group(1) if match.group(1) is not None else match.group(2))
        for effect in rule.effects:
            selector = getattr(effect, "lines", None)
            if selector is not None:
                texts.update(selector.skus | selector.categories | selector.tags)
                texts.update(selector.exclude_skus | selector.exclude_categories | selector.exclude_tags)
    return sorted(n for n in numbers if n >= 0), sorted(texts)


def sample_purchases(rules: list[Rule], network: Network, now: datetime, count: int = SAMPLES) -> list[PurchaseFacts]:
    """Deterministic generated purchases that reach the boundaries of the rules' conditions."""
    generator = random.Random(20261125)
    numbers, texts = _literals(rules)
    outlets = sorted(network.outlets | {o for r in rules for o in r.scope.outlets}) or ["outlet"]
    partners = sorted(network.partners | {p for r in rules for p in r.scope.partners}) or ["partner"]
    moments = [now] + [m for r in rules for m in (r.window.starts_at, r.window.ends_at) if m is not None]
    samples = []
    for index in range(count):
        base = generator.choice(moments)
        moment = (base + timedelta(days=generator.randint(-40, 40), hours=index % 24)).astimezone(UTC)
        moment = moment.replace(minute=generator.choice([0, 30, 59]))
        local = moment

        def pick_texts(limit: int) -> frozenset[str]:
            if not texts:
                return frozenset()
            return frozenset(generator.sample(texts, k=generator.randint(0, min(limit, len(texts)))))

        lines = tuple(
            LineFacts(
                sku=generator.choice(texts) if texts and generator.random() < 0.5 else f"sku-{n}",
                total_minor=max(1, generator.choice(numbers))
                if generator.random() < 0.7
                else generator.randint(1, 10**7),
                quantity_milli=generator.choice([1000, 2000, 3000]),
                category=generator.choice(texts) if texts and generator.random() < 0.7 else None,
                tags=pick_texts(2),
            )
            for n in range(generator.randint(1, 3))
        )
        member = MemberFacts(
            kind=generator.choice(["personal", "anonymous"]),
            tier=generator.choice([*texts, ""]) if texts else "",
            segments=pick_texts(3),
            lifetime_spend_minor=generator.choice(numbers),
            period_spend_minor=generator.choice(numbers),
            previous_period_spend_minor=generator.choice(numbers),
            visit_count=generator.choice(numbers),
            birth_date=date(1990, local.month, min(local.day, 28)) if generator.random() < 0.2 else None,
            card_type=generator.choice([*texts, "standard"]) if texts else "standard",
            points_balance=generator.choice(numbers),
        )
        samples.append(
            PurchaseFacts(
                lines=lines,
                outlet=generator.choice(outlets),
                partner=generator.choice(partners),
                member=member,
                now_utc=moment,
                local_time=local,
                coupons=pick_texts(2),
                coupon_campaigns=pick_texts(2),
            )
        )
    return samples


def _fires(compiled: CompiledRule, facts: PurchaseFacts, context: object) -> bool:
    rule = compiled.rule
    if not rule.scope.matches(facts.partner, facts.outlet) or not rule.window.is_open(facts.now_utc, facts.local_time):
        return False
    try:
        return compiled.condition.holds(context)
    except Exception:
        return False


# --- the checks --------------------------------------------------------------------------------------------------


def find_conflicts(
    rule_set: CompiledRuleSet, network: Network, now: datetime, *, max_seconds: float = MAX_SAMPLING_SECONDS
) -> list[Finding]:
    rules = [compiled.rule for compiled in rule_set.rules]
    findings = _never_fire_by_analysis(rules, network, now) + _unknown_gift_types(rules, network)
    dead = {code for finding in findings for code in finding.rules if finding.kind == "never-fires"}
    samples = sample_purchases(rules, network, now)
    fired: list[set[str]] = []
    started = time.monotonic()
    for facts in samples:
        if time.monotonic() - started > max_seconds:
            raise InvalidInput(
                f"checking this rule set over sample purchases took longer than {max_seconds:,.0f} s:"
                " simplify its conditions",
                field="rules",
            )
        context = activation(to_context(facts))
        fired.append({c.rule.code for c in rule_set.rules if _fires(c, facts, context)})
    findings += _never_fire_by_sampling(rules, fired, dead)
    findings += _exclusive_ties(rules, fired)
    findings += _shadowed(rules, fired, dead)
    findings += _discounts_over_the_check(rule_set, samples, fired)
    return findings


def _unknown_gift_types(rules: list[Rule], network: Network) -> list[Finding]:
    """A gift the network's catalogue does not have could not be granted: the purchase would be refused."""
    if network.gift_types is None:
        return []
    findings = []
    for rule in rules:
        for effect in rule.effects:
            if isinstance(effect, GrantGift) and effect.gift_type not in network.gift_types:
                findings.append(
                    Finding(
                        Severity.ERROR,
                        "unknown-gift-type",
                        (rule.code,),
                        f"{rule.code} grants gift type '{effect.gift_type}', which is not in the network's catalogue",
                        Method.ANALYSIS,
                    )
                )
    return findings


def _never_fire_by_analysis(rules: list[Rule], network: Network, now: datetime) -> list[Finding]:
    findings = []
    for rule in rules:
        reason = None
        if rule.window.closed_for_good(now):
            reason = f"its window ended at {rule.window.ends_at.isoformat() if rule.window.ends_at else ''}"
        elif not rule.scope.network_wide and not (
            rule.scope.partners & network.partners or rule.scope.outlets & network.outlets
        ):
            reason = "its scope names no partner or outlet of this network"
        else:
            found = ranges(rule.condition)
            if found is not None and _empty(found):
                reason = f"its condition contradicts itself: {rule.condition}"
        if reason:
            findings.append(
                Finding(
                    Severity.ERROR,
                    "never-fires",
                    (rule.code,),
                    f"{rule.code} can never fire: {reason}",
                    Method.ANALYSIS,
                )
            )
    return findings


def _never_fire_by_sampling(rules: list[Rule], fired: list[set[str]], dead: set[str]) -> list[Finding]:
    return [
        Finding(
            Severity.WARNING,
            "never-fires",
            (rule.code,),
            f"{rule.code} fired on none of {len(fired)} sampled purchases: check its condition",
            Method.SAMPLING,
        )
        for rule in rules
        if rule.code not in dead and ranges(rule.condition) is None and not any(rule.code in f for f in fired)
    ]


def _pairs_in_groups(rules: list[Rule], mode: Stacking) -> Iterable[tuple[Rule, Rule]]:
    grouped = [rule for rule in rules if rule.stacking is mode]
    for index, first in enumerate(grouped):
        for second in grouped[index + 1 :]:
            if first.group == second.group and first.trigger is second.trigger:
                yield first, second


def _exclusive_ties(rules: list[Rule], fired: list[set[str]]) -> list[Finding]:
    findings = []
    for first, second in _pairs_in_groups(rules, Stacking.EXCLUSIVE):
        if first.priority != second.priority:
            continue
        decided = _jointly_satisfiable(first, second)
        both = decided if decided is not None else any(first.code in f and second.code in f for f in fired)
        if both:
            findings.append(
                Finding(
                    Severity.ERROR,
                    "exclusive-tie",
                    (first.code, second.code),
                    f"{first.code} and {second.code} can fire on the same purchase in exclusive group "
                    f"'{first.group}' with the same priority ({first.priority}): give one a higher priority",
                    Method.ANALYSIS if decided is not None else Method.SAMPLING,
                )
            )
    return findings


def _shadowed(rules: list[Rule], fired: list[set[str]], dead: set[str]) -> list[Finding]:
    findings = []
    for rule in rules:
        if rule.stacking is not Stacking.EXCLUSIVE or rule.code in dead:
            continue
        higher = [
            r
            for r in rules
            if r.group == rule.group
            and r.stacking is Stacking.EXCLUSIVE
            and r.priority > rule.priority
            and r.trigger is rule.trigger
        ]
        if not higher:
            continue
        always = [h for h in higher if not h.condition.strip() and h.scope.network_wide and h.window == ALWAYS]
        if always:
            method, shadow = Method.ANALYSIS, always[0].code
        else:
            own = [f for f in fired if rule.code in f]
            if not own or not all(any(h.code in f for h in higher) for f in own):
                continue
            method, shadow = Method.SAMPLING, next(h.code for h in higher if any(h.code in f for f in own))
        findings.append(
            Finding(
                Severity.WARNING,
                "shadowed",
                (rule.code, shadow),
                f"{rule.code} never applies: whenever it fires, {shadow} (higher priority, exclusive group "
                f"'{rule.group}') fires too",
                method,
            )
        )
    return findings


def _discounts_over_the_check(
    rule_set: CompiledRuleSet, samples: list[PurchaseFacts], fired: list[set[str]]
) -> list[Finding]:
    """Discounts that fired together on a sampled line and take more than its price, at the most each can give. The
    sets of rules found are merged where they share a rule: one warning per set of overlapping rules, naming the
    largest share any of its sets reached."""
    by_code = {c.rule.code: c.rule for c in rule_set.rules}
    over: dict[frozenset[str], int] = {}  # each set of rules that fired together: the largest share above 100 %
    for facts, codes in zip(samples, fired, strict=True):
        discounting = frozenset(
            code for code in codes if any(isinstance(e, (Discount, SpendTierDiscount)) for e in by_code[code].effects)
        )
        if not discounting:
            continue
        for line in facts.lines:
            share = sum(_percent_on(effect, line) for code in discounting for effect in by_code[code].effects)
            if share > max(BASIS_POINTS_PER_WHOLE, over.get(discounting, 0)):
                over[discounting] = share
    groups: list[tuple[set[str], int]] = []
    for found, share in over.items():
        joined, most = set(found), share
        for group in [g for g in groups if g[0] & found]:
            groups.remove(group)
            joined |= group[0]
            most = max(most, group[1])
        groups.append((joined, most))
    findings = []
    for codes_found, share in sorted(groups, key=lambda group: sorted(group[0])):
        named = tuple(sorted(codes_found))
        findings.append(
            Finding(
                Severity.WARNING,
                "discount-over-check",
                named,
                f"{', '.join(named)} together can take up to {format_basis_points(share)} off a line; "
                "discounts stop at the line's price",
                Method.SAMPLING,
            )
        )
    return findings


def _percent_on(effect: object, line: LineFacts) -> int:
    """The most percent an effect can really take off this line: a spend-tier discount's highest step (or its floor),
    at most its top."""
    if isinstance(effect, Discount) and effect.percent_bp is not None:
        return effect.percent_bp if effect.lines.matches(line.sku, line.category, line.tags) else 0
    if isinstance(effect, SpendTierDiscount):
        if not effect.lines.matches(line.sku, line.category, line.tags):
            return 0
        highest = max(max(tier.percent_bp for tier in effect.tiers), effect.floor_bp)
        return min(highest, effect.top_bp)
    return 0
