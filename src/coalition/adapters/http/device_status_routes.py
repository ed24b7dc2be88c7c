"""Devices over HTTP (issue 15), the device's own side (its terminal key): its configuration and its heartbeat.
A key that is a till's, not a device's, is refused here with a 403."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, StrictStr

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import Svc, Terminal, terminal_doc
from coalition.adapters.http.schemas import Body
from coalition.application.device_status import MAX_ERROR_CHARS


class HeartbeatAnswer(BaseModel):
    device_id: int
    received_at: str = Field(description="the server's time of the heartbeat (UTC)")


class DevicePriceList(BaseModel):
    per_use: str | None = Field(description="the price of one use (no product named); null: none")
    slots: dict[str, dict[str, str]] = Field(description='per product slot: {"name": ..., "price": "1.20"}')
    per_minute: str | None = Field(description="a timed session's price per minute (rounded up)")
    max_minutes: int | None = Field(description="a session's longest length: what it holds up front")


class DeviceConfigAnswer(BaseModel):
    id: int
    name: str
    kind: str = Field(description="vending, arcade, dispenser, timed_table, turnstile or kiosk")
    partner: dict[str, int | str]
    outlet_id: int
    timezone: str
    currency: str
    price_list: DevicePriceList
    opening_hours: dict[str, list[list[str]]] | None = Field(description="null: always open")
    hold_ttl_seconds: int
    offline_limit: str
    silent_after_seconds: int
    active: bool
    open_now: bool = Field(description="open now by its opening hours, on its outlet's clock")
    online: bool
    last_heartbeat_at: str | None
    last_error: str | None
    created_at: str


device_router = APIRouter(prefix="/v1/devices", tags=["Devices"], route_class=CheckedRoute)


class HeartbeatBody(Body):
    # checked by the application (at most 2 KB of JSON, nested at most 3 deep), which names the field
    status: dict[str, Any] = Field(default_factory=dict, examples=[{"temperature": 6, "coins": {"full": False}}])
    error: StrictStr | None = Field(default=None, max_length=MAX_ERROR_CHARS, description="its last error, if any")


@device_router.post(
    "/heartbeat",
    response_model=HeartbeatAnswer,
    summary="The device is alive: its status and last error, recorded at the server's time",
    openapi_extra=terminal_doc(),
)
async def heartbeat(body: HeartbeatBody, svc: Svc, ctx: Terminal) -> dict[str, Any]:
    """An `Idempotency-Key` header may be sent (the MQTT bridge sends every message's id) and is not required: a
    heartbeat repeated records the device alive again, which is what it says."""
    return (await svc.device_status.heartbeat(ctx, body.status, body.error)).json()


@device_router.get(
    "/me",
    response_model=DeviceConfigAnswer,
    summary="The device's configuration: kind, outlet, prices, opening hours, limits, open now",
    openapi_extra=terminal_doc(),
)
async def me(svc: Svc, ctx: Terminal) -> dict[str, Any]:
    return await svc.device_status.me(ctx)
