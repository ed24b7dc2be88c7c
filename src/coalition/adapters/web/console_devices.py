"""Devices in the console (issue 15), at /console/devices.

Each device with its kind, partner, last heartbeat, online or silent, open or closed now, today's uses and takings
(its DEVICE_CHARGE transactions, on its outlet's clock) and its last error. The administrator registers a device
(its key shown once, on the page that answers) and revokes one; the administrator, and an owner for their partner's
devices, edits a device's prices, opening hours and limits. All through the same commands as the admin API
(application/devices_admin.py), each audited as the console user's.

The form is friendlier than the JSON: a slot a line (`A1; Water 0.5 l; 1.20`), a day's hours as
`08:00-13:00, 14:00-22:00`; it is turned into the documents the domain checks, and an error names the form's field.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.problems import status_of
from coalition.adapters.web.console_staff import network_of, partner_scope
from coalition.adapters.web.sessions import checked_form, services_of, signed_in
from coalition.adapters.web.templating import error_text, gettext, render
from coalition.application.devices_admin import UNCHANGED, DeviceChanges, DeviceRecord, DeviceRegistration
from coalition.application.web_sessions import WebIdentity
from coalition.domain.devices import WEEKDAYS, DeviceKind, price_list_document
from coalition.domain.errors import DomainError, InvalidInput
from coalition.domain.input_text import parse_whole_number
from coalition.domain.money import format_minor

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)
ConsoleUser = Annotated[WebIdentity, Depends(signed_in("console"))]
Administrator = Annotated[WebIdentity, Depends(signed_in("console", "administrator"))]

KINDS = tuple(kind.value for kind in DeviceKind)
PRICE_FIELDS = ("per_use", "per_minute", "max_minutes", "slots")
LIMIT_FIELDS = ("hold_ttl_seconds", "offline_limit", "silent_after_seconds")
HOURS_FIELDS = tuple(f"hours_{day}" for day in WEEKDAYS)
REGISTER_FIELDS = ("partner", "name", "kind", "timezone", *PRICE_FIELDS, *LIMIT_FIELDS, *HOURS_FIELDS, "always_open")
DONE = {
    "changed": "The device's prices, hours and limits were saved.",
    "revoked": "The device is deactivated: its key is refused from now on.",
}


def form_field(field: str | None) -> str:
    """The form's field for a field the domain names (`price_list.slots.A1.price` → slots)."""
    name = field or ""
    if name.startswith("price_list."):
        inner = name.removeprefix("price_list.").split(".")[0]
        return inner if inner in PRICE_FIELDS else "slots"
    if name.startswith("opening_hours."):
        return "hours_" + name.removeprefix("opening_hours.")[:3]
    return {"partner_id": "partner", "opening_hours": "hours_mon", "price_list": "per_use"}.get(name, name)


def _failure(request: Request, error: DomainError, values: dict[str, str]) -> dict[str, Any]:
    return {"field": form_field(error.field), "message": error_text(request, error.detail), "values": values}


def _typed(form: FormData, names: tuple[str, ...]) -> dict[str, str]:
    return {name: str(form.get(name, "")).strip() for name in names}


def _amount(text: str) -> str | None:
    return text.replace(",", ".") if text else None


