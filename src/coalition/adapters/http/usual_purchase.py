"""POST /v1/purchases, the hot route: a request of the usual shape goes straight to the service.

FastAPI's side of a purchase (the request handler, the resolution of the dependency and of the body parameter, the
exit stacks) was measured at about two thirds of the application's own CPU (docs/benchmarks.md). A till's
purchase nearly always has the same shape: a JSON body that parses and validates, no query string, an
Idempotency-Key, no byte that could be a control character. Such a request is judged here with the same pieces the
route uses (`PurchaseBody`, `pos_write`, the route's own function) and gives the same answer; any other request — a
malformed or invalid body, another content type, a missing or suspect key, a query string — goes the checked way
through FastAPI (`CheckedRoute`), which words every refusal. So nothing a client can see depends on which way it
went (tests/http/test_usual_purchase.py).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import Request, Response
from pydantic import ValidationError

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import pos_write
from coalition.adapters.http.schemas import PurchaseBody
from coalition.domain.input_text import has_control_character, may_hold_control_characters


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


class PurchaseRoute(CheckedRoute):
    """The checked route of POST /v1/purchases, with the usual request served without FastAPI's resolution."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        checked = super().get_route_handler()
        endpoint = self.endpoint  # pos_routes.purchase(body, w): the route's own code, whichever way

        async def handler(request: Request) -> Response:
            scope = request.scope
            key = _header(scope, b"idempotency-key")
            if (
                scope.get("query_string")
                or key is None
                or _header(scope, b"content-type") != b"application/json"
                or has_control_character(key.decode("latin-1"))
            ):
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
