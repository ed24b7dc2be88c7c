"""POST /v1/purchases, the hot route: a request of the usual shape goes straight to the service.

FastAPI's side of a purchase (the request handler, the resolution of the dependency and of the body parameter, the
exit stacks) was measured at about two thirds of the application's own CPU (docs/benchmarks.md). A till's
purchase nearly always has the same shape: a JSON body that parses and validates, no query string, an
Idempotency-Key, no byte that could be a control character. Such a request is judged here with the same pieces the
route uses (`PurchaseBody`, `pos_write`, the route's own function) and gives the same answer; any other request — a
malformed or invalid body, another content type, a missing or suspect key, a query string — goes the checked way
through FastAPI (`CheckedRoute`), which words every refusal. So nothing a client can see depends on which way it
went (tests/http/test_usual_purchase.py).

Two places serve the usual request: `UsualPurchaseLane` sits where the router sits in the middleware stack (inside
every middleware and FastAPI's exception handlers) and takes it before the router matches ~70 routes (FastAPI's
route matching and its per-route wrappers cost about half of the HTTP side of a purchase, docs/benchmarks.md
2026-12-07); `PurchaseRoute` serves it when it reaches the route anyway (telemetry on, a root path).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, MutableMapping
from typing import Any

import orjson
from fastapi import Request, Response
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import body_hash, pos_write, pos_write_of
from coalition.adapters.http.schemas import PurchaseBody
from coalition.domain.input_text import has_control_character, may_hold_control_characters

PATH = "/v1/purchases"
OPERATION = f"POST {PATH}"  # the fingerprint's method and path, as request_hash writes them


def _valid_body(parsed: object) -> PurchaseBody | None:
    """The body as FastAPI would validate it, or None when it would refuse it (the checked way words why)."""
    if not isinstance(parsed, dict):
        return None
    try:
        return PurchaseBody.model_validate(parsed)
    except ValidationError:
        return None


def _header(scope: Mapping[str, Any], name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def usual_headers(scope: Mapping[str, Any]) -> bool:
    """No query string, an Idempotency-Key without a control character, and a body said to be plain JSON."""
    key = _header(scope, b"idempotency-key")
    return not (
        scope.get("query_string")
        or key is None
        or _header(scope, b"content-type") != b"application/json"
        or has_control_character(key.decode("latin-1"))
    )


def usual_body(raw: bytes) -> tuple[PurchaseBody, dict[str, Any]] | None:
    """The validated body and the parsed JSON, or None when the checked way must judge it."""
    if not raw or may_hold_control_characters(raw):
        return None
    try:
        # orjson takes a subset of what the standard library takes (RFC 8259, UTF-8, 64-bit integers) and gives the
        # same values; whatever it refuses goes the checked way, which parses as Starlette does (json.loads)
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    body = _valid_body(parsed)
    return None if body is None else (body, parsed)


class PurchaseRoute(CheckedRoute):
    """The checked route of POST /v1/purchases, with the usual request served without FastAPI's resolution."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        checked = super().get_route_handler()
        endpoint = self.endpoint  # pos_routes.purchase(body, w): the route's own code, whichever way

        async def handler(request: Request) -> Response:
            if not usual_headers(request.scope):
                return await checked(request)
            raw = await request.body()
            if not raw or may_hold_control_characters(raw):
                return await checked(request)
            try:
                parsed = await request.json()  # kept by the request: the checked way and the fingerprint reuse it
            except ValueError:
                return await checked(request)
            body = _valid_body(parsed)
            if body is None:
                return await checked(request)
            response: Response = await endpoint(body, await pos_write(request))
            return response

        return handler


def _replayed(messages: list[Message], receive: Receive) -> Receive:
    """`receive` with the messages already taken from it given again first (the router's way reads them)."""
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


class UsualPurchaseLane:
    """In the router's place: the usual POST /v1/purchases goes to the route's own function without the router's
    matching and FastAPI's per-route wrappers, with the scope the router would have set; everything else goes to
    the router. Errors rise to FastAPI's exception middleware, whose handlers answer them as the route's would."""

    def __init__(self, router: ASGIApp, route: PurchaseRoute) -> None:
        self.router = router
        self.route = route
        self.endpoint = route.endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != PATH
            or scope["method"] != "POST"
            or scope.get("root_path")
            or "fastapi.telemetry" in scope  # FastAPI's own telemetry names the route as the router selects it
            or not usual_headers(scope)
        ):
            await self.router(scope, receive, send)
            return
        messages: list[Message] = []
        chunks: list[bytes] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":  # a disconnect: the router's way says what it says
                await self.router(scope, _replayed(messages, receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        judged = usual_body(b"".join(chunks))
        if judged is None:
            await self.router(scope, _replayed(messages, receive), send)
            return
        body, parsed = judged
        _selected(scope, self)
        request = Request(scope, _replayed(messages, receive), send)
        response: Response = await self.endpoint(body, await pos_write_of(request, body_hash(OPERATION, parsed)))
        await response(scope, receive, send)


def _selected(scope: MutableMapping[str, Any], lane: UsualPurchaseLane) -> None:
    """What the router puts in the scope when it picks the route."""
    scope.setdefault("router", lane.router)
    scope["endpoint"] = lane.endpoint
    scope["path_params"] = {}
    scope["route"] = lane.route


def install_lane(stack: ASGIApp, router: ASGIApp, route: PurchaseRoute) -> bool:
    """Put the lane in the router's place at the bottom of a built middleware stack; False when no layer holds the
    router (the route then serves the usual request itself)."""
    layer: Any = stack
    while layer is not None:
        inner = getattr(layer, "app", None)
        if inner is router:
            layer.app = UsualPurchaseLane(router, route)
            return True
        layer = inner
    return False
