"""What a rule is: a trigger, a scope, a validity window, a condition, effects, a priority and a stacking mode.

Everything here is immutable and checked on construction; amounts are minor units, shares are basis points
(10,000 = 100 %), points are integers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from coalition.domain.errors import InvalidInput
from coalition.domain.money import BASIS_POINTS_PER_WHOLE, MAX_AMOUNT_MINOR

MAX_RULES_PER_SET = 1000
# as the API's points fields and a purchase's points ceiling (limits.MAX_POINTS_CEILING): the built-in program's
# fixed points per check, up to that, are a rule too (rules/builtin.py)
MAX_POINTS_PER_EFFECT = 10**12
MAX_MULTIPLIER_BP = 100 * BASIS_POINTS_PER_WHOLE  # ×100
MAX_VALID_DAYS = 3660
MAX_PRIORITY = 10**6
MINUTES_PER_DAY = 24 * 60
# A rule's moments (a window's bounds, a publication) lie well inside the calendar: the conflict check shifts them by
# weeks and local times convert them, which at year 1 or 9999 overflow (a 500 rather than the field's refusal).
EARLIEST_MOMENT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime(9000, 1, 1, tzinfo=UTC)
MOMENT_RANGE_MESSAGE = "a moment between 1970-01-01 and 9000-01-01 (UTC)"


def within_calendar(moment: datetime) -> bool:
    """Whether an aware moment is one a rule may name (comparing needs no conversion, so it cannot overflow)."""
    return EARLIEST_MOMENT <= moment < LATEST_MOMENT


class Trigger(StrEnum):
    PURCHASE = "purchase"
    REFUND = "refund"
    ENROLMENT = "enrolment"
    BIRTHDAY = "birthday"
    VISIT_START = "visit_start"
    VISIT_END = "visit_end"
    DEVICE_USE = "device_use"
    PERIOD_CLOSE = "period_close"


class Stacking(StrEnum):
    STACKABLE = "stackable"  # fires alongside every other rule
    EXCLUSIVE = "exclusive"  # of the firing rules of its group, only the highest priority applies
    BEST_OF = "best_of"  # of the firing rules of its group, only the one worth most to the customer applies


class DiscountTarget(StrEnum):
    CHECK = "check"  # every selected line, as one check
    LINES = "lines"  # every selected line (a percent is the same; a fixed amount is per line)
    CHEAPEST_LINE = "cheapest_line"  # the selected line with the lowest total


class Per(StrEnum):
    CHECK = "check"
    UNIT = "unit"  # per whole unit of the selected lines (quantity rounded down)


class SpendBasis(StrEnum):
    LIFETIME = "lifetime"
    CURRENT_PERIOD = "current_period"  # this calendar month so far
    PREVIOUS_PERIOD = "previous_period"  # last calendar month: next month's discount from this month's spend


class ExpiryKind(StrEnum):
    NEVER = "never"
    DAYS = "days"
    END_OF_MONTH = "end_of_month"
    END_OF_VISIT = "end_of_visit"


def _require(condition: bool, message: str, field_name: str) -> None:
    if not condition:
        raise InvalidInput(message, field=field_name)


def _require_share(share_bp: int, field_name: str) -> None:
    _require(0 <= share_bp <= BASIS_POINTS_PER_WHOLE, "a percent must be between 0 and 100", field_name)


def _require_amount(amount_minor: int, field_name: str) -> None:
    _require(0 <= amount_minor <= MAX_AMOUNT_MINOR, "an amount cannot be negative or that large", field_name)


@dataclass(frozen=True, slots=True)
class LineSelector:
    """Which basket lines an effect applies to: all lines unless narrowed; exclusions always win."""

    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    exclude_skus: frozenset[str] = frozenset()
    exclude_categories: frozenset[str] = frozenset()
    exclude_tags: frozenset[str] = frozenset()

    @property
    def narrowed(self) -> bool:
        return bool(self.skus or self.categories or self.tags)

    @property
    def everything(self) -> bool:
        return not (self.narrowed or self.exclude_skus or self.exclude_categories or self.exclude_tags)

    def matches(self, sku: str, category: str | None, tags: frozenset[str]) -> bool:
        if sku in self.exclude_skus or category in self.exclude_categories or not self.exclude_tags.isdisjoint(tags):
            return False
        if not (self.skus or self.categories or self.tags):
            return True
        return sku in self.skus or category in self.categories or not self.tags.isdisjoint(tags)


ALL_LINES = LineSelector()


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a rule applies: the whole network when both sets are empty, else the named partners and outlets."""

    partners: frozenset[str] = frozenset()
    outlets: frozenset[str] = frozenset()

    @property
    def network_wide(self) -> bool:
        return not self.partners and not self.outlets

    def matches(self, partner: str, outlet: str) -> bool:
        return self.network_wide or partner in self.partners or outlet in self.outlets


