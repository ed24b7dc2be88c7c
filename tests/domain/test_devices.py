"""Devices without a database: price lists and opening hours read with their limits, each refusal naming its field;
the price of a use or a product; open or closed on the outlet's clock; online or silent (issue 15)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coalition.domain.devices import (
    EMPTY_PRICE_LIST,
    MAX_SLOTS,
    DeviceKind,
    PriceList,
    Slot,
    checked_limits,
    is_online,
    is_open,
    opening_hours_document,
    opening_hours_from_text,
    opening_hours_text,
    parse_device_kind,
    parse_opening_hours,
    parse_price_list,
    price_list_document,
    price_list_from_text,
    price_list_text,
    price_of,
    require_price_list_fits,
)
from coalition.domain.errors import InvalidInput

VENDING = {
    "per_use": None,
    "slots": {"A1": {"name": "Water 0.5 l", "price": "1.20"}, "B2": {"name": "Chocolate", "price": "2"}},
    "per_minute": None,
    "max_minutes": None,
}


def refused(document: Any, currency: str = "EUR", **kwargs: Any) -> str | None:
    with pytest.raises(InvalidInput) as refusal:
        parse_price_list(document, currency, **kwargs)
    return refusal.value.field


def test_a_vending_price_list_is_read_into_minor_units_and_written_back_the_same():
    price_list = parse_price_list(VENDING, "EUR")
    assert price_list == PriceList(None, (Slot("A1", "Water 0.5 l", 120), Slot("B2", "Chocolate", 200)), None, None)
    assert price_list_document(price_list, "EUR")["slots"]["B2"] == {"name": "Chocolate", "price": "2.00"}
    assert price_list_from_text(price_list_text(price_list, "EUR"), "EUR") == price_list
    assert price_list_from_text(None, "EUR") == price_list_from_text("", "EUR") == EMPTY_PRICE_LIST


def test_the_price_of_a_use_or_a_product_and_the_refusals_name_the_product():
    arcade = parse_price_list({"per_use": "2.50"}, "EUR")
    assert price_of(arcade, None) == 250
    vending = parse_price_list(VENDING, "EUR")
    assert price_of(vending, "A1") == 120
    for price_list, product in ((vending, None), (vending, "Z9"), (arcade, "A1")):
        with pytest.raises(InvalidInput) as refusal:
            price_of(price_list, product)
        assert refusal.value.field == "product"


def test_a_timed_table_holds_per_minute_times_its_longest_session():
    table = parse_price_list({"per_minute": "0.50", "max_minutes": 120}, "EUR")
    assert (table.per_minute_minor, table.max_minutes, table.session_hold_minor) == (50, 120, 6000)
    assert EMPTY_PRICE_LIST.session_hold_minor is None
    assert refused({"per_minute": "0.50"}) == "price_list.max_minutes"
    assert refused({"max_minutes": 10}) == "price_list.per_minute"
    assert refused({"per_minute": "1.00", "max_minutes": 0}) == "price_list.max_minutes"
    assert refused({"per_minute": "1.00", "max_minutes": 1441}) == "price_list.max_minutes"
    assert refused({"per_minute": "1.00", "max_minutes": True}) == "price_list.max_minutes"
    assert refused({"per_minute": "1.00", "max_minutes": 100}, max_amount_minor=9_999) == "price_list.max_minutes"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ([], "price_list"),
        ("{}", "price_list"),
        ({"per_use": 2.5}, "price_list.per_use"),  # a float is never money
        ({"per_use": "0"}, "price_list.per_use"),
        ({"per_use": "-1.00"}, "price_list.per_use"),
        ({"per_use": "1.001"}, "price_list.per_use"),
        ({"per_use": "99999999999999999999"}, "price_list.per_use"),
        ({"per_use": "1.00", "colour": "red"}, "price_list.colour"),
        ({"slots": []}, "price_list.slots"),
        ({"slots": {"A 1": {"name": "x", "price": "1"}}}, "price_list.slots"),
        ({"slots": {"A" * 33: {"name": "x", "price": "1"}}}, "price_list.slots"),
        ({"slots": {"A1": "1.00"}}, "price_list.slots.A1"),
        ({"slots": {"A1": {"price": "1"}}}, "price_list.slots.A1.name"),
        ({"slots": {"A1": {"name": "  ", "price": "1"}}}, "price_list.slots.A1.name"),
        ({"slots": {"A1": {"name": "x" * 101, "price": "1"}}}, "price_list.slots.A1.name"),
        ({"slots": {"A1": {"name": "wa\x00ter", "price": "1"}}}, "price_list.slots.A1.name"),
        ({"slots": {"A1": {"name": "x"}}}, "price_list.slots.A1.price"),
        ({"slots": {"A1": {"name": "x", "price": "1", "stock": 3}}}, "price_list.slots.A1.stock"),
        ({"per_minute": "0.00", "max_minutes": 10}, "price_list.per_minute"),
    ],
)
def test_a_bad_price_list_is_refused_naming_the_field(document: Any, field: str):
    assert refused(document) == field


def test_prices_are_limited_by_the_networks_largest_amount_and_slots_by_count():
    assert refused({"per_use": "100.01"}, max_amount_minor=10_000) == "price_list.per_use"
    assert parse_price_list({"per_use": "100.00"}, "EUR", max_amount_minor=10_000).per_use_minor == 10_000
    slots = {f"S{index}": {"name": "x", "price": "1"} for index in range(MAX_SLOTS)}
    assert len(parse_price_list({"slots": slots}, "EUR").slots) == MAX_SLOTS
    assert refused({"slots": {**slots, "extra": {"name": "x", "price": "1"}}}) == "price_list.slots"
    assert parse_price_list({"per_use": "150"}, "JPY").per_use_minor == 150
    assert refused({"per_use": "1.50"}, "JPY") == "price_list.per_use"


@given(
    prices=st.dictionaries(
        st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True),
        st.integers(min_value=1, max_value=10**10),
        max_size=20,
    ),
    per_use=st.none() | st.integers(min_value=1, max_value=10**10),
)
def test_any_valid_price_list_survives_the_trip_through_its_document(prices: dict[str, int], per_use: int | None):
    price_list = PriceList(per_use, tuple(Slot(code, f"item {code}", price) for code, price in prices.items()))
    document = price_list_document(price_list, "EUR")
    assert parse_price_list(document, "EUR") == price_list
    for code, price in prices.items():
        assert price_of(price_list, code) == price


def test_each_kind_needs_the_prices_it_charges_by():
    require_price_list_fits(DeviceKind.TURNSTILE, EMPTY_PRICE_LIST)
    require_price_list_fits(DeviceKind.KIOSK, EMPTY_PRICE_LIST)
    require_price_list_fits(DeviceKind.ARCADE, PriceList(per_use_minor=100))
    with pytest.raises(InvalidInput, match="timed table") as refusal:
        require_price_list_fits(DeviceKind.TIMED_TABLE, PriceList(per_use_minor=100))
    assert refusal.value.field == "price_list.per_minute"
    for kind in (DeviceKind.VENDING, DeviceKind.ARCADE, DeviceKind.DISPENSER):
        with pytest.raises(InvalidInput):
            require_price_list_fits(kind, EMPTY_PRICE_LIST)


def test_a_device_kind_is_one_of_six():
    assert parse_device_kind("timed_table") is DeviceKind.TIMED_TABLE
    for text in ("Arcade", "", None, 3, "slot machine"):
        with pytest.raises(InvalidInput) as refusal:
            parse_device_kind(text)
        assert refusal.value.field == "kind"


# --- opening hours --------------------------------------------------------------------------------------------

WATER_PARK = {"mon": [["08:00", "13:00"], ["14:00", "22:00"]], "sat": [["10:00", "24:00"]], "sun": []}
MONDAY = datetime(2026, 12, 7)  # a Monday


def test_open_within_a_days_intervals_on_the_outlets_clock_and_closed_on_days_left_out():
    hours = parse_opening_hours(WATER_PARK)
    assert hours is not None
    assert is_open(hours, MONDAY.replace(hour=8))
    assert is_open(hours, MONDAY.replace(hour=12, minute=59))
    assert not is_open(hours, MONDAY.replace(hour=13))  # the end is not open: [start, end)
    assert not is_open(hours, MONDAY.replace(hour=7, minute=59))
    assert is_open(hours, MONDAY.replace(hour=21, minute=59))
    assert not is_open(hours, MONDAY.replace(hour=22))
    assert not is_open(hours, MONDAY + timedelta(days=1, hours=12))  # Tuesday: left out, closed
    assert is_open(hours, MONDAY + timedelta(days=5, hours=23, minutes=59))  # Saturday until midnight
    assert not is_open(hours, MONDAY + timedelta(days=6, hours=12))  # Sunday: an empty list, closed
    assert is_open(None, MONDAY)  # no hours: always open
    moscow = datetime(2026, 12, 7, 8, 30, tzinfo=UTC).astimezone(ZoneInfo("Europe/Moscow"))
    assert is_open(hours, moscow)  # 11:30 on Monday in Moscow


def test_opening_hours_survive_the_trip_through_their_text():
    hours = parse_opening_hours(WATER_PARK)
    assert opening_hours_document(hours) == {
        "mon": [["08:00", "13:00"], ["14:00", "22:00"]],
        "sat": [["10:00", "24:00"]],
    }
    assert opening_hours_from_text(opening_hours_text(hours)) == hours
    assert parse_opening_hours(None) is None and opening_hours_text(None) is None
    assert opening_hours_from_text(None) is None


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ([], "opening_hours"),
        ({"monday": [["08:00", "22:00"]]}, "opening_hours.monday"),
        ({"mon": ["08:00", "22:00"]}, "opening_hours.mon[0]"),
        ({"mon": "08:00-22:00"}, "opening_hours.mon"),
        ({"mon": [["8:00", "22:00"]]}, "opening_hours.mon[0][0]"),
        ({"mon": [["08:00", "24:01"]]}, "opening_hours.mon[0][1]"),
        ({"mon": [["08:60", "22:00"]]}, "opening_hours.mon[0][0]"),
        ({"mon": [["22:00", "02:00"]]}, "opening_hours.mon[0][1]"),
        ({"mon": [["08:00", "08:00"]]}, "opening_hours.mon[0][1]"),
        ({"mon": [["08:00", "12:00"], ["11:00", "13:00"]]}, "opening_hours.mon"),
        ({"mon": [["08:00", "09:00"]] * 9}, "opening_hours.mon"),
        ({"mon": [[8, 22]]}, "opening_hours.mon[0][0]"),
    ],
)
def test_bad_opening_hours_are_refused_naming_the_field(document: Any, field: str):
    with pytest.raises(InvalidInput) as refusal:
        parse_opening_hours(document)
    assert refusal.value.field == field


@given(
    start=st.integers(min_value=0, max_value=24 * 60 - 1),
    length=st.integers(min_value=1, max_value=24 * 60),
    moment=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
)
def test_open_exactly_within_a_single_interval_every_day(start: int, length: int, moment: datetime):
    end = min(start + length, 24 * 60)
    interval = [f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}"]
    hours = parse_opening_hours({key: [interval] for key in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    minute = moment.hour * 60 + moment.minute
    assert is_open(hours, moment) == (start <= minute < end)


# --- limits and heartbeats ------------------------------------------------------------------------------------


def test_limits_are_whole_seconds_within_bounds_and_the_offline_limit_within_the_largest_amount():
    limits = checked_limits(hold_ttl_seconds=120, offline_limit_minor=500, silent_after_seconds=600, currency="EUR")
    assert (limits.hold_ttl_seconds, limits.offline_limit_minor, limits.silent_after_seconds) == (120, 500, 600)
    for kwargs, field in (
        ({"hold_ttl_seconds": 0}, "hold_ttl_seconds"),
        ({"hold_ttl_seconds": 86_401}, "hold_ttl_seconds"),
        ({"hold_ttl_seconds": "60"}, "hold_ttl_seconds"),
        ({"silent_after_seconds": 1.5}, "silent_after_seconds"),
        ({"offline_limit_minor": 10**14}, "offline_limit"),
    ):
        arguments: dict[str, Any] = {"hold_ttl_seconds": 60, "offline_limit_minor": 0, "silent_after_seconds": 60}
        with pytest.raises(InvalidInput) as refusal:
            checked_limits(**{**arguments, **kwargs}, currency="EUR")
        assert refusal.value.field == field


def test_a_device_is_online_while_its_last_heartbeat_is_recent_enough():
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    assert is_online(now - timedelta(seconds=900), 900, now)
    assert not is_online(now - timedelta(seconds=901), 900, now)
    assert not is_online(None, 900, now)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
PRICE_LIST_KEYS = st.sampled_from(["per_use", "slots", "per_minute", "max_minutes", "A1", "price", "name"])


@given(
    document=JSON_VALUES
    | st.dictionaries(PRICE_LIST_KEYS, JSON_VALUES | st.dictionaries(st.text(max_size=4), JSON_VALUES), max_size=4)
)
def test_any_json_is_a_price_list_or_a_refusal_naming_a_field(document: Any):
    try:
        price_list = parse_price_list(document, "EUR")
    except InvalidInput as refusal:
        assert refusal.field is not None and refusal.field.startswith("price_list")
    else:
        assert parse_price_list(price_list_document(price_list, "EUR"), "EUR") == price_list


@given(
    document=JSON_VALUES
    | st.dictionaries(st.sampled_from(["mon", "sun", "holiday"]), JSON_VALUES | st.lists(st.lists(st.text(max_size=6))))
)
def test_any_json_is_opening_hours_or_a_refusal_naming_a_field(document: Any):
    try:
        hours = parse_opening_hours(document)
    except InvalidInput as refusal:
        assert refusal.field is not None and refusal.field.startswith("opening_hours")
    else:
        assert parse_opening_hours(opening_hours_document(hours)) == hours
