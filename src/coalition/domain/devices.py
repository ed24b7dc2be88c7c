"""Devices (issue 15): what a machine that takes the card sells, when it is open, and what it may hold.

A device's price list and opening hours are JSON documents the administrator writes and the database keeps as text;
this module reads them (every refusal naming the field at fault), writes them back and answers the two questions a
charge asks: what does this product cost (`price_of`) and is the device open now (`is_open`).

Price list: `{"per_use": "2.50" | null, "slots": {"A1": {"name": "Water 0.5 l", "price": "1.20"}},
"per_minute": "0.50" | null, "max_minutes": 120 | null}`: money as decimal strings of the network's currency outside,
minor units inside. Opening hours: `{"mon": [["08:00", "22:00"]], ...}` in the outlet's time zone; a day left out is
closed; no document at all (NULL) is always open.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from coalition.domain.errors import InvalidInput
from coalition.domain.input_text import has_control_character
from coalition.domain.money import MAX_AMOUNT_MINOR, format_minor, parse_amount_minor


class DeviceKind(StrEnum):
    VENDING = "vending"
    ARCADE = "arcade"
    DISPENSER = "dispenser"
    TIMED_TABLE = "timed_table"
    TURNSTILE = "turnstile"
    KIOSK = "kiosk"


_KIND_VALUES = frozenset(kind.value for kind in DeviceKind)


def parse_device_kind(text: object, *, field: str = "kind") -> DeviceKind:
    if isinstance(text, str) and text in _KIND_VALUES:
        return DeviceKind(text)
    kinds = ", ".join(kind.value for kind in DeviceKind)
    raise InvalidInput(f"a device's kind is one of: {kinds}", field=field)


# --- price list -----------------------------------------------------------------------------------------------

MAX_SLOTS = 100
MAX_SLOT_NAME_CHARS = 100
MAX_SESSION_MINUTES = 24 * 60  # a session longer than a day is a table nobody stopped
_SLOT_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_PRICE_LIST_KEYS = frozenset({"per_use", "slots", "per_minute", "max_minutes"})
_SLOT_KEYS = frozenset({"name", "price"})
_PRICE_LIST_OBJECT = "a price list must be a JSON object"
_SLOTS_OBJECT = 'slots must be a JSON object such as {"A1": {"name": "Water 0.5 l", "price": "1.20"}}'
_SLOT_OBJECT = 'a slot must be a JSON object such as {"name": "Water 0.5 l", "price": "1.20"}'
_HOURS_OBJECT = 'opening hours must be a JSON object such as {"mon": [["08:00", "22:00"]]}'


@dataclass(frozen=True, slots=True)
class Slot:
    code: str
    name: str
    price_minor: int


@dataclass(frozen=True, slots=True)
class PriceList:
    per_use_minor: int | None = None
    slots: tuple[Slot, ...] = ()
    per_minute_minor: int | None = None
    max_minutes: int | None = None

    def slot(self, code: str) -> Slot | None:
        return next((slot for slot in self.slots if slot.code == code), None)

    @property
    def session_hold_minor(self) -> int | None:
        """What a timed session holds up front: the price of its longest allowed length."""
        if self.per_minute_minor is None or self.max_minutes is None:
            return None
        return self.per_minute_minor * self.max_minutes


EMPTY_PRICE_LIST = PriceList()


def _price(value: object, currency: str, max_amount_minor: int, field: str) -> int:
    amount_minor = parse_amount_minor(value, currency, field=field)
    if amount_minor <= 0:
        raise InvalidInput("a price must be greater than zero", field=field)
    if amount_minor > max_amount_minor:
        limit = format_minor(max_amount_minor, currency)
        raise InvalidInput(f"a price is at most {limit} {currency} here", field=field)
    return amount_minor


def _optional_price(value: object, currency: str, max_amount_minor: int, field: str) -> int | None:
    return None if value is None else _price(value, currency, max_amount_minor, field)


def _require_object(document: object, field: str, message: str) -> Mapping[str, Any]:
    if not isinstance(document, Mapping):
        raise InvalidInput(message, field=field)
    return document


def _refuse_unknown_keys(document: Mapping[str, Any], known: frozenset[str], field: str) -> None:
    for key in document:
        if key not in known:
            allowed = ", ".join(sorted(known))
            raise InvalidInput(f"unknown key '{key}' (allowed: {allowed})", field=f"{field}.{key}")


def _slot(code: object, document: object, currency: str, max_amount_minor: int, field: str) -> Slot:
    if not isinstance(code, str) or _SLOT_CODE.fullmatch(code) is None:
        raise InvalidInput("a slot code is 1–32 letters, digits, '_' or '-'", field=field)
    slot_field = f"{field}.{code}"
    body = _require_object(document, slot_field, _SLOT_OBJECT)
    _refuse_unknown_keys(body, _SLOT_KEYS, slot_field)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("a slot needs a name (what it sells)", field=f"{slot_field}.name")
    if len(name) > MAX_SLOT_NAME_CHARS or has_control_character(name):
        raise InvalidInput(
            f"a slot's name is at most {MAX_SLOT_NAME_CHARS} characters, without control characters",
            field=f"{slot_field}.name",
        )
    return Slot(code, name.strip(), _price(body.get("price"), currency, max_amount_minor, f"{slot_field}.price"))


def _max_minutes(value: object, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SESSION_MINUTES:
        raise InvalidInput(f"max_minutes is a whole number from 1 to {MAX_SESSION_MINUTES}", field=field)
    return value


def parse_price_list(
    document: object, currency: str, *, max_amount_minor: int = MAX_AMOUNT_MINOR, field: str = "price_list"
) -> PriceList:
    """A price list from its JSON document (parsed): prices in `currency`, each above zero and at most
    `max_amount_minor` (the network's largest amount); unknown keys refused; the field at fault named."""
    body = _require_object(document, field, _PRICE_LIST_OBJECT)
    _refuse_unknown_keys(body, _PRICE_LIST_KEYS, field)
    slots_document = {} if body.get("slots") is None else body["slots"]
    slots_body = _require_object(slots_document, f"{field}.slots", _SLOTS_OBJECT)
    if len(slots_body) > MAX_SLOTS:
        raise InvalidInput(f"a price list has at most {MAX_SLOTS} slots", field=f"{field}.slots")
    slots = tuple(_slot(code, slot, currency, max_amount_minor, f"{field}.slots") for code, slot in slots_body.items())
    per_minute_minor = _optional_price(body.get("per_minute"), currency, max_amount_minor, f"{field}.per_minute")
    max_minutes = _max_minutes(body.get("max_minutes"), f"{field}.max_minutes")
    if (per_minute_minor is None) != (max_minutes is None):
        missing = "max_minutes" if max_minutes is None else "per_minute"
        raise InvalidInput(
            "a per-minute price needs max_minutes, and max_minutes a per-minute price", field=f"{field}.{missing}"
        )
    if per_minute_minor is not None and max_minutes is not None and per_minute_minor * max_minutes > max_amount_minor:
        limit = format_minor(max_amount_minor, currency)
        raise InvalidInput(
            f"per_minute × max_minutes (what a session holds) is at most {limit} {currency} here",
            field=f"{field}.max_minutes",
        )
    per_use_minor = _optional_price(body.get("per_use"), currency, max_amount_minor, f"{field}.per_use")
    return PriceList(per_use_minor, slots, per_minute_minor, max_minutes)


def price_list_document(price_list: PriceList, currency: str) -> dict[str, Any]:
    """The price list as its JSON document (decimal strings): what is stored and answered."""

    def money(amount_minor: int | None) -> str | None:
        return None if amount_minor is None else format_minor(amount_minor, currency)

    return {
        "per_use": money(price_list.per_use_minor),
        "slots": {slot.code: {"name": slot.name, "price": money(slot.price_minor)} for slot in price_list.slots},
        "per_minute": money(price_list.per_minute_minor),
        "max_minutes": price_list.max_minutes,
    }


def price_list_from_text(text: str | None, currency: str) -> PriceList:
    """A stored price list (the column's JSON text). Read within the hard ceiling, not the network's limit of the
    moment: a limit lowered later must not make a stored device unreadable."""
    if not text:
        return EMPTY_PRICE_LIST
    return parse_price_list(json.loads(text), currency)


def price_list_text(price_list: PriceList, currency: str) -> str:
    return json.dumps(price_list_document(price_list, currency), ensure_ascii=False, separators=(",", ":"))


def price_of(price_list: PriceList, product: str | None) -> int:
    """The price in minor units of one use (`product` None) or of one product of a slot."""
    if product is None:
        if price_list.per_use_minor is None:
            if not price_list.slots:
                raise InvalidInput("this device has no price for a use", field="product")
            codes = ", ".join(slot.code for slot in price_list.slots[:10])
            raise InvalidInput(
                f"this device has no per-use price: name a product (its slots: {codes})", field="product"
            )
        return price_list.per_use_minor
    slot = price_list.slot(product)
    if slot is None:
        raise InvalidInput(f"this device has no product '{product[:40]}'", field="product")
    return slot.price_minor


def require_price_list_fits(kind: DeviceKind, price_list: PriceList, *, field: str = "price_list") -> None:
    """What each kind needs to charge at all: a timed table a per-minute price, a vending machine a slot or a
    per-use price, an arcade or dispenser a per-use price or slots. A turnstile or kiosk may have none."""
    if kind is DeviceKind.TIMED_TABLE and price_list.per_minute_minor is None:
        raise InvalidInput("a timed table needs per_minute and max_minutes", field=f"{field}.per_minute")
    if kind in (DeviceKind.VENDING, DeviceKind.ARCADE, DeviceKind.DISPENSER) and (
        price_list.per_use_minor is None and not price_list.slots
    ):
        raise InvalidInput(f"a {kind.value} device needs a per_use price or slots", field=f"{field}.per_use")


# --- opening hours --------------------------------------------------------------------------------------------

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = datetime.weekday()
MAX_INTERVALS_PER_DAY = 8
_TIME = re.compile(r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})")
_MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """Per weekday (0 = Monday) the open intervals as minutes of the day, [start, end), sorted, not overlapping."""

    days: tuple[tuple[tuple[int, int], ...], ...]  # seven entries; an empty one: closed that day

    def intervals(self, weekday: int) -> tuple[tuple[int, int], ...]:
        return self.days[weekday]