@dataclass(frozen=True, slots=True)
class Window:
    """When a rule applies: an absolute validity period (UTC) and recurring local-time parts at the outlet."""

    starts_at: datetime | None = None
    ends_at: datetime | None = None  # exclusive
    weekdays: frozenset[int] = frozenset()  # ISO: 1 = Monday … 7 = Sunday; empty = every day
    days_of_month: frozenset[int] = frozenset()  # 1 … 31; empty = every day
    from_minute: int = 0  # minutes after local midnight, inclusive
    until_minute: int = MINUTES_PER_DAY  # exclusive

    def __post_init__(self) -> None:
        for moment, name in ((self.starts_at, "starts_at"), (self.ends_at, "ends_at")):
            _require(moment is None or moment.tzinfo is not None, "a moment needs a time zone", f"{name}")
        if self.starts_at is not None and self.ends_at is not None:
            _require(self.starts_at < self.ends_at, "a window must end after it starts", "ends_at")
        _require(all(1 <= d <= 7 for d in self.weekdays), "weekdays are 1 (Monday) to 7", "weekdays")
        _require(all(1 <= d <= 31 for d in self.days_of_month), "days of a month are 1 to 31", "days_of_month")
        _require(
            0 <= self.from_minute < self.until_minute <= MINUTES_PER_DAY,
            "a time of day window must start before it ends, within the day",
            "from",
        )

    def is_open(self, now_utc: datetime, local: datetime) -> bool:
        if self.starts_at is not None and now_utc < self.starts_at:
            return False
        if self.ends_at is not None and now_utc >= self.ends_at:
            return False
        if self.weekdays and local.isoweekday() not in self.weekdays:
            return False
        if self.days_of_month and local.day not in self.days_of_month:
            return False
        minute = local.hour * 60 + local.minute
        return self.from_minute <= minute < self.until_minute

    def closed_for_good(self, now_utc: datetime) -> bool:
        return self.ends_at is not None and self.ends_at <= now_utc


ALWAYS = Window()


# --- effects --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Multiplier:
    lines: LineSelector
    factor_bp: int  # 20,000 = ×2

    def __post_init__(self) -> None:
        _require(0 <= self.factor_bp <= MAX_MULTIPLIER_BP, "a multiplier is between ×0 and ×100", "multipliers")


@dataclass(frozen=True, slots=True)
class PointsExpiry:
    kind: ExpiryKind = ExpiryKind.NEVER
    days: int | None = None

    def __post_init__(self) -> None:
        if self.kind is ExpiryKind.DAYS:
            _require(self.days is not None and 1 <= self.days <= MAX_VALID_DAYS, "points live 1 to 3660 days", "days")
        else:
            _require(self.days is None, "days are given only for an expiry in days", "days")


NEVER_EXPIRES = PointsExpiry()


@dataclass(frozen=True, slots=True)
class AccruePercent:
    """Points worth `percent_bp` of the money paid for the selected lines; multipliers on chosen products."""

    percent_bp: int
    lines: LineSelector = ALL_LINES
    multipliers: tuple[Multiplier, ...] = ()
    expiry: PointsExpiry = NEVER_EXPIRES

    def __post_init__(self) -> None:
        _require_share(self.percent_bp, "percent")


@dataclass(frozen=True, slots=True)
class AccrueFixed:
    """A fixed number of points per check, or per whole unit of the selected lines."""

    points: int
    per: Per = Per.CHECK
    lines: LineSelector = ALL_LINES
    expiry: PointsExpiry = NEVER_EXPIRES

    def __post_init__(self) -> None:
        _require(0 < self.points <= MAX_POINTS_PER_EFFECT, "points must be positive", "points")


@dataclass(frozen=True, slots=True)
class Discount:
    """A percent or a fixed amount off the check, the selected lines or the cheapest selected line."""

    percent_bp: int | None = None
    amount_minor: int | None = None
    target: DiscountTarget = DiscountTarget.CHECK
    lines: LineSelector = ALL_LINES
    max_minor: int | None = None

    def __post_init__(self) -> None:
        _require(
            (self.percent_bp is None) != (self.amount_minor is None),
            "a discount has either a percent or an amount",
            "percent",
        )
        if self.percent_bp is not None:
            _require_share(self.percent_bp, "percent")
        if self.amount_minor is not None:
            _require_amount(self.amount_minor, "amount")
        if self.max_minor is not None:
            _require_amount(self.max_minor, "max_amount")


@dataclass(frozen=True, slots=True)
class SpendTier:
    threshold_minor: int
    percent_bp: int


