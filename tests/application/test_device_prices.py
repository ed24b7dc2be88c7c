"""The charges' reading of a device's stored price list and opening hours (application/device_prices.py over
domain/devices.py): prices in minor units, a missing product named, hours in the outlet's local time, and a stored
document that cannot be read refused as the device's fault (409), never a 500."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from coalition.application.device_prices import is_open, parse_prices, price_of
from coalition.domain.errors import Conflict, InvalidInput

PRICES = json.dumps(
    {
        "per_use": "2.50",
        "slots": {"A1": {"name": "Water", "price": "1.20"}},
        "per_minute": "0.50",
        "max_minutes": 120,
    }
)


def test_prices_are_read_in_minor_units() -> None:
    prices = parse_prices(PRICES, "RUB")
    assert (prices.per_use_minor, prices.per_minute_minor, prices.max_minutes) == (250, 50, 120)
    assert [(slot.code, slot.price_minor) for slot in prices.slots] == [("A1", 120)]
    assert price_of(prices, None) == 250
    assert price_of(prices, "A1") == 120
    with pytest.raises(InvalidInput) as missing:
        price_of(prices, "B2")
    assert missing.value.field == "product"
    with pytest.raises(InvalidInput):
        price_of(parse_prices("{}", "RUB"), None)


@pytest.mark.parametrize(
    "text",
    ["not json", "[]", '{"per_use": 2.5}', '{"per_use": "-1"}', '{"slots": {"A": {}}}', '{"max_minutes": true}'],
)
def test_a_price_list_that_cannot_be_read_is_a_conflict_naming_the_device(text: str) -> None:
    with pytest.raises(Conflict) as unreadable:
        parse_prices(text, "RUB")
    assert unreadable.value.field == "device"


HOURS = json.dumps({"wed": [["08:00", "12:00"], ["18:00", "24:00"]]})


@pytest.mark.parametrize(
    ("moment", "open_now"),
    [
        (datetime(2026, 7, 1, 7, 59), False),
        (datetime(2026, 7, 1, 8, 0), True),
        (datetime(2026, 7, 1, 11, 59), True),
        (datetime(2026, 7, 1, 12, 0), False),
        (datetime(2026, 7, 1, 23, 59), True),
        (datetime(2026, 7, 2, 9, 0), False),  # Thursday: not listed, closed
    ],
)
def test_opening_hours_by_the_local_day_and_time(moment: datetime, open_now: bool) -> None:
    assert is_open(HOURS, moment) is open_now


def test_no_hours_is_always_open_and_unreadable_hours_open_nothing() -> None:
    assert is_open(None, datetime(2026, 7, 1, 3, 0))
    assert not is_open("{", datetime(2026, 7, 1, 9, 0))
    assert not is_open(json.dumps({"wed": [["25:00", "26:00"]]}), datetime(2026, 7, 1, 9, 0))
