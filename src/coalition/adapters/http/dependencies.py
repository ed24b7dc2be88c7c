"""Request-scoped helpers: the services, the caller's credentials and a request's idempotency fingerprint."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.responses import JSONResponse

from coalition.adapters.http.actors import act_for_request, key_fingerprint
from coalition.adapters.http.body_limits import NETWORK_ADMIN_STATE, TERMINAL_STATE, bearer_token
from coalition.adapters.http.schemas import MAX_RECORD_ID
from coalition.adapters.web.sessions import client_address
from coalition.application.admin import NetworkRef
from coalition.application.commands import fingerprint
from coalition.application.device_access import TillOperation
from coalition.application.ports import TerminalContext
from coalition.application.pos_results import CommandResult
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


def till_write(
    router: APIRouter, path: str, model: type[Any], summary: str, status_code: int = 200
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The decorator of a till's (or a device's) write: POST, its answer's model, Authorization and Idempotency-Key
    documented (the route depends on `pos_write`)."""
    return router.post(
        path, status_code=status_code, response_model=model, summary=summary, openapi_extra=pos_write_doc()
    )


class WrittenJSON(JSONResponse):
    """An answer whose JSON text is already written (compact UTF-8, the bytes JSONResponse would render)."""

    def render(self, content: Any) -> bytes:
        return str(content).encode()


def answer(result: CommandResult[Any]) -> JSONResponse:
    """A command's answer: the JSON written once from its typed result (pos_answers) and stored for replays, or
    the stored JSON of a replay; the route's `response_model` documents it. A purchase's JSON, written once as
    text for its idempotency record, is sent as that text."""
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    if result.body_json is not None:
        return WrittenJSON(result.body_json, status_code=result.status_code, headers=headers)
    return JSONResponse(result.body, status_code=result.status_code, headers=headers)


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
    """The request's terminal; a device's key (or a request the MQTT bridge forwards) is let through only to what
    the device may do now (application/device_access.py): the one place every terminal route passes."""
    svc: Services = request.app.state.services
    checked = request.scope.get("state", {}).get(TERMINAL_STATE)  # BodyLimits checked this request's key
    if isinstance(checked, TerminalContext):
        ctx = checked
    else:
        ctx = await svc.pos.authenticate(bearer_token(_header(request, b"authorization")))
    topic = _header(request, DEVICE_TOPIC_HEADER)
    if ctx.device_id is not None or topic is not None:  # a till's key: no further cost
        await svc.device_gate.check(ctx, till_operation(request), topic, _header(request, b"idempotency-key"))
    return ctx


# The header the MQTT bridge adds: the topic a request came on, `<network code>/<device id>` (docs/mqtt.md)
DEVICE_TOPIC_HEADER = b"coalition-device-topic"

# The writes of the till's routes, by route, as a device's key may make them (application/device_access.MAY_DO);
# any other write on a terminal route is OTHER (no device), a GET (and a quote) is a READ.
_WRITES: dict[str, TillOperation] = {
    "/v1/purchases": TillOperation.PURCHASE,
    "/v1/purchases/batch": TillOperation.PURCHASE,
    "/v1/purchases/quote": TillOperation.READ,  # prices a check, writes nothing
    "/v1/purchases/{purchase_id}/refunds": TillOperation.REFUND,
    "/v1/refunds/batch": TillOperation.REFUND,
    "/v1/wallets/top-ups": TillOperation.WALLET_TOP_UP,
    "/v1/visits": TillOperation.VISIT,
    "/v1/visits/{visit_id}/end": TillOperation.VISIT,
    "/v1/device-uses": TillOperation.DEVICE_USE,
    "/v1/gift-cards": TillOperation.GIFT_CARD_SALE,
    "/v1/members": TillOperation.ENROLMENT,
    "/v1/cards": TillOperation.CARD,
    "/v1/cards/{number}/replace": TillOperation.CARD,
    "/v1/cards/{number}/{action}": TillOperation.CARD,
    "/v1/gifts/{gift_id}/honour": TillOperation.GIFT,
}


def till_operation(request: Request) -> TillOperation:
    route = request.scope.get("route")
    path = getattr(route, "path", None) or request.url.path  # the route's template: ids left as named
    if path.startswith("/v1/devices/"):
        return TillOperation.DEVICE
    if request.method in ("GET", "HEAD"):
        return TillOperation.READ
    return _WRITES.get(path, TillOperation.OTHER)


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
    return await pos_write_of(request, None)


async def pos_write_of(request: Request, digest: str | None) -> PosWrite:
    """`pos_write`, given the request's fingerprint when the caller made it already (`body_hash`,
    usual_purchase.py), else None: the body is read from the request."""
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
    return PosWrite(svc, ctx, idempotency_key, await request_hash(request) if digest is None else digest)


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


def body_hash(operation: str, parsed: object) -> str:
    """`request_hash` of a request whose body's JSON the caller parsed: `operation` is its method and path."""
    return fingerprint(operation, _canonical(parsed))


def single_purchase_hash(item: dict[str, object]) -> str:
    """A batch item's fingerprint equals that of the same purchase sent alone to POST /v1/purchases."""
    body = {name: value for name, value in item.items() if name != "idempotency_key"}
    return fingerprint("POST /v1/purchases", _canonical(body))


def batch_refund_hash(item: dict[str, object]) -> str:
    """A refund item's fingerprint: one that names the server's purchase id equals that of the same refund sent
    alone to POST /v1/purchases/{id}/refunds (a till that tried it online first replays it); the others are the
    batch's own."""
    purchase_id = item.get("purchase_id")
    if isinstance(purchase_id, str) and "purchase_key" not in item and "purchase_receipt" not in item:
        body = {name: value for name, value in item.items() if name not in ("idempotency_key", "purchase_id")}
        return fingerprint(f"POST /v1/purchases/{purchase_id}/refunds", _canonical(body))
    body = {name: value for name, value in item.items() if name != "idempotency_key"}
    return fingerprint("POST /v1/refunds/batch", _canonical(body))


PathId = Annotated[int, Path(ge=1, le=MAX_RECORD_ID)]  # a record's number in a path: out of range is a 422
Svc = Annotated[Services, Depends(services)]
Terminal = Annotated[TerminalContext, Depends(terminal)]
NetworkAdmin = Annotated[NetworkRef, Depends(network_admin)]
PosWriteOf = Annotated[PosWrite, Depends(pos_write)]
