"""A device's stored price list and opening hours as the charges read them (issue 15): the registry's documents
(domain/devices.py validates them when they are written and owns `price_of` and `is_open`), read from the row.

What cannot be read — a row written around the API — prices nothing (a 409 naming the device) and opens nothing
(closed), never a 500.
"""

from __future__ import annotations

from datetime import datetime

from coalition.domain.devices import PriceList, opening_hours_from_text, price_list_from_text
from coalition.domain.devices import is_open as open_by_hours
from coalition.domain.devices import price_of as price_in_list
from coalition.domain.errors import Conflict, InvalidInput

DevicePrices = PriceList


def parse_prices(text: str | None, currency: str) -> PriceList:
    try:
        return price_list_from_text(text, currency)
    except (InvalidInput, ValueError) as error:
        where = error.field if isinstance(error, InvalidInput) and error.field else "not JSON"
        raise Conflict(
            f"the device's price list cannot be read ({where}); its administrator must fix it", field="device"
        ) from None


def price_of(prices: PriceList, product: str | None) -> int:
    """One use's price: a slot's when `product` names one, else the price per use."""
    return price_in_list(prices, product)


def is_open(hours_text: str | None, local_moment: datetime) -> bool:
    """NULL hours: always open; else within one of the day's spans; hours that cannot be read open nothing."""
    try:
        hours = opening_hours_from_text(hours_text)
    except (InvalidInput, ValueError):
        return False
    return open_by_hours(hours, local_moment)
