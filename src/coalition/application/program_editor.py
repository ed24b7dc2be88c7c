"""The program editor: a network's program described by forms, written as the rule set the engine runs.

Pure: a typed form (money in minor units, percents in basis points, points whole) in, a rule-set document (the
API's JSON shape, docs/rules.md) out, and its YAML for the console. Nothing here reads or writes the database: the
console saves the document as the draft through `RulesService.save_draft`, the same draft → conflicts → publish
flow as the YAML page. docs/program-editor.md shows the document written for the brief's example.

The rules written, each only when the form asks for it:
- `bonus-tier-1` … `bonus-tier-N`: one purchase rule per tier of lifetime spend, bounded like the built-in program's
  (`builtin.py`): from the tier's threshold (the first has no lower bound) up to, not including, the next one's;
  the tier's accrual percent, its fixed points per check and the share of a check points may pay from the minimum
  check;
- `discount` (a fixed percent), `cumulative-discount` (by lifetime spend), `next-month-discount` (by last month's
  spend, with a floor and a top) and their extras `before-time`, `day-of-month`, `segment`, `weekday`: percents off,
  which add (each is taken of the price before discounts);
- `welcome` (points at enrolment), `birthday` (points on the birthday, by the daily job), `coupon` (a percent off
  when a coupon of the campaign is presented);
- excluded products and categories: no rule's percents (points or discounts) count their lines.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import yaml

from coalition.domain.money import format_minor
from coalition.domain.rules.parsing import format_percent

MAX_TIERS = 5
MAX_STEPS = 5
MAX_EXCLUDED = 100
_LIFETIME = "member.lifetime_spend_minor"


@dataclass(frozen=True, slots=True)
class BonusTier:
    """A tier of the cumulative bonus: from a lifetime spend, its accrual and the share of a check points pay."""

    from_spend_minor: int
    accrual_bp: int
    fixed_points: int
    redeem_cap_bp: int


@dataclass(frozen=True, slots=True)
class BonusForm:
    tiers: tuple[BonusTier, ...]
    min_check_minor: int  # points pay nothing of a smaller check


@dataclass(frozen=True, slots=True)
class SpendStep:
    """From this much spent, this percent off."""

    from_minor: int
    percent_bp: int


@dataclass(frozen=True, slots=True)
class NextMonthDiscount:
    """This month's spend sets next month's discount: the steps, at least `floor_bp`, at most `top_bp`."""

    steps: tuple[SpendStep, ...]
    floor_bp: int
    top_bp: int


@dataclass(frozen=True, slots=True)
class BeforeTime:
    until_minutes: int  # minutes after local midnight, exclusive
    percent_bp: int


@dataclass(frozen=True, slots=True)
class DayOfMonth:
    day: int  # 1–31
    percent_bp: int


@dataclass(frozen=True, slots=True)
class SegmentExtra:
    segment: str  # a member segment or card type, e.g. social
    percent_bp: int


@dataclass(frozen=True, slots=True)
class WeekdayExtra:
    weekday: int  # 1 = Monday … 7
    percent_bp: int


@dataclass(frozen=True, slots=True)
class DiscountForm:
    fixed_bp: int = 0
    cumulative: tuple[SpendStep, ...] = ()
    next_month: NextMonthDiscount | None = None
    before_time: BeforeTime | None = None
    day_of_month: DayOfMonth | None = None
    segment: SegmentExtra | None = None
    weekday: WeekdayExtra | None = None


@dataclass(frozen=True, slots=True)
class CouponDiscount:
    campaign: str
    percent_bp: int


@dataclass(frozen=True, slots=True)
class ExtrasForm:
    welcome_points: int = 0
    birthday_points: int = 0
    coupon: CouponDiscount | None = None
    excluded_skus: tuple[str, ...] = ()
    excluded_categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProgramForm:
    bonus: BonusForm | None
    discounts: DiscountForm = field(default_factory=DiscountForm)
    extras: ExtrasForm = field(default_factory=ExtrasForm)


# The brief's small shop: up to 10,000 spent → 3 % and pay up to 15 %; 10,000–50,000 → 5 % and 30 %; over
# 50,000 → 7 % and 50 %; points pay only checks from 1,500.00 (amounts in kopecks for RUB).
BRIEF_BONUS = BonusForm(
    tiers=(
        BonusTier(0, 300, 0, 1500),
        BonusTier(1_000_000, 500, 0, 3000),
        BonusTier(5_000_001, 700, 0, 5000),
    ),
    min_check_minor=150_000,
)
# The brief's next month's discount: at least 3 %, at most 20 %, +5 % before 12:00.
BRIEF_NEXT_MONTH = NextMonthDiscount(
    steps=(
        SpendStep(500_000, 500),
        SpendStep(1_000_000, 1000),
        SpendStep(3_000_000, 1500),
        SpendStep(5_000_000, 2500),
    ),
    floor_bp=300,
    top_bp=2000,
)
BRIEF_FORM = ProgramForm(bonus=BRIEF_BONUS)


def program_document(form: ProgramForm, currency: str) -> dict[str, Any]:
    """The rule-set document the form describes, rules in a fixed order (bonus, discounts, extras)."""
    exclusions = _exclusions(form.extras)
    rules: list[dict[str, Any]] = []
    if form.bonus is not None:
        rules.extend(_tier_rules(form.bonus, exclusions, currency))
    rules.extend(_discount_rules(form.discounts, exclusions, currency))
    rules.extend(_extra_rules(form.extras, exclusions))
    return {"rules": rules}


def program_yaml(document: dict[str, Any]) -> str:
    """The document as YAML, lists indented under their keys as docs/rules.md writes rule sets."""
    return str(yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110))


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]  # PyYAML ships no types here
    def ignore_aliases(self, data: Any) -> bool:
        return True  # the exclusions repeat in every rule: written out each time, no &id001 anchors

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _exclusions(extras: ExtrasForm) -> dict[str, list[str]]:
    selector: dict[str, list[str]] = {}
    if extras.excluded_skus:
        selector["exclude_skus"] = list(extras.excluded_skus)
    if extras.excluded_categories:
        selector["exclude_categories"] = list(extras.excluded_categories)
    return selector


def _copy(exclusions: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: list(values) for name, values in exclusions.items()}


def _tier_rules(bonus: BonusForm, exclusions: dict[str, list[str]], currency: str) -> list[dict[str, Any]]:
    rules = []
    tiers = bonus.tiers
    for index, tier in enumerate(tiers):
        bounds = []
        if index > 0:
            bounds.append(f"{_LIFETIME} >= {tier.from_spend_minor}")
        if index + 1 < len(tiers):
            bounds.append(f"{_LIFETIME} < {tiers[index + 1].from_spend_minor}")
        accrual: dict[str, Any] = {"percent": format_percent(tier.accrual_bp)}
        if exclusions:
            accrual["lines"] = _copy(exclusions)
        effects: list[dict[str, Any]] = []
        if tier.accrual_bp:
            effects.append({"accrue_percent": accrual})
        if tier.fixed_points:
            effects.append({"accrue_fixed": {"points": tier.fixed_points}})
        effects.append(
            {
                "set_redemption": {
                    "cap_percent": format_percent(tier.redeem_cap_bp),
                    "min_check": format_minor(bonus.min_check_minor, currency),
                }
            }
        )
        rule: dict[str, Any] = {
            "code": f"bonus-tier-{index + 1}",
            "name": f"Bonus tier {index + 1}: from a lifetime spend of {format_minor(tier.from_spend_minor, currency)}",
        }
        if bounds:
            rule["condition"] = " && ".join(bounds)
        rule["effects"] = effects
        rules.append(rule)
    return rules


def _percent_off(percent_bp: int, exclusions: dict[str, list[str]]) -> dict[str, Any]:
    if exclusions:
        return {"discount": {"percent": format_percent(percent_bp), "target": "lines", "lines": _copy(exclusions)}}
    return {"discount": {"percent": format_percent(percent_bp)}}


def _steps(steps: tuple[SpendStep, ...], currency: str) -> list[dict[str, str]]:
    return [
        {"from": format_minor(step.from_minor, currency), "percent": format_percent(step.percent_bp)} for step in steps
    ]


def _discount_rules(form: DiscountForm, exclusions: dict[str, list[str]], currency: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    if form.fixed_bp:
        rules.append(
            {"code": "discount", "name": "A fixed discount", "effects": [_percent_off(form.fixed_bp, exclusions)]}
        )
    if form.cumulative:
        tiers: dict[str, Any] = {"basis": "lifetime", "tiers": _steps(form.cumulative, currency)}
        if exclusions:
            tiers["lines"] = _copy(exclusions)
        rules.append(
            {
                "code": "cumulative-discount",
                "name": "A discount by lifetime spend",
                "effects": [{"spend_tier_discount": tiers}],
            }
        )
    if form.next_month is not None:
        nxt = form.next_month
        month: dict[str, Any] = {"basis": "previous_period", "tiers": _steps(nxt.steps, currency)}
        month["floor"] = format_percent(nxt.floor_bp)
        month["top"] = format_percent(nxt.top_bp)
        if exclusions:
            month["lines"] = _copy(exclusions)
        rules.append(
            {
                "code": "next-month-discount",
                "name": "This month's discount from last month's spend",
                "effects": [{"spend_tier_discount": month}],
            }
        )
    if form.before_time is not None:
        hours, minutes = divmod(form.before_time.until_minutes, 60)
        rules.append(
            {
                "code": "before-time",
                "name": f"More off before {hours:02d}:{minutes:02d}",
                "window": {"until": f"{hours:02d}:{minutes:02d}"},
                "effects": [_percent_off(form.before_time.percent_bp, exclusions)],
            }
        )
    if form.day_of_month is not None:
        rules.append(
            {
                "code": "day-of-month",
                "name": f"More off on day {form.day_of_month.day} of the month",
                "window": {"days_of_month": [form.day_of_month.day]},
                "effects": [_percent_off(form.day_of_month.percent_bp, exclusions)],
            }
        )
    if form.segment is not None:
        label = form.segment.segment
        rules.append(
            {
                "code": "segment",
                "name": f"More off for the segment or card type {label}",
                "condition": f'"{label}" in member.segments || member.card_type == "{label}"',
                "effects": [_percent_off(form.segment.percent_bp, exclusions)],
            }
        )
    if form.weekday is not None:
        rules.append(
            {
                "code": "weekday",
                "name": f"More off on weekday {form.weekday.weekday}",
                "window": {"weekdays": [form.weekday.weekday]},
                "effects": [_percent_off(form.weekday.percent_bp, exclusions)],
            }
        )
    return rules


def _extra_rules(form: ExtrasForm, exclusions: dict[str, list[str]]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    if form.welcome_points:
        rules.append(
            {
                "code": "welcome",
                "name": "Welcome bonus",
                "trigger": "enrolment",
                "effects": [{"accrue_fixed": {"points": form.welcome_points}}],
            }
        )
    if form.birthday_points:
        rules.append(
            {
                "code": "birthday",
                "name": "Birthday bonus",
                "trigger": "birthday",
                "effects": [{"accrue_fixed": {"points": form.birthday_points}}],
            }
        )
    if form.coupon is not None:
        rules.append(
            {
                "code": "coupon",
                "name": f"Coupons of the campaign {form.coupon.campaign}",
                "condition": f'"{form.coupon.campaign}" in coupon_campaigns',
                "effects": [_percent_off(form.coupon.percent_bp, exclusions)],
            }
        )
    return rules


# The form kept with the rule-set version it wrote (`rule_sets.editor_form`), so that the editor opens with the
# program it wrote rather than the example. Amounts in minor units and percents in basis points, as in the form.


def form_json(form: ProgramForm) -> str:
    """The form as JSON text (the dataclasses' fields, tuples as lists)."""
    return json.dumps(asdict(form), sort_keys=True)


def form_from_json(text: str) -> ProgramForm:
    """The form `form_json` wrote; a `ValueError` when the text is not such a form."""
    try:
        data = json.loads(text)
        bonus = data["bonus"]
        discounts = data["discounts"]
        extras = data["extras"]
        return ProgramForm(
            bonus=None
            if bonus is None
            else BonusForm(tuple(BonusTier(**tier) for tier in bonus["tiers"]), int(bonus["min_check_minor"])),
            discounts=DiscountForm(
                fixed_bp=discounts["fixed_bp"],
                cumulative=tuple(SpendStep(**step) for step in discounts["cumulative"]),
                next_month=_next_month(discounts["next_month"]),
                before_time=_optional(BeforeTime, discounts["before_time"]),
                day_of_month=_optional(DayOfMonth, discounts["day_of_month"]),
                segment=_optional(SegmentExtra, discounts["segment"]),
                weekday=_optional(WeekdayExtra, discounts["weekday"]),
            ),
            extras=ExtrasForm(
                welcome_points=extras["welcome_points"],
                birthday_points=extras["birthday_points"],
                coupon=_optional(CouponDiscount, extras["coupon"]),
                excluded_skus=tuple(extras["excluded_skus"]),
                excluded_categories=tuple(extras["excluded_categories"]),
            ),
        )
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as error:
        raise ValueError(f"not a program editor form: {error}") from None


_T = TypeVar("_T")


def _optional(kind: Callable[..., _T], data: dict[str, Any] | None) -> _T | None:
    return None if data is None else kind(**data)


def _next_month(data: dict[str, Any] | None) -> NextMonthDiscount | None:
    if data is None:
        return None
    steps = tuple(SpendStep(**step) for step in data["steps"])
    return NextMonthDiscount(steps, data["floor_bp"], data["top_bp"])


@dataclass(frozen=True, slots=True)
class WrittenVersion:
    """A stored rule-set version as the editor sees it: its number and the form that wrote it (None: YAML)."""

    version: int
    form: str | None


@dataclass(frozen=True, slots=True)
class EditorStart:
    """What the editor opens with: the draft's form, else the form of the program in force, else the example."""

    form: ProgramForm
    source: str  # draft | in_force | example
    version: int | None  # the version whose form is shown (None: the example)
    yaml_draft: int | None = None  # a draft written as YAML, which the form cannot show and saving replaces
    yaml_in_force: int | None = None  # the version in force, when written as YAML


def _written(stored: WrittenVersion | None) -> ProgramForm | None:
    if stored is None or stored.form is None:
        return None
    try:
        return form_from_json(stored.form)
    except ValueError:
        return None  # a form of an older shape: shown as if written as YAML, never as a wrong form


def editor_start(draft: WrittenVersion | None, in_force: WrittenVersion | None) -> EditorStart:
    draft_form = _written(draft)
    if draft is not None and draft_form is not None:
        return EditorStart(draft_form, "draft", draft.version)
    yaml_draft = None if draft is None else draft.version
    in_force_form = _written(in_force)
    if in_force is not None and in_force_form is not None:
        return EditorStart(in_force_form, "in_force", in_force.version, yaml_draft=yaml_draft)
    yaml_in_force = None if in_force is None else in_force.version
    return EditorStart(BRIEF_FORM, "example", None, yaml_draft=yaml_draft, yaml_in_force=yaml_in_force)
