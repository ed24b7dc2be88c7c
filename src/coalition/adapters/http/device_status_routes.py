"""Devices over HTTP (issue 15), the device's own side (its terminal key): its configuration and its heartbeat.
A key that is a till's, not a device's, is refused here with a 403."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field, StrictStr

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import (
    IDEMPOTENCY_KEY_PARAMETER,
    Svc,
    Terminal,
    terminal_doc,
)
from coalition.adapters.http.schemas import Body
from coalition.application.device_status import MAX_ERROR_CHARS

device_router = APIRouter(prefix="/v1/devices", tags=["Devices"], route_class=CheckedRoute)


class HeartbeatBody(Body):
    # checked by the application (at most 2 KB of JSON, nested at most 3 deep), which names the field
    status: dict[str, Any] = Field(default_factory=dict, examples=[{"temperature": 6, "coins": {"full": False}}])
    error: StrictStr | None = Field(default=None, max_length=MAX_ERROR_CHARS, description="its last error, if any")


def _heartbeat_doc() -> dict[str, Any]:
    """Authorization, and an Idempotency-Key accepted but not required: a repeated heartbeat only records again."""
    doc = terminal_doc()
    doc["parameters"].append(dict(IDEMPOTENCY_KEY_PARAMETER) | {"required": False, "schema": {"type": "string"}})
    return doc


@device_router.post(
    "/heartbeat",
    summary="The device is alive: its status and last error, recorded at the server's time",
    openapi_extra=_heartbeat_doc(),
)
async def heartbeat(body: HeartbeatBody, svc: Svc, ctx: Terminal) -> dict[str, Any]:
    return (await svc.device_status.heartbeat(ctx, body.status, body.error)).json()


@device_router.get(
    "/me",
    summary="The device's configuration: kind, outlet, prices, opening hours, limits, open now",
    openapi_extra=terminal_doc(),
)
async def me(svc: Svc, ctx: Terminal) -> dict[str, Any]:
    return await svc.device_status.me(ctx)