def _minute_of_day(text: object, field: str) -> int:
    match = _TIME.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidInput('a time is written "HH:MM" (24-hour clock, "24:00" the end of the day)', field=field)
    hour, minute = int(match.group("hour")), int(match.group("minute"))
    if minute > 59 or hour > 24 or (hour == 24 and minute != 0):
        raise InvalidInput(f"'{text}' is not a time of day (00:00–24:00)", field=field)
    return hour * 60 + minute


def _day(document: object, field: str) -> tuple[tuple[int, int], ...]:
    if not isinstance(document, list):
        raise InvalidInput('a day is a list of intervals such as [["08:00", "22:00"]]', field=field)
    if len(document) > MAX_INTERVALS_PER_DAY:
        raise InvalidInput(f"a day has at most {MAX_INTERVALS_PER_DAY} intervals", field=field)
    intervals: list[tuple[int, int]] = []
    for index, interval in enumerate(document):
        interval_field = f"{field}[{index}]"
        if not isinstance(interval, list) or len(interval) != 2:
            raise InvalidInput('an interval is ["HH:MM", "HH:MM"]: opens, closes', field=interval_field)
        start = _minute_of_day(interval[0], f"{interval_field}[0]")
        end = _minute_of_day(interval[1], f"{interval_field}[1]")
        if end <= start:
            raise InvalidInput(
                "an interval closes after it opens (past midnight: end the day at 24:00 and open the next at 00:00)",
                field=f"{interval_field}[1]",
            )
        intervals.append((start, end))
    intervals.sort()
    for (_, earlier_end), (later_start, _) in itertools.pairwise(intervals):
        if later_start < earlier_end:
            raise InvalidInput("a day's intervals must not overlap", field=field)
    return tuple(intervals)


