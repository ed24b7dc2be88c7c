"""The administrator's devices (issue 15): register a machine under a partner, list and show them, change a device's
kind, prices, hours and limits, and deactivate one.

A device is an outlet of its own with its own terminal (domain/devices.py says what the device row holds beside): the
outlet, the terminal (its key shown once, in the answer) and the device row are written in one transaction, so a
failed registration leaves nothing behind. Deactivating a device revokes its terminal at once; its key is rotated
through the terminal key routes (`POST /v1/admin/terminals/{terminal_id}/key/rotate`). An owner (console) sees and
edits only their partner's devices: another partner's device is "not found", exactly like one that does not exist.
"""

from __future__ import annotations

import json
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from coalition.application.admin import WEB_TERMINAL_NAME, AdminUnitOfWork, validate_timezone
from coalition.application.audit import entry
from coalition.application.cache import ACCESS_CHANGES, AccessChanges
from coalition.application.commands import DuplicateKey, key_hash
from coalition.application.network_ref import NetworkRef
from coalition.application.ports import Clock
from coalition.application.security import new_api_key
from coalition.domain.devices import (
    DeviceKind,
    DeviceLimits,
    OpeningHours,
    PriceList,
    checked_limits,
    is_online,
    is_open,
    opening_hours_document,
    opening_hours_text,
    parse_device_kind,
    parse_opening_hours,
    parse_price_list,
    price_list_document,
    price_list_text,
    require_price_list_fits,
)
from coalition.domain.errors import Conflict, InvalidInput, NotFound
from coalition.domain.money import format_minor, parse_amount_minor

UNCHANGED: Any = object()  # a change that leaves the field as it is (None means "always open" for hours)


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """A device as stored, with its outlet, partner and terminal."""

    id: int
    network_id: int
    currency: str  # the network's
    partner_id: int
    partner_name: str
    outlet_id: int
    name: str  # its outlet's name
    timezone: str
    terminal_id: int
    key_prefix: str
    terminal_active: bool
    kind: DeviceKind
    price_list: PriceList
    opening_hours: OpeningHours | None
    limits: DeviceLimits
    active: bool
    last_heartbeat_at: datetime | None
    last_status: str | None  # the JSON text the device sent
    last_error: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DeviceTakings:
    """A device's charges since the start of its outlet's day: how many, and what its partner took (PREPAID)."""

    uses: int = 0
    takings_minor: int = 0


@dataclass(frozen=True, slots=True)
class DeviceView:
    """A device as answered: the record, and what the moment makes of it (online, open)."""

    record: DeviceRecord
    currency: str
    online: bool
    open_now: bool
    today: DeviceTakings = field(default_factory=DeviceTakings)

    @classmethod
    def of(cls, record: DeviceRecord, currency: str, now: datetime, today: DeviceTakings | None = None) -> DeviceView:
        local = now.astimezone(ZoneInfo(record.timezone))
        online = is_online(record.last_heartbeat_at, record.limits.silent_after_seconds, now)
        return cls(record, currency, online, is_open(record.opening_hours, local), today or DeviceTakings())

    def json(self) -> dict[str, Any]:
        record = self.record
        return {
            "id": record.id,
            "name": record.name,
            "kind": record.kind.value,
            "partner": {"id": record.partner_id, "name": record.partner_name},
            "outlet_id": record.outlet_id,
            "timezone": record.timezone,
            "terminal": {"id": record.terminal_id, "key_prefix": record.key_prefix, "active": record.terminal_active},
            "currency": self.currency,
            "price_list": price_list_document(record.price_list, self.currency),
            "opening_hours": opening_hours_document(record.opening_hours),
            "hold_ttl_seconds": record.limits.hold_ttl_seconds,
            "offline_limit": format_minor(record.limits.offline_limit_minor, self.currency),
            "silent_after_seconds": record.limits.silent_after_seconds,
            "active": record.active,
            "open_now": self.open_now,
            "online": self.online,
            "last_heartbeat_at": _moment(record.last_heartbeat_at),
            "last_status": None if record.last_status is None else json.loads(record.last_status),
            "last_error": record.last_error,
            "today": {"uses": self.today.uses, "takings": format_minor(self.today.takings_minor, self.currency)},
            "created_at": _moment(record.created_at),
        }


@dataclass(frozen=True, slots=True)
class DeviceRegistration:
    """What the administrator sends to register a device (documents as parsed JSON, amounts as decimal strings)."""

    partner_id: int
    name: str
    kind: str
    timezone: str = "UTC"
    price_list: object = None  # None: no prices (a turnstile, a kiosk)
    opening_hours: object = None  # None: always open
    hold_ttl_seconds: object = 300
    offline_limit: str = "0"
    silent_after_seconds: object = 900


@dataclass(frozen=True, slots=True)
class DeviceChanges:
    """The fields a PATCH changes; UNCHANGED leaves one as it is (opening_hours None: always open)."""

    kind: Any = UNCHANGED
    price_list: Any = UNCHANGED
    opening_hours: Any = UNCHANGED
    hold_ttl_seconds: Any = UNCHANGED
    offline_limit: Any = UNCHANGED
    silent_after_seconds: Any = UNCHANGED


