"""Rule sets to and from plain data (the JSON of the API, the YAML of the CLI), with every error naming its field.

Amounts are decimal strings in the network's currency ("1500.00"), percents decimal strings or integers with at
most two decimals ("2.5"), times of day "HH:MM" at the outlet, moments ISO 8601 with an offset.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from coalition.domain.errors import InvalidInput
from coalition.domain.money import BASIS_POINTS_PER_WHOLE, format_minor, parse_amount_minor
from coalition.domain.rules.budget import MAX_SET_CONDITION_CHARS, BudgetError, Cost, check_set
from coalition.domain.rules.context import sample_contexts
from coalition.domain.rules.expressions import ExpressionError, check_against, compile_condition
from coalition.domain.rules.model import (
    MAX_RULES_PER_SET,
    MINUTES_PER_DAY,
    MOMENT_RANGE_MESSAGE,
    AccrueFixed,
    AccruePercent,
    Discount,
    DiscountTarget,
    Effect,
    ExpiryKind,
    GrantGift,
    IssueCoupon,
    LineSelector,
    Multiplier,
    Per,
    PointsExpiry,
    ResetBalances,
    Rule,
    RuleSet,
    Scope,
    SetRedemption,
    SetTier,
    SpendBasis,
    SpendTier,
    SpendTierDiscount,
    Stacking,
    Trigger,
    Window,
    within_calendar,
)
from coalition.domain.rules.shapes import MAX_RULE_INTEGER, RULE_SET, SHAPES, Field, Kind, Shape

# ASCII digits only, matched in full (`\d` takes any script's digits; `$` lets a trailing newline through)
_PERCENT = re.compile(r"(?P<whole>[0-9]{1,3})(?:\.(?P<fraction>[0-9]{1,2}))?")
_FACTOR = re.compile(r"(?P<whole>[0-9]{1,3})(?:\.(?P<fraction>[0-9]{1,4}))?")
_TIME_OF_DAY = re.compile(r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})")
E = TypeVar("E")


class PathError(InvalidInput):
    """An input error whose field is already the full path from the top of the document."""


class Reader:
    """Reads one mapping, prefixing every error with the path to it (`rules[2].effects[0].percent`).

    Given its shape (shapes.py), it refuses a key the shape does not declare, and reads only declared fields, each
    as its declared kind: the parser and the published JSON Schema cannot drift apart. Without one (the explain
    request of application/rules.py), it reads whatever it is asked."""

    def __init__(self, data: object, path: str, currency: str, shape: Shape | None = None) -> None:
        if not isinstance(data, Mapping):
            raise PathError("expected an object", field=path or "body")
        self.data, self.path, self.currency, self.shape = data, path, currency, shape
        unknown = next((key for key in data if shape is not None and key not in shape.fields), None)
        if shape is not None and unknown is not None:
            names = ", ".join(shape.fields)
            raise PathError(
                f"an effect is an object with exactly one of: {names}"
                if shape.exactly_one
                else f"an unknown field (a typo?): the fields here are {names}",
                field=self.at(str(unknown)),
            )

    def at(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def declared(self, name: str, *kinds: Kind) -> Field | None:
        """The field's declaration; a field the shape does not declare, or as another kind, is the parser's bug."""
        if self.shape is None:
            return None
        field = self.shape.fields.get(name)
        if field is None or (kinds and field.kind not in kinds):
            raise LookupError(f"the parser reads {name!r} of a {self.shape.name} as {kinds}: not so in shapes.py")
        return field

    def has(self, name: str) -> bool:
        self.declared(name)
        return self.data.get(name) is not None

    def value(self, name: str, kind: Kind) -> object:
        """The field's value as it came, for a kind read outside this class (a condition, a factor)."""
        self.declared(name, kind)
        return self.data.get(name)

    def text(self, name: str, *, default: str | None = None, limit: int = 200) -> str:
        field = self.declared(name, "text")
        limit = field.max_length if field is not None and field.max_length else limit
        value = self.data.get(name, default)
        if not isinstance(value, str) or (default is None and not value.strip()) or len(value) > limit:
            raise PathError(f"expected a text of at most {limit} characters", field=self.at(name))
        return value.strip()

    def integer(self, name: str, *, default: int | None = None) -> int:
        self.declared(name, "integer")
        value = self.data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise PathError("expected an integer", field=self.at(name))
        if abs(value) > MAX_RULE_INTEGER:  # points, days, uses: far below what a 64-bit column holds
            raise PathError(f"expected an integer of at most {MAX_RULE_INTEGER}", field=self.at(name))
        return value

    def flag(self, name: str, *, default: bool) -> bool:
        self.declared(name, "flag")
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            raise PathError("expected true or false", field=self.at(name))
        return value

    def choice(self, name: str, kind: type[E], *, default: E | None = None) -> E:
        field = self.declared(name, "choice")
        if field is not None and field.choices is not kind:
            raise LookupError(f"the parser reads {name!r} as {kind}, shapes.py says {field.choices}")
        value = self.data.get(name)
        if value is None and default is not None:
            return default
        try:
            return kind(value)  # type: ignore[call-arg]
        except ValueError:
            options = ", ".join(str(member.value) for member in kind)  # type: ignore[attr-defined]
            raise PathError(f"expected one of: {options}", field=self.at(name)) from None

    def amount(self, name: str) -> int:
        self.declared(name, "amount")
        try:
            return parse_amount_minor(self.data.get(name), self.currency, field=self.at(name))
        except InvalidInput as error:
            raise PathError(error.detail, field=error.field) from None

    def optional_amount(self, name: str) -> int | None:
        return self.amount(name) if self.has(name) else None

    def percent(self, name: str) -> int:
        self.declared(name, "percent")
        return parse_percent_bp(self.data.get(name), field=self.at(name))

    def strings(self, name: str) -> frozenset[str]:
        self.declared(name, "texts")
        value = self.data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
            raise PathError("expected a list of texts", field=self.at(name))
        return frozenset(item.strip() for item in value)

    def integers(self, name: str) -> frozenset[int]:
        self.declared(name, "integers")
        value = self.data.get(name, [])
        if not isinstance(value, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) and abs(i) <= MAX_RULE_INTEGER for i in value
        ):
            raise PathError(f"expected a list of integers of at most {MAX_RULE_INTEGER}", field=self.at(name))
        return frozenset(value)

    def child(self, name: str) -> Reader:
        field = self.declared(name, "object")
        return Reader(self.data.get(name, {}), self.at(name), self.currency, _shape_of(field))

    def children(self, name: str) -> list[Reader]:
        field = self.declared(name, "objects")
        value = self.data.get(name, [])
        if not isinstance(value, list):
            raise PathError("expected a list", field=self.at(name))
        shape = _shape_of(field)
        return [Reader(item, f"{self.at(name)}[{index}]", self.currency, shape) for index, item in enumerate(value)]

    def moment(self, name: str) -> datetime | None:
        self.declared(name, "moment")
        value = self.data.get(name)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            raise PathError(
                "expected an ISO 8601 moment such as 2026-12-01T00:00:00+03:00", field=self.at(name)
            ) from None
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise PathError("a moment needs its offset, e.g. +03:00", field=self.at(name))
        if not within_calendar(moment):
            raise PathError(f"expected {MOMENT_RANGE_MESSAGE}", field=self.at(name))
        return moment

    def time_of_day(self, name: str, default: int) -> int:
        self.declared(name, "time_of_day")
        value = self.data.get(name)
        if value is None:
            return default
        found = _TIME_OF_DAY.fullmatch(str(value))
        minutes = int(found["hour"]) * 60 + int(found["minute"]) if found else -1
        if found is None or int(found["minute"]) > 59 or not 0 <= minutes <= MINUTES_PER_DAY:
            raise PathError("expected a time of day HH:MM (24:00 for the end of the day)", field=self.at(name))
        return minutes


