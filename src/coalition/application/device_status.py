"""A device's own side (issue 15): which device a terminal key is, its configuration (`GET /v1/devices/me`) and its
heartbeat (`POST /v1/devices/heartbeat`): the server's time of it, the small status document the device sent and its
last error, which the console and the owner's daily e-mail read to call a device online or silent.

A terminal key with no device row is a till's: refused on the device routes (403), so a till cannot pass for one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from coalition.application.devices_admin import DeviceRecord, DeviceView
from coalition.application.ports import Clock, TerminalContext
from coalition.domain.errors import Forbidden, InvalidInput
from coalition.domain.input_text import has_control_character

MAX_STATUS_BYTES = 2048
MAX_STATUS_DEPTH = 3
MAX_ERROR_CHARS = 200  # the column's width


class _Device(Protocol):
    @property
    def active(self) -> bool: ...


D = TypeVar("D", bound=_Device)


def device_of_key(found: D | None) -> D:
    """The device a terminal key belongs to, as its caller read it (the charges' row or the registry's record):
    a till's key (no device) or a deactivated device's is refused (403), on every route a device has."""
    if found is None:
        raise Forbidden("this key is a till's, not a device's: use the device's own key", field="authorization")
    if not found.active:
        raise Forbidden("this device is deactivated", field="authorization")
    return found


class DeviceStatusStore(Protocol):
    async def device_of_terminal(self, terminal_id: int) -> DeviceRecord | None: ...
    async def record_heartbeat(
        self, device_id: int, moment: datetime, status: dict[str, Any], error: str | None
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Heartbeat:
    device_id: int
    received_at: datetime

    def json(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "received_at": self.received_at.isoformat().replace("+00:00", "Z")}


def checked_status(status: object) -> dict[str, Any]:
    """A heartbeat's status: a JSON object of at most 2 KB, nested at most 3 deep (an object in an object in it)."""
    if not isinstance(status, Mapping):
        raise InvalidInput('status is a JSON object such as {"temperature": 6}', field="status")
    document = dict(status)
    if _depth(document) > MAX_STATUS_DEPTH:
        raise InvalidInput(f"status is nested at most {MAX_STATUS_DEPTH} levels deep", field="status")
    if len(json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()) > MAX_STATUS_BYTES:
        raise InvalidInput(f"status is at most {MAX_STATUS_BYTES} bytes of JSON", field="status")
    return document


def checked_error(error: object) -> str | None:
    if error is None:
        return None
    if not isinstance(error, str) or len(error) > MAX_ERROR_CHARS or has_control_character(error):
        raise InvalidInput(f"error is text of at most {MAX_ERROR_CHARS} characters, or null", field="error")
    return error.strip() or None


def _depth(value: object) -> int:
    """How deep a document nests objects and lists (a scalar: 0), walked with a list (no recursion limit)."""
    deepest = 0
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, Mapping):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = list(item)
        else:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_STATUS_DEPTH:
            return deepest
        pending.extend((child, depth + 1) for child in children)
    return deepest


class DeviceStatus:
    def __init__(self, store: DeviceStatusStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def device_of(self, ctx: TerminalContext) -> DeviceRecord:
        """The device the request's terminal key belongs to; a till's key is refused (403)."""
        return device_of_key(await self.store.device_of_terminal(ctx.terminal_id))

    async def me(self, ctx: TerminalContext) -> dict[str, Any]:
        """What the device needs to run: its kind, outlet, prices, hours and limits, and whether it is open now."""
        device = await self.device_of(ctx)
        answer = DeviceView.of(device, device.currency, self.clock.now()).json()
        for private in ("today", "terminal", "last_status"):  # the console's, not the machine's
            answer.pop(private)
        return answer

    async def heartbeat(self, ctx: TerminalContext, status: object, error: object) -> Heartbeat:
        """Recorded at the server's time (a device's clock may be wrong); the last one replaces the one before."""
        device = await self.device_of(ctx)
        document, text = checked_status(status), checked_error(error)
        now = self.clock.now()
        await self.store.record_heartbeat(device.id, now, document, text)
        return Heartbeat(device.id, now)
