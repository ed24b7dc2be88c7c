"""The program editor's form fields (flat text, as a page posts them) read into a typed `ProgramForm`, and a form
written back as its fields (to show the defaults, or what was typed). Every refusal names its field.

Fields (a row left wholly empty is skipped; `N` is 1 … 5):
  tierN_from, tierN_accrual, tierN_fixed, tierN_cap; min_check         the cumulative bonus (tier 1 from 0)
  discount_percent                                                       a fixed discount
  cumulativeN_from, cumulativeN_percent                                  a discount by lifetime spend
  nextN_from, nextN_percent; next_floor, next_top                        next month's discount from this month's
  before_time, before_time_percent; day_of_month, day_percent;           its extras
  segment, segment_percent; weekday, weekday_percent
  welcome_points, birthday_points; coupon_campaign, coupon_percent       bonuses and a coupon campaign
  excluded_skus, excluded_categories                                     lists, separated by commas or lines
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TypeVar

from coalition.application.program_editor import (
    MAX_EXCLUDED,
    MAX_STEPS,
    MAX_TIERS,
    BeforeTime,
    BonusForm,
    BonusTier,
    CouponDiscount,
    DayOfMonth,
    DiscountForm,
    ExtrasForm,
    NextMonthDiscount,
    ProgramForm,
    SegmentExtra,
    SpendStep,
    WeekdayExtra,
)
from coalition.domain.errors import InvalidInput
from coalition.domain.input_text import parse_whole_number
from coalition.domain.members import parse_label
from coalition.domain.money import format_minor, parse_amount_minor
from coalition.domain.rules.parsing import format_percent, parse_percent_bp

MAX_POINTS = 1_000_000_000
_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_ITEM = re.compile(r"[^\s,]{1,100}")
T = TypeVar("T")


class _Fields:
    def __init__(self, fields: Mapping[str, str], currency: str) -> None:
        self.fields = fields
        self.currency = currency

    def text(self, name: str) -> str:
        return str(self.fields.get(name, "")).strip()

    def filled(self, *names: str) -> bool:
        return any(self.text(name) for name in names)

    def money(self, name: str) -> int:
        if not self.text(name):
            raise InvalidInput("enter an amount such as 1500.00", field=name)
        return parse_amount_minor(self.text(name), self.currency, field=name)

    def percent(self, name: str, *, default: int | None = None) -> int:
        if not self.text(name):
            if default is not None:
                return default
            raise InvalidInput('enter a percent such as "5" or "2.5"', field=name)
        try:
            return parse_percent_bp(self.text(name), field=name)
        except InvalidInput as error:
            raise InvalidInput(error.detail, field=name) from None

    def whole(self, name: str, *, maximum: int = MAX_POINTS) -> int:
        if not self.text(name):
            return 0
        return parse_whole_number(self.text(name), field=name, message="enter a whole number", maximum=maximum)

    def optional(self, names: tuple[str, ...], read: Callable[[], T]) -> T | None:
        return read() if self.filled(*names) else None


def _field_names() -> frozenset[str]:
    names = {"min_check", "discount_percent", "next_floor", "next_top", "before_time", "before_time_percent"}
    names |= {"day_of_month", "day_percent", "segment", "segment_percent", "weekday", "weekday_percent"}
    names |= {"welcome_points", "birthday_points", "coupon_campaign", "coupon_percent"}
    names |= {"excluded_skus", "excluded_categories"}
    for number in range(1, MAX_TIERS + 1):
        names |= {f"tier{number}_{part}" for part in ("from", "accrual", "fixed", "cap")}
    for number in range(1, MAX_STEPS + 1):
        names |= {f"{prefix}{number}_{part}" for prefix in ("cumulative", "next") for part in ("from", "percent")}
    return frozenset(names)


FIELD_NAMES = _field_names()


def refuse_unknown_fields(fields: Mapping[str, str]) -> None:
    """The API's body names only the form's fields: a typo is refused rather than ignored."""
    for name in sorted(fields):
        if name not in FIELD_NAMES:
            raise InvalidInput("not a field of the program editor (docs/program-editor.md)", field=name)


def parse_program_form(fields: Mapping[str, str], currency: str) -> ProgramForm:
    """The typed program the fields describe; an `InvalidInput` names the first field at fault."""
    read = _Fields(fields, currency)
    return ProgramForm(_bonus(read), _discounts(read), _extras(read))


def _bonus(read: _Fields) -> BonusForm | None:
    tiers: list[BonusTier] = []
    for number in range(1, MAX_TIERS + 1):
        names = tuple(f"tier{number}_{part}" for part in ("from", "accrual", "fixed", "cap"))
        if not read.filled(*names):
            continue
        from_minor = 0 if number == 1 and not read.text(names[0]) else read.money(names[0])
        if not tiers and from_minor != 0:
            raise InvalidInput("the first tier starts at a lifetime spend of 0", field=names[0])
        if tiers and from_minor <= tiers[-1].from_spend_minor:
            raise InvalidInput("each tier starts above the one before", field=names[0])
        accrual = read.percent(names[1], default=0)
        fixed = read.whole(names[2])
        cap = read.percent(names[3], default=0)
        if not accrual and not fixed and not cap:
            raise InvalidInput("a tier needs an accrual, fixed points or a share points may pay", field=names[1])
        tiers.append(BonusTier(from_minor, accrual, fixed, cap))
    if not tiers:
        if read.filled("min_check"):
            raise InvalidInput("a minimum check needs at least one tier", field="tier1_accrual")
        return None
    min_check = read.money("min_check") if read.filled("min_check") else 0
    return BonusForm(tuple(tiers), min_check)


def _steps(read: _Fields, prefix: str) -> tuple[SpendStep, ...]:
    steps: list[SpendStep] = []
    for number in range(1, MAX_STEPS + 1):
        start, share = f"{prefix}{number}_from", f"{prefix}{number}_percent"
        if not read.filled(start, share):
            continue
        step = SpendStep(read.money(start), read.percent(share))
        if steps and step.from_minor <= steps[-1].from_minor:
            raise InvalidInput("each step starts above the one before", field=start)
        steps.append(step)
    return tuple(steps)


def _discounts(read: _Fields) -> DiscountForm:
    next_steps = _steps(read, "next")
    next_month = None
    if next_steps or read.filled("next_floor", "next_top"):
        if not next_steps:
            raise InvalidInput("next month's discount needs at least one step", field="next1_from")
        floor = read.percent("next_floor", default=0)
        top = read.percent("next_top", default=10_000)
        if top < floor:
            raise InvalidInput("the top is below the floor", field="next_top")
        next_month = NextMonthDiscount(next_steps, floor, top)
    return DiscountForm(
        fixed_bp=read.percent("discount_percent", default=0),
        cumulative=_steps(read, "cumulative"),
        next_month=next_month,
        before_time=read.optional(
            ("before_time", "before_time_percent"),
            lambda: BeforeTime(_minutes(read, "before_time"), read.percent("before_time_percent")),
        ),
        day_of_month=read.optional(
            ("day_of_month", "day_percent"),
            lambda: DayOfMonth(_ranged(read, "day_of_month", 31), read.percent("day_percent")),
        ),
        segment=read.optional(
            ("segment", "segment_percent"),
            lambda: SegmentExtra(parse_label(read.text("segment"), field="segment"), read.percent("segment_percent")),
        ),
        weekday=read.optional(
            ("weekday", "weekday_percent"),
            lambda: WeekdayExtra(_ranged(read, "weekday", 7), read.percent("weekday_percent")),
        ),
    )


def _minutes(read: _Fields, name: str) -> int:
    found = _TIME.fullmatch(read.text(name))
    if found is None or found.group(0) == "00:00":
        raise InvalidInput("enter a time of day such as 12:00", field=name)
    return int(found.group(1)) * 60 + int(found.group(2))


def _ranged(read: _Fields, name: str, most: int) -> int:
    value = parse_whole_number(read.text(name), field=name, message=f"enter a whole number from 1 to {most}")
    if not 1 <= value <= most:
        raise InvalidInput(f"enter a whole number from 1 to {most}", field=name)
    return value


def _list(read: _Fields, name: str) -> tuple[str, ...]:
    items = [item for item in re.split(r"[,\n]", read.text(name)) if item.strip()]
    if len(items) > MAX_EXCLUDED:
        raise InvalidInput(f"at most {MAX_EXCLUDED} items", field=name)
    cleaned = []
    for item in items:
        if _ITEM.fullmatch(item.strip()) is None:
            raise InvalidInput("items are separated by commas and have no spaces", field=name)
        cleaned.append(item.strip())
    return tuple(dict.fromkeys(cleaned))


def _extras(read: _Fields) -> ExtrasForm:
    return ExtrasForm(
        welcome_points=read.whole("welcome_points"),
        birthday_points=read.whole("birthday_points"),
        coupon=read.optional(
            ("coupon_campaign", "coupon_percent"),
            lambda: CouponDiscount(
                parse_label(read.text("coupon_campaign"), field="coupon_campaign"), read.percent("coupon_percent")
            ),
        ),
        excluded_skus=_list(read, "excluded_skus"),
        excluded_categories=_list(read, "excluded_categories"),
    )


def form_fields(form: ProgramForm, currency: str) -> dict[str, str]:
    """The fields that show the form (the inverse of `parse_program_form` for what it writes)."""
    fields: dict[str, str] = {}

    def money(minor: int) -> str:
        return format_minor(minor, currency)

    if form.bonus is not None:
        for number, tier in enumerate(form.bonus.tiers, start=1):
            fields[f"tier{number}_from"] = money(tier.from_spend_minor)
            fields[f"tier{number}_accrual"] = format_percent(tier.accrual_bp)
            fields[f"tier{number}_fixed"] = str(tier.fixed_points) if tier.fixed_points else ""
            fields[f"tier{number}_cap"] = format_percent(tier.redeem_cap_bp)
        fields["min_check"] = money(form.bonus.min_check_minor)
    d = form.discounts
    if d.fixed_bp:
        fields["discount_percent"] = format_percent(d.fixed_bp)
    for prefix, steps in (("cumulative", d.cumulative), ("next", d.next_month.steps if d.next_month else ())):
        for number, step in enumerate(steps, start=1):
            fields[f"{prefix}{number}_from"] = money(step.from_minor)
            fields[f"{prefix}{number}_percent"] = format_percent(step.percent_bp)
    if d.next_month is not None:
        fields["next_floor"] = format_percent(d.next_month.floor_bp)
        fields["next_top"] = format_percent(d.next_month.top_bp)
    if d.before_time is not None:
        hours, minutes = divmod(d.before_time.until_minutes, 60)
        fields["before_time"] = f"{hours:02d}:{minutes:02d}"
        fields["before_time_percent"] = format_percent(d.before_time.percent_bp)
    if d.day_of_month is not None:
        fields["day_of_month"], fields["day_percent"] = (
            str(d.day_of_month.day),
            format_percent(d.day_of_month.percent_bp),
        )
    if d.segment is not None:
        fields["segment"], fields["segment_percent"] = d.segment.segment, format_percent(d.segment.percent_bp)
    if d.weekday is not None:
        fields["weekday"], fields["weekday_percent"] = str(d.weekday.weekday), format_percent(d.weekday.percent_bp)
    e = form.extras
    if e.welcome_points:
        fields["welcome_points"] = str(e.welcome_points)
    if e.birthday_points:
        fields["birthday_points"] = str(e.birthday_points)
    if e.coupon is not None:
        fields["coupon_campaign"], fields["coupon_percent"] = e.coupon.campaign, format_percent(e.coupon.percent_bp)
    fields["excluded_skus"] = ", ".join(e.excluded_skus)
    fields["excluded_categories"] = ", ".join(e.excluded_categories)
    return fields
