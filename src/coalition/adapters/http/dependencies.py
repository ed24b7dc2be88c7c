"""Request-scoped helpers: the services, the caller's credentials and a request's idempotency fingerprint."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request

from coalition.adapters.http.actors import act_for_request, key_fingerprint
from coalition.adapters.http.body_limits import NETWORK_ADMIN_STATE, TERMINAL_STATE, bearer_token
from coalition.adapters.http.schemas import MAX_RECORD_ID
from coalition.adapters.web.sessions import client_address
from coalition.application.admin import NetworkRef
from coalition.application.commands import fingerprint
from coalition.application.ports import TerminalContext
from coalition.domain.errors import InvalidInput
from coalition.wiring import Services

# Dependencies are `async def` on purpose: FastAPI runs plain `def` dependencies in a thread pool. The POS routes use
# one dependency each (`terminal` or `pos_write`) rather than a tree of small ones: FastAPI resolves every dependency
# on every request, and on the purchase path that resolving cost about a tenth of a worker's CPU.


async def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def bearer(authorization: Annotated[str | None, Header()] = None) -> str | None:
    return bearer_token(authorization)


# The POS routes read their two headers from the request themselves: FastAPI's resolution of declared `Header()`
# parameters (aliases, annotations inspected per request) cost more than the rest of the dependency. The OpenAPI
# document still declares them, through each route's `openapi_extra` (TERMINAL_DOC, POS_WRITE_DOC below).
AUTHORIZATION_PARAMETER: dict[str, Any] = {
    "name": "authorization",
    "in": "header",
    "required": False,
    "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Authorization"},
}
MAX_IDEMPOTENCY_KEY = 200
# openapi.amend marks it required, with its length and description, on every till write
IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {"name": "Idempotency-Key", "in": "header", "required": False}


def terminal_doc() -> dict[str, Any]:
    """A route's `openapi_extra` when it depends on `terminal`: its Authorization header."""
    return {"parameters": [copy.deepcopy(AUTHORIZATION_PARAMETER)]}


def pos_write_doc() -> dict[str, Any]:
    """A route's `openapi_extra` when it depends on `pos_write`: Authorization and Idempotency-Key."""
    return {"parameters": [copy.deepcopy(AUTHORIZATION_PARAMETER), copy.deepcopy(IDEMPOTENCY_KEY_PARAMETER)]}


def _header(request: Request, name: bytes) -> str | None:
    """The first value of a header (`name` in lower case, as ASGI gives them)."""
    for key, value in request.scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def terminal(request: Request) -> TerminalContext:
    """The terminal of the request's key (header Authorization: Bearer ...)."""
    return await _terminal_of(request)


async def _terminal_of(request: Request) -> TerminalContext:
    checked = request.scope.get("state", {}).get(TERMINAL_STATE)  # BodyLimits checked this request's key
    if isinstance(checked, TerminalContext):
        return checked
    svc: Services = request.app.state.services
    return await svc.pos.authenticate(bearer_token(_header(request, b"authorization")))


@dataclass(frozen=True, slots=True)
class PosWrite:
    """What every write of a till needs besides its body: the services, the terminal, the idempotency key and the
    request's fingerprint (a retry with the same key must carry the same request)."""

    svc: Services
    ctx: TerminalContext
    key: str | None
    fingerprint: str


async def pos_write(request: Request) -> PosWrite:
    """Headers Authorization and Idempotency-Key (see pos_write_doc)."""
    idempotency_key = _header(request, b"idempotency-key")
    if idempotency_key is not None and len(idempotency_key) > MAX_IDEMPOTENCY_KEY:  # checked before the key, as
        # a declared header's length was
        raise InvalidInput(
            f"Idempotency-Key: String should have at most {MAX_IDEMPOTENCY_KEY} characters", field="Idempotency-Key"
        )
    svc: Services = request.app.state.services
    ctx = await _terminal_of(request)
    if idempotency_key is None:  # required (the OpenAPI document says so): refused before the body is looked at
        raise InvalidInput("Idempotency-Key is required", field="Idempotency-Key")
    return PosWrite(svc, ctx, idempotency_key, await request_hash(request))


async def network_admin(
    request: Request, svc: Annotated[Services, Depends(services)], key: Annotated[str | None, Depends(bearer)]
) -> NetworkRef:
    checked = request.scope.get("state", {}).get(NETWORK_ADMIN_STATE)  # BodyLimits checked this request's key
    network = checked if isinstance(checked, NetworkRef) else await svc.admin.authenticate(key)
    if key is not None:  # authenticate refuses a missing key
        act_for_request(request, client_address(request), "admin_key", key_fingerprint(key))
    return network


# json.dumps(value, sort_keys=True, separators=(",", ":")) with its encoder made once (json.dumps makes one per call
# when given any option)
_canonical_json = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode


def _canonical(value: object) -> bytes:
    return _canonical_json(value).encode()


async def request_hash(request: Request) -> str:
    """Method, path and the body's JSON in canonical form: whitespace and key order do not change a request."""
    raw = await request.body()
    try:
        # request.json() returns what FastAPI parsed for the body, when it did: the body is not parsed twice
        canonical = _canonical(await request.json()) if raw else b""
    except ValueError:
        raise InvalidInput("the body is not valid JSON", field="body") from None
    return fingerprint(f"{request.method} {request.url.path}", canonical)


def single_purchase_hash(item: dict[str, object]) -> str:
    """A batch item's fingerprint equals that of the same purchase sent alone to POST /v1/purchases."""
    body = {name: value for name, value in item.items() if name != "idempotency_key"}
    return fingerprint("POST /v1/purchases", _canonical(body))


PathId = Annotated[int, Path(ge=1, le=MAX_RECORD_ID)]  # a record's number in a path: out of range is a 422
Svc = Annotated[Services, Depends(services)]
Terminal = Annotated[TerminalContext, Depends(terminal)]
NetworkAdmin = Annotated[NetworkRef, Depends(network_admin)]
PosWriteOf = Annotated[PosWrite, Depends(pos_write)]
