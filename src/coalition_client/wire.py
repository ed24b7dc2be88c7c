"""Dataclasses ↔ the API's JSON. Money is a decimal string on the wire and a Decimal here; a float is refused,
as a float cannot hold 0.10 exactly."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar, Union

T = TypeVar("T")
Json = dict[str, Any]


def minor_units(amount: Decimal, exponent: int = 2) -> int:
    """Decimal("1000.00") → 100000: the integer minor units the server keeps (exact, or ValueError)."""
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than {exponent} decimal places")
    return int(scaled)


def from_minor_units(amount_minor: int, exponent: int = 2) -> Decimal:
    """100000 → Decimal("1000.00")."""
    return Decimal(amount_minor).scaleb(-exponent)


def _encode(value: Any) -> Any:
    if isinstance(value, float):
        raise TypeError("money and quantities are Decimal or str, never float")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json(value)
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    return value


def to_json(body: Any) -> Json:
    """A request dataclass → its JSON body; fields left at None are not sent (the server's defaults apply)."""
    values = {f.name: getattr(body, f.name) for f in dataclasses.fields(body)}
    return {name: _encode(value) for name, value in values.items() if value is not None}


@cache
def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (Union, types.UnionType):
        options = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return _decode(options[0], value) if len(options) == 1 else value
    if origin is list:
        (item,) = typing.get_args(kind)
        return [_decode(item, element) for element in value]
    if kind is Decimal:
        return Decimal(str(value))
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return from_json(kind, value)
    return value


def from_json(cls: type[T], data: Json) -> T:
    """An answer's JSON → its dataclass; fields the server adds later are kept in `extra`, not lost or refused."""
    kind: Any = cls
    hints = _hints(kind)
    names = {f.name for f in dataclasses.fields(kind)}
    values = {name: _decode(hints[name], data.get(name)) for name in names if name != "extra"}
    if "extra" in names:
        values["extra"] = {key: item for key, item in data.items() if key not in names}
    return cls(**values)