def _shape_of(field: Field | None) -> Shape | None:
    return SHAPES[field.shape] if field is not None and field.shape is not None else None


def parse_percent_bp(value: object, *, field: str) -> int:
    """ "2.5" or 2 → basis points (250, 200); at most two decimals, between 0 and 100."""
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    found = _PERCENT.fullmatch(text.strip())
    if found is None:
        raise PathError('expected a percent such as "5" or "2.5", not negative', field=field)
    share_bp = int(found["whole"]) * 100 + int((found["fraction"] or "").ljust(2, "0") or "0")
    if share_bp > BASIS_POINTS_PER_WHOLE:
        raise PathError("a percent cannot be above 100", field=field)
    return share_bp


def _factor_bp(value: object, *, field: str) -> int:
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    found = _FACTOR.fullmatch(text.strip())
    if found is None:
        raise PathError('expected a multiplier such as "2" or "1.5"', field=field)
    return int(found["whole"]) * BASIS_POINTS_PER_WHOLE + int((found["fraction"] or "").ljust(4, "0") or "0")


def _guard(reader: Reader, build: Callable[[], E]) -> E:
    """Run a model constructor, re-homing its error under this reader's path."""
    try:
        return build()
    except PathError:
        raise
    except InvalidInput as error:
        raise PathError(error.detail, field=reader.at(error.field) if error.field else reader.path) from None