def parse_opening_hours(document: object, *, field: str = "opening_hours") -> OpeningHours | None:
    """Opening hours from their JSON document (parsed); None (JSON null) means always open."""
    if document is None:
        return None
    body = _require_object(document, field, _HOURS_OBJECT)
    _refuse_unknown_keys(body, frozenset(WEEKDAYS), field)
    return OpeningHours(tuple(_day(body[day], f"{field}.{day}") if day in body else () for day in WEEKDAYS))


def _clock(minute_of_day: int) -> str:
    return f"{minute_of_day // 60:02d}:{minute_of_day % 60:02d}"


def opening_hours_document(hours: OpeningHours | None) -> dict[str, Any] | None:
    if hours is None:
        return None
    return {
        day: [[_clock(start), _clock(end)] for start, end in intervals]
        for day, intervals in zip(WEEKDAYS, hours.days, strict=True)
        if intervals
    }


def opening_hours_from_text(text: str | None) -> OpeningHours | None:
    return None if text is None else parse_opening_hours(json.loads(text))


def opening_hours_text(hours: OpeningHours | None) -> str | None:
    document = opening_hours_document(hours)
    return None if document is None else json.dumps(document, separators=(",", ":"))


def is_open(hours: OpeningHours | None, local_moment: datetime) -> bool:
    """Whether the device sells at this moment, read on the outlet's own clock (`local_moment` in its zone)."""
    if hours is None:
        return True
    minute = local_moment.hour * 60 + local_moment.minute
    return any(start <= minute < end for start, end in hours.intervals(local_moment.weekday()))


