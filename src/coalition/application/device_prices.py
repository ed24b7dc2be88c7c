"""A device's prices and opening hours as the charges read them from its row (issue 15).

Deliberately small and apart: domain/devices.py (the registry's) validates these documents when they are written and
owns `price_of` and `is_open`; at merge this module is replaced by those functions. Here a stored document is read
leniently but safely: what cannot be read prices nothing (a 409 naming the device's price list), never a 500.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from coalition.domain.errors import Conflict, InvalidInput
from coalition.domain.money import parse_amount_minor

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HH_MM = re.compile(r"([01][0-9]|2[0-4]):([0-5][0-9])")


@dataclass(frozen=True, slots=True)
class DevicePrices:
    per_use_minor: int | None
    slots: dict[str, int]  # slot code → price in minor units
    per_minute_minor: int | None
    max_minutes: int | None


def _price(value: Any, currency: str, where: str) -> int | None:
    if value is None:
        return None
    try:
        price = parse_amount_minor(value, currency, field=where)
    except InvalidInput:
        raise _unreadable(where) from None
    if price <= 0:
        raise _unreadable(where)
    return price


def _unreadable(where: str) -> Conflict:
    return Conflict(f"the device's price list cannot be read ({where}); its administrator must fix it", field="device")


def parse_prices(text: str | None, currency: str) -> DevicePrices:
    try:
        document = json.loads(text or "{}")
    except ValueError:
        raise _unreadable("not JSON") from None
    if not isinstance(document, dict):
        raise _unreadable("not an object")
    slots_document = document.get("slots") or {}
    if not isinstance(slots_document, dict):
        raise _unreadable("slots")
    slots: dict[str, int] = {}
    for code, slot in slots_document.items():
        price = _price(slot.get("price") if isinstance(slot, dict) else None, currency, f"slots.{code}.price")
        if price is None:
            raise _unreadable(f"slots.{code}.price")
        slots[str(code)] = price
    max_minutes = document.get("max_minutes")
    if max_minutes is not None and (
        not isinstance(max_minutes, int) or isinstance(max_minutes, bool) or max_minutes < 1
    ):
        raise _unreadable("max_minutes")
    return DevicePrices(
        _price(document.get("per_use"), currency, "per_use"),
        slots,
        _price(document.get("per_minute"), currency, "per_minute"),
        max_minutes,
    )


def price_of(prices: DevicePrices, product: str | None) -> int:
    """One use's price: a slot's when `product` names one, else the price per use."""
    if product is not None:
        found = prices.slots.get(product)
        if found is None:
            raise InvalidInput(f"the device has no product '{product}'", field="product")
        return found
    if prices.per_use_minor is None:
        raise InvalidInput("the device has no price per use: name a product", field="product")
    return prices.per_use_minor


def _moment(text: Any) -> time | None:
    match = _HH_MM.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours == 24:
        return time.max if minutes == 0 else None  # "24:00": to the end of the day
    return time(hours, minutes)


def is_open(hours_text: str | None, local_moment: datetime) -> bool:
    """NULL hours: always open. Else open within one of the day's [from, to) spans; a day not listed is closed;
    a document that cannot be read opens nothing (closed, never a 500)."""
    if hours_text is None:
        return True
    try:
        document = json.loads(hours_text)
    except ValueError:
        return False
    if not isinstance(document, dict):
        return False
    spans = document.get(_DAYS[local_moment.weekday()]) or []
    now = local_moment.time().replace(tzinfo=None)
    for span in spans if isinstance(spans, list) else []:
        if not isinstance(span, list) or len(span) != 2:
            continue
        start, end = _moment(span[0]), _moment(span[1])
        if start is not None and end is not None and start <= now < end:
            return True
    return False