# --- reading ----------------------------------------------------------------------------------------------------


def parse_rule_set(data: object, currency: str, *, budgeted: bool = True) -> RuleSet:
    """`budgeted=False` reads a set published before the conditions' cost budget (budget.py) as it was accepted: a
    till must not start refusing purchases; its next draft is held to the budget."""
    top = Reader(data, "", currency, RULE_SET)
    annotation = top.value("$schema", "annotation")
    if annotation is not None and not isinstance(annotation, str):  # as the published schema says (shapes.py)
        raise PathError("expected the address of a schema (a text) or null", field="$schema")
    readers = top.children("rules")
    # counted before any condition is compiled, so an oversized set costs nothing to refuse
    if len(readers) > MAX_RULES_PER_SET:
        raise PathError(f"a rule set has at most {MAX_RULES_PER_SET} rules", field="rules")
    condition_chars = sum(len(value) for r in readers if isinstance(value := r.value("condition", "condition"), str))
    if budgeted and condition_chars > MAX_SET_CONDITION_CHARS:
        raise PathError(
            f"the conditions of a rule set have at most {MAX_SET_CONDITION_CHARS:,} characters together", field="rules"
        )
    parsed = [_parse_rule(reader, budgeted) for reader in readers]
    try:
        if budgeted:
            check_set([cost for _, cost in parsed])
    except BudgetError as error:
        raise PathError(str(error), field="rules") from None
    rules = tuple(rule for rule, _ in parsed)
    return _guard(top, lambda: RuleSet(rules))


def _parse_rule(reader: Reader, budgeted: bool = True) -> tuple[Rule, Cost]:
    """A rule, and the cost of its condition (a rule set's conditions have a budget together)."""
    given = reader.value("condition", "condition")
    condition = "" if given is None else given
    if not isinstance(condition, str):
        raise PathError("expected a CEL expression as text", field=reader.at("condition"))
    try:
        compiled = compile_condition(condition, budgeted=budgeted)  # over its budget: refused before it runs
        check_against(compiled, sample_contexts())
    except ExpressionError as error:
        raise PathError(str(error), field=reader.at("condition")) from None
    effects = tuple(_effect(item) for item in reader.children("effects"))
    stacking = reader.choice("stacking", Stacking, default=Stacking.STACKABLE)
    rule = _guard(
        reader,
        lambda: Rule(
            code=reader.text("code"),
            name=reader.text("name", default=""),
            trigger=reader.choice("trigger", Trigger, default=Trigger.PURCHASE),
            effects=effects,
            condition=condition,
            scope=_scope(reader.child("scope")),
            window=_window(reader.child("window")),
            priority=reader.integer("priority", default=0),
            stacking=stacking,
            group=reader.text("group") if reader.has("group") else None,
        ),
    )
    return rule, compiled.cost


def _scope(reader: Reader) -> Scope:
    return Scope(partners=reader.strings("partners"), outlets=reader.strings("outlets"))


