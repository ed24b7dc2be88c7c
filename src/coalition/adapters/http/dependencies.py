"""Request-scoped helpers: the services, the caller's credentials and a request's idempotency fingerprint."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Depends, Header, Request

from coalition.application.admin import NetworkRef
from coalition.application.ports import TerminalContext
from coalition.application.pos import fingerprint
from coalition.domain.errors import InvalidInput, Unauthorized
from coalition.wiring import Services

# Dependencies are `async def` on purpose: FastAPI runs plain `def` dependencies in a thread pool.


async def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def bearer(authorization: Annotated[str | None, Header()] = None) -> str | None:
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("use 'Authorization: Bearer <key>'")
    return token.strip()


async def terminal(
    svc: Annotated[Services, Depends(services)], key: Annotated[str | None, Depends(bearer)]
) -> TerminalContext:
    return await svc.pos.authenticate(key)


async def network_admin(
    svc: Annotated[Services, Depends(services)], key: Annotated[str | None, Depends(bearer)]
) -> NetworkRef:
    return await svc.admin.authenticate(key)


def _canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


async def request_hash(request: Request) -> str:
    """Method, path and the body's JSON in canonical form: whitespace and key order do not change a request."""
    raw = await request.body()
    try:
        canonical = _canonical(json.loads(raw)) if raw else b""
    except ValueError:
        raise InvalidInput("the body is not valid JSON", field="body") from None
    return fingerprint(f"{request.method} {request.url.path}", canonical)


def single_purchase_hash(item: dict[str, object]) -> str:
    """A batch item's fingerprint equals that of the same purchase sent alone to POST /v1/purchases."""
    body = {name: value for name, value in item.items() if name != "idempotency_key"}
    return fingerprint("POST /v1/purchases", _canonical(body))


Svc = Annotated[Services, Depends(services)]
Terminal = Annotated[TerminalContext, Depends(terminal)]
NetworkAdmin = Annotated[NetworkRef, Depends(network_admin)]
RequestHash = Annotated[str, Depends(request_hash)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
