"""A purchase's basket read from the request: its lines and check total, within the network's limits."""

from __future__ import annotations

from typing import Protocol

from coalition.domain.bonus import BonusProgram
from coalition.domain.errors import InvalidInput
from coalition.domain.limits import DEFAULT_LIMITS, PurchaseLimits
from coalition.domain.money import format_minor, parse_amount_minor, parse_quantity_milli
from coalition.domain.purchase import BasketLine, basket_total_minor

MAX_SKU_LENGTH = 100


class ItemText(Protocol):
    """A line of the basket as the request gave it (pos.ItemInput): what this module reads of it, declared here so
    that the basket does not import the purchase service that uses it."""

    @property
    def sku(self) -> str: ...
    @property
    def quantity(self) -> str | int: ...
    @property
    def unit_price(self) -> str | None: ...
    @property
    def category(self) -> str | None: ...
    @property
    def tags(self) -> tuple[str, ...]: ...


def parse_basket(
    program: BonusProgram,
    amount: str | None,
    items: tuple[ItemText, ...],
    limits: PurchaseLimits = DEFAULT_LIMITS,
) -> tuple[int, tuple[BasketLine, ...]]:
    """The check total in minor units and its lines; `amount` and `items` must agree when both are given, and
    every line and the total keep within the network's limits."""
    if amount is None and not items:
        raise InvalidInput("send the check 'amount' or its 'items'", field="amount")
    limits.require_line_count(len(items))
    lines = tuple(
        BasketLine(
            sku=_sku(item.sku, index),
            category=item.category,
            quantity_milli=parse_quantity_milli(item.quantity, field=f"items[{index}].quantity"),
            unit_price_minor=parse_amount_minor(item.unit_price, program.currency, field=f"items[{index}].unit_price"),
            tags=frozenset(item.tags),
        )
        for index, item in enumerate(items)
    )
    limits.require_lines(lines, program.currency)
    total_minor = basket_total_minor(lines) if lines else None
    if amount is not None:
        amount_minor = parse_amount_minor(amount, program.currency, field="amount")
        if total_minor is not None and total_minor != amount_minor:
            raise InvalidInput(
                f"amount {amount} differs from the items' total {format_minor(total_minor, program.currency)}",
                field="amount",
            )
        total_minor = amount_minor
    if total_minor is None or total_minor <= 0:
        raise InvalidInput("a check must be greater than zero", field="amount")
    limits.require_total(total_minor, program.currency)
    return total_minor, lines


def _sku(value: str | None, index: int) -> str:
    return required_text(value, f"items[{index}].sku", MAX_SKU_LENGTH)


def required_text(value: str | None, field_name: str, max_length: int) -> str:
    """The text without the spaces around it; refused when empty or longer than `max_length`."""
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"{field_name} is required", field=field_name)
    if len(text) > max_length:
        raise InvalidInput(f"{field_name} has at most {max_length} characters", field=field_name)
    return text
