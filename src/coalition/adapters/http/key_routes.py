"""The key life cycle over HTTP: rotate the admin key and terminal keys with a grace period, set their expiry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt

from coalition.adapters.http.actors import act_for_request, key_fingerprint
from coalition.adapters.http.admin_answers import AdminKeyExpiryAnswer, TerminalKeyExpiryAnswer
from coalition.adapters.http.body_limits import is_operator
from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import PathId, Svc, bearer
from coalition.adapters.web.sessions import client_address
from coalition.application.admin import NetworkRef
from coalition.application.key_life import MAX_GRACE_SECONDS, OPERATOR, KeyCaller
from coalition.domain.errors import Unauthorized

router = APIRouter(prefix="/v1/admin", tags=["Admin"], route_class=CheckedRoute)


async def key_caller(request: Request, svc: Svc, key: Annotated[str | None, Depends(bearer)]) -> KeyCaller:
    """The operator (its token) or a network's administrator (an admin key, checked for expiry and grace)."""
    if key is not None and is_operator(svc.settings.operator_token, key):
        act_for_request(request, client_address(request), "operator", key_fingerprint(key))
        return OPERATOR
    return await admin_key_caller(request, svc, key)


async def admin_key_caller(request: Request, svc: Svc, key: Annotated[str | None, Depends(bearer)]) -> KeyCaller:
    caller = await svc.admin.admin_caller(key)
    if key is not None:  # admin_caller refuses a missing key
        act_for_request(request, client_address(request), "admin_key", key_fingerprint(key))
    return caller


Caller = Annotated[KeyCaller, Depends(key_caller)]
Administrator = Annotated[KeyCaller, Depends(admin_key_caller)]
NetworkCode = Annotated[str, Path(min_length=1, max_length=63, description="the network's code")]


class RotateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grace_seconds: StrictInt = Field(
        ge=0,
        le=MAX_GRACE_SECONDS,
        description="how long the old key keeps working, in seconds: 0 (refused at once) to 2592000 (30 days)",
        examples=[86400],
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="when the new key expires (with its time zone); never if omitted"
    )


class ExpiryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expires_at: AwareDatetime | None = Field(description="when the key expires (with its time zone); null: never")


@router.post(
    "/networks/{network}/admin-key/rotate",
    summary="Rotate the network's admin key (admin key or operator token): the new key is shown once; the old one "
    "works until the grace period ends",
)
async def rotate_admin_key(
    network: NetworkCode,
    body: RotateBody,
    svc: Svc,
    caller: Caller,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=200,
            description="optional; a retry with the same key may be sent with the admin key this rotation replaced "
            "(its answer, the only copy of the new key, may have been lost): it issues another new key",
        ),
    ] = None,
) -> dict[str, Any]:
    rotated = await svc.keys.rotate_admin_key(caller, network, body.grace_seconds, body.expires_at, idempotency_key)
    return rotated.json()


@router.get(
    "/networks/{network}/admin-key/expiry",
    summary="When the network's current admin key expires (admin key or operator token)",
    response_model=AdminKeyExpiryAnswer,
)
async def admin_key_expiry(network: NetworkCode, svc: Svc, caller: Caller) -> dict[str, Any]:
    return await svc.keys.admin_key_expiry(caller, network)


@router.put(
    "/networks/{network}/admin-key/expiry",
    summary="Set when the network's current admin key expires, or null for never (admin key or operator token)",
)
async def set_admin_key_expiry(network: NetworkCode, body: ExpiryBody, svc: Svc, caller: Caller) -> dict[str, Any]:
    return await svc.keys.set_admin_key_expiry(caller, network, body.expires_at)


@router.post(
    "/terminals/{terminal_id}/key/rotate",
    summary="Give a terminal a new key (shown once); the old key serves on until the grace period ends",
)
async def rotate_terminal_key(terminal_id: PathId, body: RotateBody, svc: Svc, caller: Administrator) -> dict[str, Any]:
    rotated = await svc.keys.rotate_terminal_key(
        caller, _network(caller), terminal_id, body.grace_seconds, body.expires_at
    )
    return rotated.json()


@router.get(
    "/terminals/{terminal_id}/key/expiry",
    summary="When a terminal's current key expires",
    response_model=TerminalKeyExpiryAnswer,
)
async def terminal_key_expiry(terminal_id: PathId, svc: Svc, caller: Administrator) -> dict[str, Any]:
    return await svc.keys.terminal_key_expiry(caller, _network(caller), terminal_id)


@router.put("/terminals/{terminal_id}/key/expiry", summary="Set when a terminal's key expires, or null for never")
async def set_terminal_key_expiry(
    terminal_id: PathId, body: ExpiryBody, svc: Svc, caller: Administrator
) -> dict[str, Any]:
    return await svc.keys.set_terminal_key_expiry(caller, _network(caller), terminal_id, body.expires_at)


@router.delete(
    "/terminals/{terminal_id}/key/previous",
    summary="End the grace period of a terminal's replaced keys now (once the till uses its new key)",
)
async def end_previous_terminal_keys(terminal_id: PathId, svc: Svc, caller: Administrator) -> dict[str, Any]:
    return await svc.keys.end_previous_terminal_keys(caller, _network(caller), terminal_id)


def _network(caller: KeyCaller) -> NetworkRef:
    if caller.network is None:  # unreachable: an admin key always belongs to a network
        raise Unauthorized("send the network's admin key")
    return caller.network
