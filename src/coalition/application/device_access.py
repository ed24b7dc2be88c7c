"""What a device's key may do on the till's routes (issue 15, docs/devices.md "A device's key on the till's routes").

A device's key is a terminal key, so it opens the till's routes too. Every request a device's key makes outside the
device routes passes here once (the HTTP layer's terminal dependency): a read needs an active device; a write also
needs the device open now by its opening hours and its kind allowed the operation (`MAY_DO`). The device routes
check the same themselves (device_charges.py), with the row they read anyway.

A till's key costs nothing here: whether a key is a device's is read with the key (`TerminalContext.device_id`,
cached), and only a device's key reads its device's row.

A request the MQTT bridge forwards names the topic it came on (`<network code>/<device id>`): the key must be that
device's, in that network, or the request is refused (403, field `topic`) — a device cannot publish on another
device's topic and have that device read its answers.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from coalition.application.commands import zone_named
from coalition.application.device_prices import is_open
from coalition.application.device_status import device_of_key
from coalition.application.ports import Clock, StoredResponse, TerminalContext
from coalition.application.pos_ports.device_charges import DeviceRow
from coalition.domain.device_charges import DeviceClosed
from coalition.domain.devices import DeviceKind
from coalition.domain.errors import DomainError, Forbidden


class TillOperation(StrEnum):
    """What a request on a terminal key's route does, as far as a device is concerned."""

    READ = "read"  # member lookup, wallet, quote, a visit shown, a gift card's balance
    DEVICE = "device"  # the device routes (/v1/devices/...): they check the device themselves
    PURCHASE = "purchase"
    WALLET_TOP_UP = "wallet top-up"
    VISIT = "visit"  # a visit's start and end
    DEVICE_USE = "device use"
    REFUND = "refund"
    GIFT_CARD_SALE = "gift card sale"
    CARD = "card change"  # issue, replace, block, unblock
    ENROLMENT = "enrolment"
    GIFT = "gift hand-over"
    OTHER = "other"  # any other write: no device


_ANY_KIND = frozenset(DeviceKind)

# Which kinds of device may make each write with their key (a kind not listed: refused). A device's own money
# moves through the device routes (charges, holds, sessions, a kiosk's top-up); these are the till's routes.
MAY_DO: dict[TillOperation, frozenset[DeviceKind]] = {
    TillOperation.READ: _ANY_KIND,
    TillOperation.DEVICE: _ANY_KIND,
    TillOperation.PURCHASE: frozenset({DeviceKind.VENDING, DeviceKind.KIOSK}),
    TillOperation.WALLET_TOP_UP: frozenset({DeviceKind.KIOSK}),
    TillOperation.VISIT: frozenset({DeviceKind.TURNSTILE}),
    TillOperation.DEVICE_USE: _ANY_KIND,
    TillOperation.REFUND: frozenset(),
    TillOperation.GIFT_CARD_SALE: frozenset(),
    TillOperation.CARD: frozenset(),
    TillOperation.ENROLMENT: frozenset({DeviceKind.KIOSK}),  # a self-service kiosk signs a customer up
    TillOperation.GIFT: frozenset({DeviceKind.DISPENSER, DeviceKind.VENDING}),  # a machine pours a free drink
    TillOperation.OTHER: frozenset(),
}


def require_open(device: DeviceRow, ctx: TerminalContext, now: datetime) -> None:
    """409 when the device is outside its opening hours (at its outlet's local time)."""
    if not is_open(device.opening_hours, now.astimezone(zone_named(ctx.timezone))):
        raise DeviceClosed(f"'{ctx.outlet_name}' is closed now (its opening hours)", field="device")


def require_kind(device: DeviceRow, operation: TillOperation) -> None:
    allowed = MAY_DO[operation]
    if device.kind not in allowed:
        if not allowed:
            raise Forbidden(f"a device's key may not make a {operation.value}: a till does", field="device")
        who = " or ".join(sorted(kind.value for kind in allowed))
        raise Forbidden(f"a {device.kind} device may not make a {operation.value}: a {who} only", field="device")


def parse_device_topic(topic: str) -> tuple[str, str]:
    network, slash, device = topic.partition("/")
    if not (slash and network and device) or "/" in device:
        raise Forbidden("the topic must name '<network code>/<device id>'", field="topic")
    return network, device


class DeviceRows(Protocol):
    async def device_of_terminal(self, terminal_id: int) -> DeviceRow | None: ...
    async def stored_response(self, terminal_id: int, key: str) -> StoredResponse | None: ...


class DeviceGate:
    def __init__(self, unit_of_work: Callable[[], AbstractAsyncContextManager[DeviceRows]], clock: Clock) -> None:
        self._unit_of_work = unit_of_work
        self._clock = clock

    async def check(
        self,
        ctx: TerminalContext,
        operation: TillOperation,
        topic: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """Refuse what this device may not do now (see the module's docstring). A write it made before under the
        same Idempotency-Key goes on to replay its stored answer, as on the device routes: a machine that lost the
        answer at closing time still learns what it did."""
        if topic is None and operation is TillOperation.DEVICE:
            return  # the device routes check their device themselves
        if ctx.device_id is None:  # a till's key on a device's topic
            raise Forbidden("this key is a till's, not a device's: a topic is a device's", field="topic")
        async with self._unit_of_work() as uow:
            device = device_of_key(await uow.device_of_terminal(ctx.terminal_id))
            if topic is not None:
                network, device_id = parse_device_topic(topic)
                if (network, device_id) != (device.network_code, str(device.id)):
                    raise Forbidden("this key is not the device of the topic it came on", field="topic")
            if operation in (TillOperation.READ, TillOperation.DEVICE):
                return
            try:
                require_kind(device, operation)
                require_open(device, ctx, self._clock.now())
            except DomainError:
                if idempotency_key and await uow.stored_response(ctx.terminal_id, idempotency_key) is not None:
                    return
                raise
