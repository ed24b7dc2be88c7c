"""Devices over HTTP (issue 15), the administrator's side (admin key): register a device under a partner (its outlet,
terminal and key in one go), list and show devices, change a device's kind, prices, hours and limits, deactivate it.
A device's key is rotated, and its expiry set, through the terminal key routes with the device's `terminal.id`:
`POST /v1/admin/terminals/{terminal_id}/key/rotate`, `PUT /v1/admin/terminals/{terminal_id}/key/expiry`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field, StrictInt, StrictStr

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import NetworkAdmin, PathId, Svc
from coalition.adapters.http.pagination import PAGE_RESPONSES, Paging, paged
from coalition.adapters.http.schemas import MAX_RECORD_ID, Amount, Body, RecordId
from coalition.application.devices_admin import UNCHANGED, DeviceChanges, DeviceRegistration
from coalition.domain.devices import MAX_HOLD_TTL_SECONDS, MAX_SILENT_AFTER_SECONDS

admin_router = APIRouter(prefix="/v1/admin", tags=["Devices"], route_class=CheckedRoute)

PRICE_LIST = (
    'per use, per product slot and per minute: {"per_use": "2.50" | null, "slots": {"A1": {"name": "Water 0.5 l", '
    '"price": "1.20"}}, "per_minute": "0.50" | null, "max_minutes": 120 | null}'
)
OPENING_HOURS = (
    'in the outlet\'s time zone: {"mon": [["08:00", "22:00"]], ...}; a day left out is closed; null: always open'
)
KIND = "vending, arcade, dispenser, timed_table, turnstile or kiosk"
_PRICE_LIST_EXAMPLE = {"per_use": None, "slots": {"A1": {"name": "Water 0.5 l", "price": "1.20"}}}


class DeviceBody(Body):
    partner_id: RecordId = Field(description="the partner whose machine it is (it takes the device's takings)")
    name: StrictStr = Field(min_length=1, max_length=200, description="the device's outlet's name")
    kind: StrictStr = Field(max_length=16, description=KIND)
    timezone: StrictStr = Field(default="UTC", max_length=64, description="the outlet's IANA time zone")
    # parsed by the domain (domain/devices.py), which names the field at fault: "price_list.slots.A1.price"
    price_list: dict[str, Any] | None = Field(default=None, description=PRICE_LIST, examples=[_PRICE_LIST_EXAMPLE])
    opening_hours: dict[str, Any] | None = Field(default=None, description=OPENING_HOURS)
    hold_ttl_seconds: StrictInt = Field(default=300, ge=1, le=MAX_HOLD_TTL_SECONDS)
    offline_limit: Amount = Field(default="0", description="what it may sell to one card while offline")
    silent_after_seconds: StrictInt = Field(default=900, ge=1, le=MAX_SILENT_AFTER_SECONDS)

    def registration(self) -> DeviceRegistration:
        return DeviceRegistration(
            partner_id=self.partner_id,
            name=self.name,
            kind=self.kind,
            timezone=self.timezone,
            price_list=self.price_list,
            opening_hours=self.opening_hours,
            hold_ttl_seconds=self.hold_ttl_seconds,
            offline_limit=self.offline_limit,
            silent_after_seconds=self.silent_after_seconds,
        )


class DeviceChangeBody(Body):
    kind: StrictStr | None = Field(default=None, max_length=16, description=KIND)
    price_list: dict[str, Any] | None = Field(default=None, description=PRICE_LIST)
    opening_hours: dict[str, Any] | None = Field(default=None, description=OPENING_HOURS)
    hold_ttl_seconds: StrictInt | None = Field(default=None, ge=1, le=MAX_HOLD_TTL_SECONDS)
    offline_limit: Amount | None = None
    silent_after_seconds: StrictInt | None = Field(default=None, ge=1, le=MAX_SILENT_AFTER_SECONDS)

    def changes(self) -> DeviceChanges:
        """Only the fields sent change; `"opening_hours": null` makes the device always open."""
        given = self.model_fields_set

        def sent(name: str, value: object) -> object:
            if name not in given or (value is None and name != "opening_hours"):
                return UNCHANGED
            return value

        return DeviceChanges(
            kind=sent("kind", self.kind),
            price_list=sent("price_list", self.price_list),
            opening_hours=sent("opening_hours", self.opening_hours),
            hold_ttl_seconds=sent("hold_ttl_seconds", self.hold_ttl_seconds),
            offline_limit=sent("offline_limit", self.offline_limit),
            silent_after_seconds=sent("silent_after_seconds", self.silent_after_seconds),
        )


@admin_router.post(
    "/devices",
    status_code=201,
    summary="Register a device: its outlet, its terminal and its key (shown only in this answer)",
)
async def register_device(body: DeviceBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    """The device is an outlet of its own (the permissions matrix, reports and settlement see it like any outlet)
    with its own terminal key, which the device sends as `Authorization: Bearer <key>`."""
    return await svc.device_admin.register(admin, body.registration())


@admin_router.get(
    "/devices",
    summary="The network's devices, in pages, by outlet: online or silent, today's uses and takings",
    responses=PAGE_RESPONSES,
)
async def list_devices(
    request: Request,
    response: Response,
    svc: Svc,
    admin: NetworkAdmin,
    page: Paging,
    outlet_id: Annotated[
        int | None,
        Query(ge=1, le=MAX_RECORD_ID, description="the device that is this outlet; another network's: an empty page"),
    ] = None,
) -> dict[str, Any]:
    found = await svc.device_admin.devices(admin, outlet_id=outlet_id)
    return paged(request, response, "devices", found, page, lambda view: view.record.id, lambda view: view.json())


@admin_router.get("/devices/{device_id}", summary="A device")
async def show_device(device_id: PathId, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return (await svc.device_admin.show(admin, device_id)).json()


@admin_router.patch("/devices/{device_id}", summary="Change a device's kind, prices, hours or limits (those sent)")
async def change_device(device_id: PathId, body: DeviceChangeBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return (await svc.device_admin.change(admin, device_id, body.changes())).json()


@admin_router.post("/devices/{device_id}/revoke", summary="Deactivate a device: its key is refused from now on")
async def revoke_device(device_id: PathId, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    revoked = (await svc.device_admin.revoke(admin, device_id)).json()
    svc.pos.forget_terminal_keys()
    return revoked
