"""The facts a rule sees, typed here and handed to CEL as the documented context (docs/rules.md).

Aggregates over the basket (spend per category, SKU and tag) are computed once per purchase, so conditions compare
numbers instead of looping over lines (see ../shared/notes/cel.md: a loop over lines per rule is ~10× slower).
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from coalition.domain.records import fast_init


@fast_init
@dataclass(frozen=True, slots=True)
class LineFacts:
    sku: str
    total_minor: int
    quantity_milli: int = 1000
    unit_price_minor: int = 0
    category: str | None = None
    tags: frozenset[str] = frozenset()

    @property
    def whole_units(self) -> int:
        return self.quantity_milli // 1000


@fast_init
@dataclass(frozen=True, slots=True)
class MemberFacts:
    kind: str = "personal"  # personal | anonymous
    tier: str = ""
    segments: frozenset[str] = frozenset()
    lifetime_spend_minor: int = 0
    period_spend_minor: int = 0  # this calendar month so far, before this purchase
    previous_period_spend_minor: int = 0  # last calendar month
    visit_count: int = 0
    birth_date: date | None = None
    card_type: str = ""
    points_balance: int = 0


@fast_init
@dataclass(frozen=True, slots=True)
class PurchaseFacts:
    """A purchase (or another trigger's event) as the rules see it; `local_time` is at the outlet."""

    lines: tuple[LineFacts, ...]
    outlet: str
    partner: str
    member: MemberFacts
    now_utc: datetime
    local_time: datetime
    coupons: frozenset[str] = frozenset()
    coupon_campaigns: frozenset[str] = frozenset()

    @property
    def total_minor(self) -> int:
        return sum(line.total_minor for line in self.lines)


def _birthday_today(birth: date | None, today: date) -> bool:
    if birth is None:
        return False
    if birth.month == 2 and birth.day == 29 and today.month == 2 and today.day == 28:
        return today.year % 4 != 0 or (today.year % 100 == 0 and today.year % 400 != 0)  # 28 Feb in common years
    return (birth.month, birth.day) == (today.month, today.day)


def _spend_by(lines: tuple[LineFacts, ...], key: str) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for line in lines:
        if key == "tag":
            for tag in line.tags:
                totals[tag] += line.total_minor
        else:
            value = line.sku if key == "sku" else line.category
            if value is not None:
                totals[value] += line.total_minor
    return dict(totals)


# root -> the fields conditions use (None: the whole root)
ContextFields = Mapping[str, frozenset[str] | None]
ROOTS = ("basket", "outlet", "partner", "member", "now", "coupons", "coupon_campaigns")
COUPON_ROOTS = frozenset({"coupons", "coupon_campaigns"})
_ROOT_USE = re.compile(r"\b(" + "|".join(ROOTS) + r")\b(?:\s*\.\s*([A-Za-z_]\w*))?")
_STRING_LITERAL = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'")


def fields_used(conditions: Iterable[str]) -> ContextFields:
    """The context a rule set needs: a root used without a field (or in a way not recognised) is included whole."""
    used: dict[str, set[str] | None] = {}
    for condition in conditions:
        for match in _ROOT_USE.finditer(_STRING_LITERAL.sub('""', condition)):
            root, name = match.group(1), match.group(2)
            if name is None:
                used[root] = None
            else:
                fields = used.setdefault(root, set())
                if fields is not None:
                    fields.add(name)
    return {root: None if fields is None else frozenset(fields) for root, fields in used.items()}


def _lines(facts: PurchaseFacts) -> list[dict[str, Any]]:
    return [
        {
            "sku": line.sku,
            "category": line.category or "",
            "tags": sorted(line.tags),
            "quantity_milli": line.quantity_milli,
            "unit_price_minor": line.unit_price_minor,
            "total_minor": line.total_minor,
        }
        for line in facts.lines
    ]


# Module-level builders: a purchase's context is built from only the fields its rule set uses.
_BASKET_FIELDS: dict[str, Callable[[PurchaseFacts], Any]] = {
    "total_minor": lambda facts: facts.total_minor,
    "line_count": lambda facts: len(facts.lines),
    "units": lambda facts: sum(line.whole_units for line in facts.lines),
    "lines": _lines,
    "skus": lambda facts: sorted({line.sku for line in facts.lines}),
    "categories": lambda facts: sorted({line.category for line in facts.lines if line.category}),
    "tags": lambda facts: sorted({tag for line in facts.lines for tag in line.tags}),
    "spend_by_sku": lambda facts: _spend_by(facts.lines, "sku"),
    "spend_by_category": lambda facts: _spend_by(facts.lines, "category"),
    "spend_by_tag": lambda facts: _spend_by(facts.lines, "tag"),
}


def _member(facts: PurchaseFacts) -> dict[str, Any]:
    member = facts.member
    return {
        "kind": member.kind,
        "tier": member.tier,
        "segments": sorted(member.segments),
        "lifetime_spend_minor": member.lifetime_spend_minor,
        "period_spend_minor": member.period_spend_minor,
        "previous_period_spend_minor": member.previous_period_spend_minor,
        "visit_count": member.visit_count,
        "birth_date": member.birth_date.isoformat() if member.birth_date else "",
        "is_birthday": _birthday_today(member.birth_date, facts.local_time.date()),
        "card_type": member.card_type,
        "points_balance": member.points_balance,
    }


def _now(facts: PurchaseFacts) -> dict[str, Any]:
    local = facts.local_time
    return {
        "year": local.year,
        "month": local.month,
        "day": local.day,
        "hour": local.hour,
        "minute": local.minute,
        "weekday": local.isoweekday(),
        "date": local.date().isoformat(),
    }


_ROOTS: dict[str, Callable[[PurchaseFacts], Any]] = {
    "outlet": lambda facts: {"code": facts.outlet},
    "partner": lambda facts: {"code": facts.partner},
    "member": _member,
    "now": _now,
    "coupons": lambda facts: sorted(facts.coupons),
    "coupon_campaigns": lambda facts: sorted(facts.coupon_campaigns),
}


def to_context(facts: PurchaseFacts, fields: ContextFields | None = None) -> dict[str, Any]:
    """The documented context (plain ints, strings, bools, lists, maps); with `fields`, only what they name."""
    if fields is None:
        return {"basket": {name: build(facts) for name, build in _BASKET_FIELDS.items()}} | {
            root: build(facts) for root, build in _ROOTS.items()
        }
    context: dict[str, Any] = {}
    for root, wanted in fields.items():
        if root == "basket":
            names = _BASKET_FIELDS if wanted is None else wanted
            context[root] = {name: _BASKET_FIELDS[name](facts) for name in names if name in _BASKET_FIELDS}
            continue
        build = _ROOTS.get(root)
        if build is None:
            continue
        value = build(facts)
        if isinstance(value, dict) and wanted is not None:
            value = {name: value[name] for name in wanted if name in value}  # CEL converts only what is used
        context[root] = value
    return context


@functools.cache
def sample_contexts() -> tuple[Mapping[str, Any], ...]:
    """Contexts with every documented field, for checking a condition at save time: an empty basket and a full one."""
    moment = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    full = PurchaseFacts(
        lines=(
            LineFacts("SKU-1", 150000, 2000, 75000, "coffee", frozenset({"sale"})),
            LineFacts("SKU-2", 5000, 1500, 3333, None, frozenset()),
        ),
        outlet="outlet",
        partner="partner",
        member=MemberFacts(
            segments=frozenset({"social"}), lifetime_spend_minor=1, birth_date=date(1990, 1, 15), card_type="social"
        ),
        now_utc=moment,
        local_time=moment,
        coupons=frozenset({"SPRING"}),
        coupon_campaigns=frozenset({"spring"}),
    )
    empty = PurchaseFacts(
        lines=(), outlet="", partner="", member=MemberFacts(kind="anonymous"), now_utc=moment, local_time=moment
    )
    return (to_context(full), to_context(empty))


@dataclass(frozen=True, slots=True)
class DocumentedField:
    path: str
    cel_type: str
    meaning: str


DOCUMENTED_CONTEXT: tuple[DocumentedField, ...] = (
    DocumentedField("basket.total_minor", "int", "the check before discounts, in minor units (150000 = 1,500.00)"),
    DocumentedField("basket.line_count", "int", "number of lines"),
    DocumentedField("basket.units", "int", "whole units over all lines"),
    DocumentedField(
        "basket.lines", "list(map)", "each line: sku, category, tags, quantity_milli, unit_price_minor, total_minor"
    ),
    DocumentedField("basket.skus / categories / tags", "list(string)", "distinct values over the lines"),
    DocumentedField("basket.spend_by_sku / spend_by_category / spend_by_tag", "map(string, int)", "minor units"),
    DocumentedField("outlet.code, partner.code", "string", "where the purchase happens"),
    DocumentedField("member.kind", "string", "personal or anonymous"),
    DocumentedField("member.tier", "string", "set by the administrator or a set_tier rule ('' if none)"),
    DocumentedField("member.segments", "list(string)", "e.g. social, pensioner, vip, newcomer"),
    DocumentedField("member.lifetime_spend_minor", "int", "spend before this purchase"),
    DocumentedField("member.period_spend_minor", "int", "spend this calendar month before this purchase"),
    DocumentedField("member.previous_period_spend_minor", "int", "spend last calendar month"),
    DocumentedField("member.visit_count", "int", "purchases before this one"),
    DocumentedField("member.birth_date", "string", "ISO date or ''"),
    DocumentedField("member.is_birthday", "bool", "today (at the outlet) is the member's birthday"),
    DocumentedField("member.card_type", "string", "of the card presented, e.g. standard, social ('' if none)"),
    DocumentedField("member.points_balance", "int", "points before this purchase"),
    DocumentedField("now.year / month / day / hour / minute / weekday", "int", "local time at the outlet; 1 = Monday"),
    DocumentedField("now.date", "string", "local ISO date"),
    DocumentedField("coupons", "list(string)", "codes of the valid coupons presented, upper case"),
    DocumentedField("coupon_campaigns", "list(string)", "the campaigns of those coupons"),
)