@dataclass(frozen=True, slots=True)
class SpendTierDiscount:
    """A percent chosen by the member's spend (lifetime, this period or the previous one), with a floor and a top."""

    basis: SpendBasis
    tiers: tuple[SpendTier, ...]
    floor_bp: int = 0
    top_bp: int = BASIS_POINTS_PER_WHOLE
    lines: LineSelector = ALL_LINES

    def __post_init__(self) -> None:
        _require(bool(self.tiers), "a spend-tier discount needs at least one tier", "tiers")
        thresholds = [tier.threshold_minor for tier in self.tiers]
        _require(thresholds == sorted(set(thresholds)), "tier thresholds must strictly increase", "tiers")
        for index, tier in enumerate(self.tiers):
            _require_amount(tier.threshold_minor, f"tiers[{index}].threshold")
            _require_share(tier.percent_bp, f"tiers[{index}].percent")
        _require_share(self.floor_bp, "floor")
        _require_share(self.top_bp, "top")
        _require(self.floor_bp <= self.top_bp, "the floor cannot be above the top", "floor")

    def percent_for(self, spend_minor: int) -> int:
        chosen = 0
        for tier in self.tiers:
            if spend_minor >= tier.threshold_minor:
                chosen = tier.percent_bp
        return min(max(chosen, self.floor_bp), self.top_bp)


@dataclass(frozen=True, slots=True)
class SetRedemption:
    """How much of a check points may pay: a share cap and a minimum check."""

    cap_bp: int
    min_check_minor: int = 0

    def __post_init__(self) -> None:
        _require_share(self.cap_bp, "cap")
        _require_amount(self.min_check_minor, "min_check")


@dataclass(frozen=True, slots=True)
class GrantGift:
    gift_type: str
    outlets: frozenset[str]  # where it may be handed over; empty = wherever the gift type says
    valid_days: int

    def __post_init__(self) -> None:
        _require(bool(self.gift_type.strip()), "name the gift type", "gift_type")
        _require(1 <= self.valid_days <= MAX_VALID_DAYS, "a gift is valid 1 to 3660 days", "valid_days")


@dataclass(frozen=True, slots=True)
class IssueCoupon:
    campaign: str
    valid_days: int
    uses: int = 1

    def __post_init__(self) -> None:
        _require(bool(self.campaign.strip()), "name the coupon campaign", "campaign")
        _require(1 <= self.valid_days <= MAX_VALID_DAYS, "a coupon is valid 1 to 3660 days", "valid_days")
        _require(1 <= self.uses <= 1000, "a coupon has 1 to 1000 uses", "uses")


@dataclass(frozen=True, slots=True)
class SetTier:
    tier: str

    def __post_init__(self) -> None:
        _require(bool(self.tier.strip()), "name the tier", "tier")


@dataclass(frozen=True, slots=True)
class ResetBalances:
    """At a visit's end: unused points and gifts of the visit are reset (breakage)."""

    points: bool = True
    gifts: bool = True


Effect = (
    AccruePercent
    | AccrueFixed
    | Discount
    | SpendTierDiscount
    | SetRedemption
    | GrantGift
    | IssueCoupon
    | SetTier
    | ResetBalances
)


# --- rules and rule sets --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    code: str  # unique in its rule set, e.g. "morning-plus-5"
    name: str
    trigger: Trigger
    effects: tuple[Effect, ...]
    condition: str = ""  # CEL; empty = always
    scope: Scope = field(default_factory=Scope)
    window: Window = ALWAYS
    priority: int = 0  # higher applies first and wins its exclusive group
    stacking: Stacking = Stacking.STACKABLE
    group: str | None = None

    def __post_init__(self) -> None:
        _require(bool(self.code.strip()) and len(self.code) <= 100, "a rule needs a code of 1–100 characters", "code")
        _require(bool(self.effects), "a rule needs at least one effect", "effects")
        _require(
            -MAX_PRIORITY <= self.priority <= MAX_PRIORITY, "priority is between -1,000,000 and 1,000,000", "priority"
        )
        if self.stacking is Stacking.STACKABLE:
            _require(self.group is None, "only exclusive and best-of rules belong to a group", "group")
        else:
            _require(bool(self.group), "exclusive and best-of rules name their group", "group")


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...]

    def __post_init__(self) -> None:
        _require(len(self.rules) <= MAX_RULES_PER_SET, f"a rule set has at most {MAX_RULES_PER_SET} rules", "rules")
        seen: set[str] = set()
        for index, rule in enumerate(self.rules):
            _require(rule.code not in seen, f"the code '{rule.code}' is used twice", f"rules[{index}].code")
            seen.add(rule.code)
        groups: dict[str, Stacking] = {}
        for index, rule in enumerate(self.rules):
            if rule.group is not None:
                mode = groups.setdefault(rule.group, rule.stacking)
                _require(
                    mode is rule.stacking,
                    f"group '{rule.group}' mixes exclusive and best-of rules",
                    f"rules[{index}].stacking",
                )
