"""The permissions matrix: which outlet may do what with which counter (issue 4, point 3).

A counter is the network's points (`points`), a gift type (`gift:<code>`), a money wallet (`wallet:<currency>`) or
the network's gift cards (`gift_card`).
A network without a matrix lets every outlet do everything — a single shop needs none. Once the administrator sets
one, an outlet may do only what it lists, and anything else is refused with 403 naming the outlet, the operation and
the counter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from coalition.domain.errors import Forbidden, InvalidInput

POINTS = "points"
GIFT_CARD = "gift_card"  # gift cards (certificates): `top_up` sells one, `spend` accepts one as payment
_COUNTER = re.compile(r"points|gift_card|gift:[a-z0-9][a-z0-9_.-]{0,31}|wallet:[A-Z]{3}")


class Operation(StrEnum):
    ACCRUE = "accrue"  # points earned at this outlet
    SPEND = "spend"  # points accepted as payment
    GRANT = "grant"  # a gift granted by a purchase here
    HONOUR = "honour"  # a gift handed over here
    TOP_UP = "top_up"  # money put on a wallet


def gift_counter(code: str) -> str:
    return f"gift:{code}"


def parse_counter(text: str, *, field: str) -> str:
    counter = text.strip()
    if not _COUNTER.fullmatch(counter):
        raise InvalidInput(
            f"'{text}' is not a counter: use points, gift:<gift type>, wallet:<currency> or gift_card",
            field=field,
        )
    return counter


def parse_operation(text: str, *, field: str) -> Operation:
    try:
        return Operation(text.strip())
    except ValueError:
        names = ", ".join(operation.value for operation in Operation)
        raise InvalidInput(f"'{text}' is not an operation: use {names}", field=field) from None


@dataclass(frozen=True, slots=True)
class Permission:
    outlet_id: int
    counter: str
    operation: Operation


@dataclass(frozen=True, slots=True)
class Matrix:
    allowed: frozenset[Permission]

    @property
    def defined(self) -> bool:
        return bool(self.allowed)

    def allows(self, outlet_id: int, counter: str, operation: Operation) -> bool:
        return not self.defined or Permission(outlet_id, counter, operation) in self.allowed

    def require(self, outlet_id: int, outlet_name: str, counter: str, operation: Operation) -> None:
        if not self.allows(outlet_id, counter, operation):
            raise Forbidden(
                f"outlet '{outlet_name}' may not {operation.value.replace('_', ' ')} {counter}: "
                "the network's permissions matrix does not allow it"
            )


OPEN = Matrix(frozenset())