# --- limits ---------------------------------------------------------------------------------------------------

MAX_HOLD_TTL_SECONDS = 24 * 3600
MAX_SILENT_AFTER_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class DeviceLimits:
    hold_ttl_seconds: int = 300  # how long a hold waits for its capture before it is released on its own
    offline_limit_minor: int = 0  # what it may sell to one card while it cannot reach the server
    silent_after_seconds: int = 900  # no heartbeat for this long: the console and the owner's e-mail call it silent


def _seconds(value: object, field: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise InvalidInput(f"a whole number of seconds from 1 to {maximum}", field=field)
    return value


def checked_limits(
    *,
    hold_ttl_seconds: object,
    offline_limit_minor: int,
    silent_after_seconds: object,
    currency: str,
    max_amount_minor: int = MAX_AMOUNT_MINOR,
) -> DeviceLimits:
    if offline_limit_minor > max_amount_minor:
        limit = format_minor(max_amount_minor, currency)
        raise InvalidInput(f"the offline limit is at most {limit} {currency} here", field="offline_limit")
    return DeviceLimits(
        hold_ttl_seconds=_seconds(hold_ttl_seconds, "hold_ttl_seconds", MAX_HOLD_TTL_SECONDS),
        offline_limit_minor=offline_limit_minor,
        silent_after_seconds=_seconds(silent_after_seconds, "silent_after_seconds", MAX_SILENT_AFTER_SECONDS),
    )


def is_online(last_heartbeat_at: datetime | None, silent_after_seconds: int, now: datetime) -> bool:
    """A device is online when its last heartbeat is at most `silent_after_seconds` old."""
    if last_heartbeat_at is None:
        return False
    return (now - last_heartbeat_at).total_seconds() <= silent_after_seconds
