"""A network's limits on one purchase: amounts, quantities, lines and points (issue 12, hole 6).

They keep a mistyped or hostile basket (a quantity of a million at a billion each) from becoming a purchase, and
every figure a purchase stores far inside the databases' 64-bit integers. The administrator sets them per network
(`GET/PUT /v1/admin/limits`, `coalition limits`) within the hard ceilings below, which nothing may exceed.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from coalition.domain.errors import InvalidInput
from coalition.domain.ledger import MAX_ABS_POSTING
from coalition.domain.money import MAX_AMOUNT_MINOR, format_minor, format_quantity_milli
from coalition.domain.purchase import BasketLine

# Hard ceilings: with them a line total (quantity × unit price) is at most 10^22 before the amount limit refuses it
# in Python's unbounded integers, and no stored amount or points figure can come near 2^63 − 1.
MAX_QUANTITY_MILLI_CEILING = 10**12 - 1  # 999,999,999.999: what the quantity syntax can say
MAX_LINES_CEILING = 500  # what the API's body takes
MAX_POINTS_CEILING = 10**12  # what the API's points fields take


@dataclass(frozen=True, slots=True)
class PurchaseLimits:
    max_amount_minor: int = 10**10  # a check, a line or a unit price: 100,000,000.00 of a two-decimal currency
    max_quantity_milli: int = 100_000_000  # 100,000 units a line (in thousandths)
    max_lines_per_purchase: int = 500
    max_points_per_purchase: int = 1_000_000_000  # redeemed, and earned, by one purchase

    def require_line_count(self, count: int) -> None:
        if count > self.max_lines_per_purchase:
            raise InvalidInput(f"a purchase has at most {self.max_lines_per_purchase} lines here", field="items")

    def require_lines(self, lines: tuple[BasketLine, ...], currency: str) -> None:
        for index, line in enumerate(lines):
            if line.quantity_milli > self.max_quantity_milli:
                raise InvalidInput(
                    f"a line's quantity is at most {format_quantity_milli(self.max_quantity_milli)} here",
                    field=f"items[{index}].quantity",
                )
            limit = format_minor(self.max_amount_minor, currency)
            if line.unit_price_minor > self.max_amount_minor:
                raise InvalidInput(
                    f"a unit price is at most {limit} {currency} here", field=f"items[{index}].unit_price"
                )
            if line.total_minor > self.max_amount_minor:
                raise InvalidInput(
                    f"a line's total is at most {limit} {currency} here", field=f"items[{index}].quantity"
                )

    def require_total(self, total_minor: int, currency: str) -> None:
        if total_minor > self.max_amount_minor:
            limit = format_minor(self.max_amount_minor, currency)
            raise InvalidInput(f"a purchase is at most {limit} {currency} here", field="amount")

    def require_points(self, redeem_points: int, earned_points: int) -> None:
        if redeem_points > self.max_points_per_purchase:
            raise InvalidInput(
                f"a purchase redeems at most {self.max_points_per_purchase} points here", field="redeem_points"
            )
        if earned_points > self.max_points_per_purchase:
            raise InvalidInput(
                f"this purchase would earn {earned_points} points, more than the {self.max_points_per_purchase} "
                "a purchase may earn here",
                field="amount",
            )

    def json(self, currency: str) -> dict[str, Any]:
        return {
            "max_amount": format_minor(self.max_amount_minor, currency),
            "max_quantity": format_quantity_milli(self.max_quantity_milli),
            "max_lines_per_purchase": self.max_lines_per_purchase,
            "max_points_per_purchase": self.max_points_per_purchase,
        }


DEFAULT_LIMITS = PurchaseLimits()
LIMIT_COLUMNS = tuple(field.name for field in fields(PurchaseLimits))  # the networks table's columns of the same names


def checked_limits(limits: PurchaseLimits, currency: str) -> PurchaseLimits:
    """Each limit above zero and at most its hard ceiling."""
    ceilings = (
        ("max_amount", limits.max_amount_minor, MAX_AMOUNT_MINOR, format_minor(MAX_AMOUNT_MINOR, currency)),
        (
            "max_quantity",
            limits.max_quantity_milli,
            MAX_QUANTITY_MILLI_CEILING,
            format_quantity_milli(MAX_QUANTITY_MILLI_CEILING),
        ),
        ("max_lines_per_purchase", limits.max_lines_per_purchase, MAX_LINES_CEILING, str(MAX_LINES_CEILING)),
        ("max_points_per_purchase", limits.max_points_per_purchase, MAX_POINTS_CEILING, str(MAX_POINTS_CEILING)),
    )
    for field, value, ceiling, shown in ceilings:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= ceiling:
            raise InvalidInput(f"a limit is greater than zero and at most {shown}", field=field)
    return limits


def require_postable(max_points_per_purchase: int, point_value_minor: int, field: str) -> None:
    """The most points one purchase may move, at a point's settlement value, fit in one ledger posting: otherwise
    every purchase that reached the limit would break the ledger's invariant instead of being refused."""
    if max_points_per_purchase * point_value_minor > MAX_ABS_POSTING:
        raise InvalidInput(
            f"{max_points_per_purchase} points at {point_value_minor} minor units each are worth more than one "
            f"ledger posting may carry ({MAX_ABS_POSTING} minor units): lower the points limit or the point's value",
            field=field,
        )