def _window(reader: Reader) -> Window:
    return _guard(
        reader,
        lambda: Window(
            starts_at=reader.moment("starts_at"),
            ends_at=reader.moment("ends_at"),
            weekdays=reader.integers("weekdays"),
            days_of_month=reader.integers("days_of_month"),
            from_minute=reader.time_of_day("from", 0),
            until_minute=reader.time_of_day("until", MINUTES_PER_DAY),
        ),
    )


def _lines(reader: Reader) -> LineSelector:
    return LineSelector(
        skus=reader.strings("skus"),
        categories=reader.strings("categories"),
        tags=reader.strings("tags"),
        exclude_skus=reader.strings("exclude_skus"),
        exclude_categories=reader.strings("exclude_categories"),
        exclude_tags=reader.strings("exclude_tags"),
    )


def _expiry(reader: Reader) -> PointsExpiry:
    if reader.has("days"):
        return _guard(reader, lambda: PointsExpiry(ExpiryKind.DAYS, reader.integer("days")))
    return PointsExpiry(reader.choice("kind", ExpiryKind, default=ExpiryKind.NEVER))


_EFFECT_READERS: dict[str, Callable[[Reader], Effect]] = {
    "accrue_percent": lambda r: AccruePercent(
        percent_bp=r.percent("percent"),
        lines=_lines(r.child("lines")),
        multipliers=tuple(
            Multiplier(_lines(m.child("lines")), _factor_bp(m.value("factor", "factor"), field=m.at("factor")))
            for m in r.children("multipliers")
        ),
        expiry=_expiry(r.child("expiry")),
    ),
    "accrue_fixed": lambda r: AccrueFixed(
        points=r.integer("points"),
        per=r.choice("per", Per, default=Per.CHECK),
        lines=_lines(r.child("lines")),
        expiry=_expiry(r.child("expiry")),
    ),
    "discount": lambda r: Discount(
        percent_bp=r.percent("percent") if r.has("percent") else None,
        amount_minor=r.optional_amount("amount"),
        target=r.choice("target", DiscountTarget, default=DiscountTarget.CHECK),
        lines=_lines(r.child("lines")),
        max_minor=r.optional_amount("max_amount"),
    ),
    "spend_tier_discount": lambda r: SpendTierDiscount(
        basis=r.choice("basis", SpendBasis),
        tiers=tuple(SpendTier(t.amount("from"), t.percent("percent")) for t in r.children("tiers")),
        floor_bp=r.percent("floor") if r.has("floor") else 0,
        top_bp=r.percent("top") if r.has("top") else BASIS_POINTS_PER_WHOLE,
        lines=_lines(r.child("lines")),
    ),
    "set_redemption": lambda r: SetRedemption(
        cap_bp=r.percent("cap_percent"), min_check_minor=r.optional_amount("min_check") or 0
    ),
    "grant_gift": lambda r: GrantGift(r.text("gift_type"), r.strings("outlets"), r.integer("valid_days")),
    "issue_coupon": lambda r: IssueCoupon(r.text("campaign"), r.integer("valid_days"), r.integer("uses", default=1)),
    "set_tier": lambda r: SetTier(r.text("tier")),
    "reset_balances": lambda r: ResetBalances(r.flag("points", default=True), r.flag("gifts", default=True)),
}


def _effect(reader: Reader) -> Effect:
    """An effect's one key names its kind (the reader has refused a key that names none)."""
    kinds = [str(name) for name in reader.data]
    if len(kinds) != 1:
        raise PathError(f"an effect is an object with exactly one of: {', '.join(_EFFECT_READERS)}", field=reader.path)
    inner = reader.child(kinds[0])
    return _guard(inner, lambda: _EFFECT_READERS[kinds[0]](inner))


# --- writing ----------------------------------------------------------------------------------------------------


def format_percent(share_bp: int) -> str:
    whole, fraction = divmod(share_bp, 100)
    return str(whole) if fraction == 0 else f"{whole}.{fraction:02d}".rstrip("0")


def _format_factor(factor_bp: int) -> str:
    whole, fraction = divmod(factor_bp, BASIS_POINTS_PER_WHOLE)
    return str(whole) if fraction == 0 else f"{whole}.{fraction:04d}".rstrip("0")