def price_list_of(values: dict[str, str]) -> dict[str, Any]:
    """The price list's document from the form: a slot a line, `code; name; price`."""
    slots: dict[str, dict[str, str]] = {}
    for number, line in enumerate(values.get("slots", "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split(";")]
        if len(parts) != 3:
            raise InvalidInput(f"line {number}: a slot is written 'code; name; price'", field="price_list.slots")
        code, name, price = parts
        if code in slots:
            raise InvalidInput(f"line {number}: slot {code[:32]} is there twice", field="price_list.slots")
        slots[code] = {"name": name, "price": price.replace(",", ".")}
    max_minutes = values.get("max_minutes", "")
    return {
        "per_use": _amount(values.get("per_use", "")),
        "slots": slots,
        "per_minute": _amount(values.get("per_minute", "")),
        "max_minutes": parse_whole_number(
            max_minutes, field="price_list.max_minutes", message="enter the minutes as a whole number"
        )
        if max_minutes
        else None,
    }


def opening_hours_of(values: dict[str, str]) -> dict[str, Any] | None:
    """The opening hours' document from the form: None when always open; a day left empty is closed."""
    if values.get("always_open"):
        return None
    hours: dict[str, Any] = {}
    for day in WEEKDAYS:
        text = values.get(f"hours_{day}", "")
        if not text:
            continue
        intervals = []
        for part in text.split(","):
            opens, dash, closes = part.strip().partition("-")
            if not dash:
                message = "write a day's hours as 08:00-22:00 (several: 08:00-13:00, 14:00-22:00)"
                raise InvalidInput(message, field=f"opening_hours.{day}")
            intervals.append([opens.strip(), closes.strip()])
        hours[day] = intervals
    return hours


def form_values(record: DeviceRecord) -> dict[str, str]:
    """The form's fields for a stored device (its edit form, filled in)."""
    document = price_list_document(record.price_list, record.currency)
    slots = "\n".join(f"{code}; {slot['name']}; {slot['price']}" for code, slot in document["slots"].items())
    values = {
        "per_use": document["per_use"] or "",
        "per_minute": document["per_minute"] or "",
        "max_minutes": str(document["max_minutes"] or ""),
        "slots": slots,
        "hold_ttl_seconds": str(record.limits.hold_ttl_seconds),
        "offline_limit": format_minor(record.limits.offline_limit_minor, record.currency),
        "silent_after_seconds": str(record.limits.silent_after_seconds),
        "kind": record.kind.value,
        "always_open": "1" if record.opening_hours is None else "",
    }
    for index, day in enumerate(WEEKDAYS):
        intervals = record.opening_hours.intervals(index) if record.opening_hours else ()
        values[f"hours_{day}"] = ", ".join(
            f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}" for start, end in intervals
        )
    return values


def _seconds(text: str, field: str) -> int:
    return parse_whole_number(text, field=field, message="enter the seconds as a whole number")


async def _list_page(
    request: Request,
    user: WebIdentity,
    failure: dict[str, Any] | None = None,
    status_code: int = 200,
    created: dict[str, Any] | None = None,
) -> Response:
    services = services_of(request)
    network = network_of(user)
    devices = await services.device_admin.devices(network, partner_scope(user))
    administrator = user.role == "administrator"
    done = request.query_params.get("done", "")
    context = {
        "me": user,
        "devices": devices,
        "failure": failure,
        "created": created,
        "notice": gettext(request, DONE[done]) if done in DONE else None,
        "partners": (await services.admin.staff(network))["partners"] if administrator else {},
        "kinds": KINDS,
        "weekdays": WEEKDAYS,
    }
    return render(request, "console/devices.html", context, currency=user.currency, status_code=status_code)


@router.get("/devices")
async def devices_page(request: Request, user: ConsoleUser) -> Response:
    return await _list_page(request, user)


@router.post("/devices")
async def register(request: Request, me: Administrator) -> Response:
    """A device with its outlet and terminal (the same command as POST /v1/admin/devices); its key is shown on the
    page that answers, once, and never again."""
    form = await checked_form(request, me)
    typed = _typed(form, REGISTER_FIELDS)
    try:
        partner = parse_whole_number(typed["partner"], field="partner_id", message="choose a partner from the list")
        registration = DeviceRegistration(
            partner_id=partner,
            name=typed["name"],
            kind=typed["kind"],
            timezone=typed["timezone"] or "UTC",
            price_list=price_list_of(typed),
            opening_hours=opening_hours_of(typed),
            hold_ttl_seconds=_seconds(typed["hold_ttl_seconds"] or "300", "hold_ttl_seconds"),
            offline_limit=_amount(typed["offline_limit"]) or "0",
            silent_after_seconds=_seconds(typed["silent_after_seconds"] or "900", "silent_after_seconds"),
        )
        created = await services_of(request).device_admin.register(network_of(me), registration)
    except DomainError as error:
        return await _list_page(request, me, _failure(request, error, typed), status_of(error))
    return await _list_page(request, me, created=created, status_code=201)


async def _device_page(
    request: Request, user: WebIdentity, device_id: int, failure: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    services = services_of(request)
    view = await services.device_admin.show(network_of(user), device_id, partner_scope(user))
    done = request.query_params.get("done", "")
    context = {
        "me": user,
        "device": view,
        "values": (failure or {}).get("values") or form_values(view.record),
        "failure": failure,
        "notice": gettext(request, DONE[done]) if done in DONE else None,
        "kinds": KINDS,
        "weekdays": WEEKDAYS,
        "status_text": None
        if view.record.last_status is None
        else json.dumps(json.loads(view.record.last_status), ensure_ascii=False, indent=1),
    }
    return render(request, "console/devices_one.html", context, currency=user.currency, status_code=status_code)


@router.get("/devices/{device_id}")
async def device_page(request: Request, user: ConsoleUser, device_id: int) -> Response:
    return await _device_page(request, user, device_id)


@router.post("/devices/{device_id}")
async def change(request: Request, user: ConsoleUser, device_id: int) -> Response:
    """The device's kind, prices, hours and limits (the same command as PATCH /v1/admin/devices/{id})."""
    form = await checked_form(request, user)
    typed = _typed(form, ("kind", *PRICE_FIELDS, *LIMIT_FIELDS, *HOURS_FIELDS, "always_open"))
    services = services_of(request)
    try:
        changes = DeviceChanges(
            kind=typed["kind"] or UNCHANGED,
            price_list=price_list_of(typed),
            opening_hours=opening_hours_of(typed),
            hold_ttl_seconds=_seconds(typed["hold_ttl_seconds"], "hold_ttl_seconds"),
            offline_limit=_amount(typed["offline_limit"]) or "0",
            silent_after_seconds=_seconds(typed["silent_after_seconds"], "silent_after_seconds"),
        )
        await services.device_admin.change(network_of(user), device_id, changes, partner_scope(user))
    except DomainError as error:
        return await _device_page(request, user, device_id, _failure(request, error, typed), status_of(error))
    return RedirectResponse(f"/console/devices/{device_id}?done=changed", 303)


@router.post("/devices/{device_id}/revoke")
async def revoke(request: Request, me: Administrator, device_id: int) -> Response:
    """Deactivate the device: its key is refused at once (the same command as POST /v1/admin/devices/{id}/revoke)."""
    await checked_form(request, me)
    services = services_of(request)
    try:
        await services.device_admin.revoke(network_of(me), device_id)
    except DomainError as error:
        return await _device_page(request, me, device_id, _failure(request, error, {}), status_of(error))
    services.pos.forget_terminal_keys()
    return RedirectResponse(f"/console/devices/{device_id}?done=revoked", 303)