class DeviceAdminUnitOfWork(AdminUnitOfWork, Protocol):
    async def max_amount_minor(self, network_id: int) -> int: ...
    async def create_device(
        self,
        network: NetworkRef,
        outlet_id: int,
        terminal_id: int,
        kind: DeviceKind,
        price_list: str,
        opening_hours: str | None,
        limits: DeviceLimits,
    ) -> int: ...
    async def devices(
        self,
        network: NetworkRef,
        partner_id: int | None = None,
        device_id: int | None = None,
        *,
        outlet_id: int | None = None,
    ) -> list[DeviceRecord]: ...
    async def update_device(self, network_id: int, device_id: int, values: dict[str, Any]) -> None: ...
    async def takings_since(self, network_id: int, outlet_ids: list[int], since: datetime) -> dict[int, DeviceTakings]:
        """Per outlet: its DEVICE_CHARGE transactions recorded since `since` and their PREPAID postings' sum."""
        ...


class DeviceAdminUnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[DeviceAdminUnitOfWork]: ...


class DeviceAdmin:
    def __init__(
        self,
        unit_of_work: DeviceAdminUnitOfWorkFactory,
        clock: Clock,
        access_changes: AccessChanges = ACCESS_CHANGES,
    ) -> None:
        self.unit_of_work = unit_of_work
        self.clock = clock
        self._access_changes = access_changes

    async def register(
        self,
        network: NetworkRef,
        registration: DeviceRegistration,
        owner_partner_id: int | None = None,
        *,
        key: str | None = None,
    ) -> dict[str, Any]:
        """The device, its outlet and its terminal in one transaction; the answer holds the key, shown only once
        (`key`: the demo network's published keys)."""
        currency = network.currency
        kind = parse_device_kind(registration.kind)
        name = _name(registration.name)
        validate_timezone(registration.timezone)
        if owner_partner_id is not None and registration.partner_id != owner_partner_id:
            raise _no_partner(registration.partner_id)
        key = key or new_api_key("dev")
        try:
            async with self.unit_of_work() as uow:
                if not await uow.partner_exists(network, registration.partner_id):
                    raise _no_partner(registration.partner_id)
                ceiling = await uow.max_amount_minor(network.id)
                price_list = parse_price_list(registration.price_list or {}, currency, max_amount_minor=ceiling)
                require_price_list_fits(kind, price_list)
                hours = parse_opening_hours(registration.opening_hours)
                limits = checked_limits(
                    hold_ttl_seconds=registration.hold_ttl_seconds,
                    offline_limit_minor=parse_amount_minor(registration.offline_limit, currency, field="offline_limit"),
                    silent_after_seconds=registration.silent_after_seconds,
                    currency=currency,
                    max_amount_minor=ceiling,
                )
                partner_id = registration.partner_id
                outlet_id = await uow.create_outlet(network, partner_id, name, registration.timezone)
                terminal_id = await uow.create_terminal(network, outlet_id, name, key_hash(key), key[:12])
                device_id = await uow.create_device(
                    network,
                    outlet_id,
                    terminal_id,
                    kind,
                    price_list_text(price_list, currency),
                    opening_hours_text(hours),
                    limits,
                )
                (record,) = await uow.devices(network, device_id=device_id)
                await uow.audit(
                    entry(network.id, "device.create", "device", device_id, after=_audited(record, currency),
                          partner_id=partner_id)
                )  # fmt: skip
        except DuplicateKey:
            raise Conflict(f"the partner already has an outlet '{name}'", field="name") from None
        return DeviceView.of(record, currency, self.clock.now()).json() | {"key": key}

    async def devices(
        self, network: NetworkRef, partner_id: int | None = None, *, outlet_id: int | None = None
    ) -> list[DeviceView]:
        """Every device of the network (an owner: their partner's; `outlet_id`: the device that is this outlet),
        with today's uses and takings."""
        now = self.clock.now()
        async with self.unit_of_work() as uow:
            records = await uow.devices(network, partner_id, outlet_id=outlet_id)
            takings: dict[int, DeviceTakings] = {}
            for timezone in sorted({record.timezone for record in records}):  # "today" on each outlet's own clock
                outlets = [record.outlet_id for record in records if record.timezone == timezone]
                takings |= await uow.takings_since(network.id, outlets, _start_of_day(now, timezone))
        return [DeviceView.of(record, network.currency, now, takings.get(record.outlet_id)) for record in records]

    async def show(self, network: NetworkRef, device_id: int, partner_id: int | None = None) -> DeviceView:
        now = self.clock.now()
        async with self.unit_of_work() as uow:
            record = await _device(uow, network, device_id, partner_id)
            takings = await uow.takings_since(network.id, [record.outlet_id], _start_of_day(now, record.timezone))
        return DeviceView.of(record, network.currency, now, takings.get(record.outlet_id))

    async def change(
        self, network: NetworkRef, device_id: int, changes: DeviceChanges, partner_id: int | None = None
    ) -> DeviceView:
        """Change what is given; the price list is checked against the (new) kind whichever of them changes."""
        currency = network.currency
        async with self.unit_of_work() as uow:
            record = await _device(uow, network, device_id, partner_id)
            ceiling = await uow.max_amount_minor(network.id)
            kind = record.kind if changes.kind is UNCHANGED else parse_device_kind(changes.kind)
            price_list = record.price_list
            if changes.price_list is not UNCHANGED:
                price_list = parse_price_list(changes.price_list or {}, currency, max_amount_minor=ceiling)
            require_price_list_fits(kind, price_list)
            hours = record.opening_hours
            if changes.opening_hours is not UNCHANGED:
                hours = parse_opening_hours(changes.opening_hours)
            offline_minor = record.limits.offline_limit_minor
            if changes.offline_limit is not UNCHANGED:
                offline_minor = parse_amount_minor(changes.offline_limit, currency, field="offline_limit")
            limits = checked_limits(
                hold_ttl_seconds=_or(changes.hold_ttl_seconds, record.limits.hold_ttl_seconds),
                offline_limit_minor=offline_minor,
                silent_after_seconds=_or(changes.silent_after_seconds, record.limits.silent_after_seconds),
                currency=currency,
                max_amount_minor=ceiling,
            )
            changed = replace(record, kind=kind, price_list=price_list, opening_hours=hours, limits=limits)
            await uow.update_device(
                network.id,
                device_id,
                {
                    "kind": kind.value,
                    "price_list": price_list_text(price_list, currency),
                    "opening_hours": opening_hours_text(hours),
                    "hold_ttl_seconds": limits.hold_ttl_seconds,
                    "offline_limit_minor": limits.offline_limit_minor,
                    "silent_after_seconds": limits.silent_after_seconds,
                },
            )
            before, after = _audited(record, currency), _audited(changed, currency)
            differs = [name for name in after if after[name] != before[name]]
            await uow.audit(
                entry(network.id, "device.update", "device", device_id,
                      before={name: before[name] for name in differs}, after={name: after[name] for name in differs},
                      partner_id=record.partner_id)
            )  # fmt: skip
        return DeviceView.of(changed, currency, self.clock.now())

    async def revoke(self, network: NetworkRef, device_id: int, partner_id: int | None = None) -> DeviceView:
        """Deactivate the device and revoke its terminal's key: refused (401) from the next request on, by every
        worker."""
        async with self.unit_of_work() as uow:
            record = await _device(uow, network, device_id, partner_id)
            await uow.update_device(network.id, device_id, {"active": False})
            await uow.set_terminal_active(network, record.terminal_id, False)
            await uow.audit(
                entry(network.id, "device.revoke", "device", device_id,
                      before={"active": record.active, "terminal_active": record.terminal_active},
                      after={"active": False, "terminal_active": False}, partner_id=record.partner_id)
            )  # fmt: skip
        self._access_changes.moved()
        revoked = replace(record, active=False, terminal_active=False)
        return DeviceView.of(revoked, network.currency, self.clock.now())