def _lines_out(selector: LineSelector) -> dict[str, Any]:
    names = ("skus", "categories", "tags", "exclude_skus", "exclude_categories", "exclude_tags")
    return {name: sorted(getattr(selector, name)) for name in names if getattr(selector, name)}


def _expiry_out(expiry: PointsExpiry) -> dict[str, Any]:
    return {"days": expiry.days} if expiry.kind is ExpiryKind.DAYS else {"kind": expiry.kind.value}


def _time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def effect_to_data(effect: Effect, currency: str) -> dict[str, Any]:
    def money(minor: int) -> str:
        return format_minor(minor, currency)

    match effect:
        case AccruePercent():
            body: dict[str, Any] = {"percent": format_percent(effect.percent_bp), "lines": _lines_out(effect.lines)}
            body["multipliers"] = [
                {"lines": _lines_out(m.lines), "factor": _format_factor(m.factor_bp)} for m in effect.multipliers
            ]
            return {"accrue_percent": body | {"expiry": _expiry_out(effect.expiry)}}
        case AccrueFixed():
            return {
                "accrue_fixed": {
                    "points": effect.points,
                    "per": effect.per.value,
                    "lines": _lines_out(effect.lines),
                    "expiry": _expiry_out(effect.expiry),
                }
            }
        case Discount():
            body = {"target": effect.target.value, "lines": _lines_out(effect.lines)}
            if effect.percent_bp is not None:
                body["percent"] = format_percent(effect.percent_bp)
            if effect.amount_minor is not None:
                body["amount"] = money(effect.amount_minor)
            if effect.max_minor is not None:
                body["max_amount"] = money(effect.max_minor)
            return {"discount": body}
        case SpendTierDiscount():
            return {
                "spend_tier_discount": {
                    "basis": effect.basis.value,
                    "tiers": [
                        {"from": money(t.threshold_minor), "percent": format_percent(t.percent_bp)}
                        for t in effect.tiers
                    ],
                    "floor": format_percent(effect.floor_bp),
                    "top": format_percent(effect.top_bp),
                    "lines": _lines_out(effect.lines),
                }
            }
        case SetRedemption():
            return {
                "set_redemption": {
                    "cap_percent": format_percent(effect.cap_bp),
                    "min_check": money(effect.min_check_minor),
                }
            }
        case GrantGift():
            return {
                "grant_gift": {
                    "gift_type": effect.gift_type,
                    "outlets": sorted(effect.outlets),
                    "valid_days": effect.valid_days,
                }
            }
        case IssueCoupon():
            return {"issue_coupon": {"campaign": effect.campaign, "valid_days": effect.valid_days, "uses": effect.uses}}
        case SetTier():
            return {"set_tier": {"tier": effect.tier}}
        case ResetBalances():
            return {"reset_balances": {"points": effect.points, "gifts": effect.gifts}}
    raise TypeError(f"unknown effect {effect!r}")


def rule_to_data(rule: Rule, currency: str) -> dict[str, Any]:
    window = rule.window
    data: dict[str, Any] = {
        "code": rule.code,
        "name": rule.name,
        "trigger": rule.trigger.value,
        "condition": rule.condition,
        "priority": rule.priority,
        "stacking": rule.stacking.value,
        "scope": {"partners": sorted(rule.scope.partners), "outlets": sorted(rule.scope.outlets)},
        "window": {
            "starts_at": window.starts_at.isoformat() if window.starts_at else None,
            "ends_at": window.ends_at.isoformat() if window.ends_at else None,
            "weekdays": sorted(window.weekdays),
            "days_of_month": sorted(window.days_of_month),
            "from": _time(window.from_minute),
            "until": _time(window.until_minute),
        },
        "effects": [effect_to_data(effect, currency) for effect in rule.effects],
    }
    if rule.group is not None:
        data["group"] = rule.group
    return data


def rule_set_to_data(rule_set: RuleSet, currency: str) -> dict[str, Any]:
    return {"rules": [rule_to_data(rule, currency) for rule in rule_set.rules]}
