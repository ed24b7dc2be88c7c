"""The shape of a rule-set document: every object it holds, the fields each may have, and of what kind.

One source for two readers. The parser (parsing.py) reads each object through a `Reader` of its shape: a key the
shape does not declare is refused, naming its path (`rules[2].priorty`), and the parser itself cannot read a field
its shape does not declare (a programming error, raised at once). The JSON Schema that editors use to check a
document as it is typed (`GET /v1/admin/rule-sets/schema`, `coalition rules schema`) is generated from the same
declarations by `rule_set_schema`, so the two cannot drift apart.

The schema is never stricter than the parser on what it checks (types, formats, required and unknown fields); the
parser checks more (a condition's CEL, a window that ends after it starts, unique codes), which no schema can say.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from coalition.domain.money import BASIS_POINTS_PER_WHOLE
from coalition.domain.rules.expressions import MAX_EXPRESSION_CHARS
from coalition.domain.rules.model import (
    MAX_MULTIPLIER_BP,
    MAX_POINTS_PER_EFFECT,
    MAX_PRIORITY,
    MAX_RULES_PER_SET,
    MAX_VALID_DAYS,
    DiscountTarget,
    ExpiryKind,
    Per,
    SpendBasis,
    Stacking,
    Trigger,
)

Kind = Literal[
    "text",  # a string, stripped; `max_length` characters at most
    "condition",  # a CEL expression as text, or nothing (always)
    "integer",
    "flag",  # true or false
    "choice",  # one of an enumeration's values
    "amount",  # a decimal string in the network's currency: "1500.00"
    "percent",  # "2.5" or 2: at most two decimals, 0 to 100
    "factor",  # "1.5" or 2: a multiplier with at most four decimals
    "moment",  # ISO 8601 with an offset
    "time_of_day",  # "HH:MM" at the outlet, 24:00 for the end of the day
    "texts",  # a list of non-blank strings
    "integers",  # a list of integers
    "object",  # an object of the shape named by `shape`
    "objects",  # a list of objects of the shape named by `shape`
    "annotation",  # for editors only (`$schema`): the parser leaves it alone
]
MAX_RULE_INTEGER = 10**12  # as the API's points fields
PERCENT_TEXT = r"^\s*[0-9]{1,3}(\.[0-9]{1,2})?\s*$"
FACTOR_TEXT = r"^\s*[0-9]{1,3}(\.[0-9]{1,4})?\s*$"
AMOUNT_TEXT = r"^[0-9]{1,15}(\.[0-9]+)?$"
TIME_OF_DAY_TEXT = r"^[0-9]{2}:[0-9]{2}$"
NOT_BLANK = r"\S"
SCHEMA_ID = "https://coalition.dev/schemas/rule-set.json"


@dataclass(frozen=True, slots=True)
class Field:
    kind: Kind
    meaning: str
    shape: str | None = None  # of an object or a list of objects
    choices: type[StrEnum] | None = None  # of a choice
    max_length: int | None = None  # of a text
    required: bool = False  # the parser refuses the object without it
    nullable: bool = False  # the parser takes null as "not given"
    minimum: int | None = None  # of an integer, or of each integer of a list, or of a percent or factor given as one
    maximum: int | None = None
    min_items: int | None = None  # of a list
    max_items: int | None = None


@dataclass(frozen=True, slots=True)
class Shape:
    name: str
    meaning: str
    fields: Mapping[str, Field]
    exactly_one: bool = False  # an effect: one key, naming its kind


def _text(meaning: str, max_length: int, *, required: bool = False, nullable: bool = False) -> Field:
    return Field("text", meaning, max_length=max_length, required=required, nullable=nullable)


def _choice(meaning: str, choices: type[StrEnum], *, required: bool = False) -> Field:
    return Field("choice", meaning, choices=choices, required=required, nullable=not required)


def _object(shape: str, meaning: str) -> Field:
    return Field("object", meaning, shape=shape)


def _percent(meaning: str, *, required: bool = True) -> Field:
    return Field("percent", meaning, required=required, nullable=not required, minimum=0, maximum=100)


def _amount(meaning: str, *, required: bool = True) -> Field:
    return Field("amount", meaning, required=required, nullable=not required)


def _integer(meaning: str, *, required: bool = True, minimum: int | None = None, maximum: int | None = None) -> Field:
    return Field("integer", meaning, required=required, minimum=minimum, maximum=maximum)


LINES = _object("lines", "which lines of the basket; all of them if empty")
EXPIRY = _object("expiry", "how long the points live; never if omitted")

_SHAPES = (
    Shape(
        "rule_set",
        "A rule set (docs/rules.md).",
        {
            "$schema": Field(
                "annotation", "the schema an editor checks this document against; ignored by the server", nullable=True
            ),
            "rules": Field("objects", "the rules", shape="rule", max_items=MAX_RULES_PER_SET),
        },
    ),
    Shape(
        "rule",
        "A rule: when it applies (trigger, scope, window, condition) and what it does (effects).",
        {
            "code": _text(
                "unique in the set; purchases record the codes of the rules that applied", 100, required=True
            ),
            "name": _text("for people", 200),
            "trigger": _choice("what runs the rule; purchase if omitted", Trigger),
            "condition": Field(
                "condition", "a CEL expression over the context (docs/rules.md); always if empty", nullable=True
            ),
            "scope": _object("scope", "the partners and outlets where the rule applies; everywhere if empty"),
            "window": _object("window", "when the rule applies; always if omitted"),
            "effects": Field(
                "objects", "what the rule does: one or more effects", shape="effect", required=True, min_items=1
            ),
            "priority": _integer(
                "higher applies first and wins its exclusive group",
                required=False,
                minimum=-MAX_PRIORITY,
                maximum=MAX_PRIORITY,
            ),
            "stacking": _choice("stackable if omitted; exclusive and best_of name a group", Stacking),
            "group": _text("the group of an exclusive or best_of rule", 100, nullable=True),
        },
    ),
    Shape(
        "scope",
        "Where a rule applies: partners and outlets by name; the whole network if both are empty.",
        {
            "partners": Field("texts", "partners by name"),
            "outlets": Field("texts", "outlets by name"),
        },
    ),
    Shape(
        "window",
        "When a rule applies; weekdays, days of the month and times of day at the outlet's local time.",
        {
            "starts_at": Field("moment", "ISO 8601 with an offset, inclusive", nullable=True),
            "ends_at": Field("moment", "ISO 8601 with an offset, exclusive", nullable=True),
            "weekdays": Field("integers", "1 = Monday … 7", minimum=1, maximum=7),
            "days_of_month": Field("integers", "1 to 31", minimum=1, maximum=31),
            "from": Field("time_of_day", '"HH:MM", inclusive', nullable=True),
            "until": Field("time_of_day", '"HH:MM", exclusive; "24:00" for the end of the day', nullable=True),
        },
    ),
    Shape(
        "lines",
        "Which lines of the basket an effect takes: all unless narrowed; exclusions always win.",
        {
            name: Field("texts", meaning)
            for name, meaning in (
                ("skus", "lines with these SKUs"),
                ("categories", "lines of these categories"),
                ("tags", "lines with any of these tags"),
                ("exclude_skus", "never lines with these SKUs"),
                ("exclude_categories", "never lines of these categories"),
                ("exclude_tags", "never lines with any of these tags"),
            )
        },
    ),
    Shape(
        "expiry",
        "How long accrued points live: `days`, or a `kind`.",
        {
            "days": Field(
                "integer", "points live this many days (1 to 3660)", nullable=True, minimum=1, maximum=MAX_VALID_DAYS
            ),
            "kind": _choice("never, end_of_month, end_of_visit (or days, with `days`)", ExpiryKind),
        },
    ),
    Shape(
        "multiplier",
        "More points on some lines: their share of the accrual times a factor.",
        {
            "lines": LINES,
            "factor": Field(
                "factor",
                'e.g. "2" or "1.5"',
                required=True,
                minimum=0,
                maximum=MAX_MULTIPLIER_BP // BASIS_POINTS_PER_WHOLE,
            ),
        },
    ),
    Shape(
        "tier",
        "A step of a spend-tier discount: from this spend, this percent.",
        {"from": _amount("the spend from which the tier applies"), "percent": _percent("the discount")},
    ),
    Shape(
        "accrue_percent",
        "Points worth a percent of what the selected lines cost, paid in money.",
        {
            "percent": _percent("of the money paid"),
            "lines": LINES,
            "multipliers": Field("objects", "more points on some lines", shape="multiplier"),
            "expiry": EXPIRY,
        },
    ),
    Shape(
        "accrue_fixed",
        "A fixed number of points per check or per unit of the selected lines.",
        {
            "points": _integer("points granted", minimum=1, maximum=MAX_POINTS_PER_EFFECT),
            "per": _choice("check (default) or unit", Per),
            "lines": LINES,
            "expiry": EXPIRY,
        },
    ),
    Shape(
        "discount",
        "A discount: a percent or an amount off the check, every selected line, or the cheapest line.",
        {
            "percent": _percent("off", required=False),
            "amount": _amount("off", required=False),
            "target": _choice("check (default), lines or cheapest_line", DiscountTarget),
            "lines": LINES,
            "max_amount": _amount("the most the discount takes off", required=False),
        },
    ),
    Shape(
        "spend_tier_discount",
        "A discount whose percent grows with the member's spend.",
        {
            "basis": _choice("which spend decides the tier", SpendBasis, required=True),
            "tiers": Field(
                "objects", "the tiers, their thresholds strictly increasing", shape="tier", required=True, min_items=1
            ),
            "floor": _percent("the least percent", required=False),
            "top": _percent("the most percent", required=False),
            "lines": LINES,
        },
    ),
    Shape(
        "set_redemption",
        "How much of a check points may pay.",
        {
            "cap_percent": _percent("the largest share of the check paid with points"),
            "min_check": _amount("the smallest check points may pay", required=False),
        },
    ),
    Shape(
        "grant_gift",
        "A gift of the network's catalogue.",
        {
            "gift_type": _text("a gift type of the catalogue", 200, required=True),
            "outlets": Field("texts", "where it is handed over; where the gift type says if empty"),
            "valid_days": _integer("days the gift is valid (1 to 3660)", minimum=1, maximum=MAX_VALID_DAYS),
        },
    ),
    Shape(
        "issue_coupon",
        "A coupon of a campaign.",
        {
            "campaign": _text("the coupon's campaign", 200, required=True),
            "valid_days": _integer("days the coupon is valid (1 to 3660)", minimum=1, maximum=MAX_VALID_DAYS),
            "uses": _integer("how many times it may be used; 1 if omitted", required=False, minimum=1, maximum=1000),
        },
    ),
    Shape("set_tier", "Moves the member to a tier.", {"tier": _text("the tier", 200, required=True)}),
    Shape(
        "reset_balances",
        "At the end of a visit: what the visit left unused is reset.",
        {
            "points": Field("flag", "the points it added, net of those spent; true if omitted"),
            "gifts": Field("flag", "its gifts not handed over; true if omitted"),
        },
    ),
)
EFFECT_KINDS = (
    "accrue_percent",
    "accrue_fixed",
    "discount",
    "spend_tier_discount",
    "set_redemption",
    "grant_gift",
    "issue_coupon",
    "set_tier",
    "reset_balances",
)
EFFECT = Shape(
    "effect",
    "An effect: an object with exactly one key, naming its kind.",
    {kind: _object(kind, next(s.meaning for s in _SHAPES if s.name == kind)) for kind in EFFECT_KINDS},
    exactly_one=True,
)
SHAPES: Mapping[str, Shape] = {shape.name: shape for shape in (*_SHAPES, EFFECT)}
RULE_SET = SHAPES["rule_set"]


# --- the JSON Schema --------------------------------------------------------------------------------------------


def rule_set_schema() -> dict[str, Any]:
    """The JSON Schema (draft 7, which editors know best) of a rule-set document, from the shapes above."""
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": SCHEMA_ID,
        "title": "Coalition rule set",
        **_object_schema(RULE_SET),
        "definitions": {name: _object_schema(shape) for name, shape in SHAPES.items() if shape is not RULE_SET},
    }


def _object_schema(shape: Shape) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "description": shape.meaning,
        "properties": {name: _field_schema(field) for name, field in shape.fields.items()},
        "additionalProperties": False,
    }
    required = [name for name, field in shape.fields.items() if field.required]
    if required:
        schema["required"] = required
    if shape.exactly_one:
        schema |= {"minProperties": 1, "maxProperties": 1}
    return schema


def _field_schema(field: Field) -> dict[str, Any]:
    schema = {"description": field.meaning} | _value_schema(field)
    if field.nullable and "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    elif field.nullable:
        schema["type"] = [*_types(schema["type"]), "null"]
    return schema


def _types(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _bounds(field: Field) -> dict[str, int]:
    bounds = {"minimum": field.minimum, "maximum": field.maximum}
    return {name: value for name, value in bounds.items() if value is not None}


def _value_schema(field: Field) -> dict[str, Any]:
    match field.kind:
        case "text":
            text: dict[str, Any] = {"type": "string", "maxLength": field.max_length or 200}
            return text | ({"pattern": NOT_BLANK} if field.required else {})
        case "condition":
            return {"type": "string", "maxLength": MAX_EXPRESSION_CHARS}
        case "integer":
            return {"type": "integer", "minimum": -MAX_RULE_INTEGER, "maximum": MAX_RULE_INTEGER} | _bounds(field)
        case "flag":
            return {"type": "boolean"}
        case "choice":
            if field.choices is None:
                raise ValueError("a choice names its enumeration")
            return {"enum": [member.value for member in field.choices]}
        case "amount":
            return {"type": "string", "pattern": AMOUNT_TEXT, "examples": ["1500.00"]}
        case "percent":
            return {"type": ["string", "integer"], "pattern": PERCENT_TEXT, "examples": ["5", "2.5"]} | _bounds(field)
        case "factor":
            return {"type": ["string", "integer"], "pattern": FACTOR_TEXT, "examples": ["2", "1.5"]} | _bounds(field)
        case "moment":
            return {"type": "string", "examples": ["2026-12-01T00:00:00+03:00"]}
        case "time_of_day":
            return {"type": "string", "pattern": TIME_OF_DAY_TEXT, "examples": ["08:00", "24:00"]}
        case "texts":
            return {"type": "array", "items": {"type": "string", "pattern": NOT_BLANK}}
        case "integers":
            bounds = {"minimum": -MAX_RULE_INTEGER, "maximum": MAX_RULE_INTEGER} | _bounds(field)
            return {"type": "array", "items": {"type": "integer"} | bounds}
        case "object":  # under allOf: beside a bare $ref, draft 7 ignores the description editors show
            return {"allOf": [{"$ref": f"#/definitions/{field.shape}"}]}
        case "objects":
            many: dict[str, Any] = {"type": "array", "items": {"$ref": f"#/definitions/{field.shape}"}}
            counts = {"minItems": field.min_items, "maxItems": field.max_items}
            return many | {name: count for name, count in counts.items() if count is not None}
        case "annotation":
            return {"type": "string"}
    raise ValueError(f"no schema for the kind {field.kind}")