async def _device(
    uow: DeviceAdminUnitOfWork, network: NetworkRef, device_id: int, partner_id: int | None
) -> DeviceRecord:
    found = await uow.devices(network, partner_id, device_id)
    if not found:
        raise NotFound(f"no device {device_id} in this network", field="device_id")
    return found[0]


def _no_partner(partner_id: int) -> NotFound:
    return NotFound(f"no partner {partner_id} in this network", field="partner_id")


def _name(value: str) -> str:
    text = value.strip()
    if not 1 <= len(text) <= 200:
        raise InvalidInput("a name has 1 to 200 characters", field="name")
    if text.casefold() == WEB_TERMINAL_NAME.casefold():
        raise InvalidInput(f"'{WEB_TERMINAL_NAME}' names the outlet's cashiers' sign-in; choose another", field="name")
    return text


def _or(value: object, default: object) -> object:
    return default if value is UNCHANGED else value


def _start_of_day(moment: datetime, timezone: str) -> datetime:
    return moment.astimezone(ZoneInfo(timezone)).replace(hour=0, minute=0, second=0, microsecond=0)


def _audited(record: DeviceRecord, currency: str) -> dict[str, Any]:
    return {
        "name": record.name,
        "kind": record.kind.value,
        "outlet_id": record.outlet_id,
        "terminal_id": record.terminal_id,
        "price_list": price_list_document(record.price_list, currency),
        "opening_hours": opening_hours_document(record.opening_hours),
        "hold_ttl_seconds": record.limits.hold_ttl_seconds,
        "offline_limit_minor": record.limits.offline_limit_minor,
        "silent_after_seconds": record.limits.silent_after_seconds,
        "active": record.active,
    }


def _moment(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")
