"""Request bodies capped per route while they stream in, and the key checked before a body is read (issue 12,
hole 12).

A pure ASGI middleware (no BaseHTTPMiddleware, which costs every request a task and a copy). Before the application
sees a request it
- refuses a key-protected API route (/v1/...) whose Bearer key is missing or unknown, with the 401 the route would
  give, without reading the body: the key is checked through the same cached authentication the routes use;
- refuses a Content-Length above the route's cap with a 413;
and while the application reads the body it counts the bytes, and past the cap answers 413 at once and stops
reading: a missing or lying Content-Length gets no further.
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coalition.adapters.http.problems import domain_problem, problem, unavailable_problem
from coalition.adapters.storage.outage import OUTAGE_ERROR_KINDS, unavailable
from coalition.domain.errors import DomainError, Forbidden, Unauthorized

KIBIBYTE = 1024
MEBIBYTE = 1024 * KIBIBYTE
DEFAULT_MAX_BODY_BYTES = 64 * KIBIBYTE  # a POS write, an admin change, a form
# (method, path prefix, cap): the first match wins; everything else gets the default.
BODY_CAPS: tuple[tuple[str, str, int], ...] = (
    ("POST", "/v1/purchases/batch", 8 * MEBIBYTE),  # up to 1000 purchases
    ("POST", "/v1/refunds/batch", 2 * MEBIBYTE),  # up to 1000 refunds
    ("POST", "/v1/devices/offline-uses", MEBIBYTE),  # up to 500 uses of a device's offline day
    ("PUT", "/v1/admin/rule-sets/draft", 2 * MEBIBYTE),  # a rule-set document (JSON or YAML)
    ("POST", "/v1/admin/rule-sets/explain", 2 * MEBIBYTE),
    ("POST", "/v1/admin/coupons", 2 * MEBIBYTE),  # up to 10,000 codes
    ("PUT", "/v1/admin/permissions", 4 * MEBIBYTE),  # up to 10,000 matrix entries
    ("POST", "/console/rules", 8 * MEBIBYTE),
    # a members file (docs/files.md): the import's own limit (COALITION_IMPORT_MAX_BYTES, 20 MiB) answers a 413
    # naming the file; this cap, a little above it for the multipart envelope, stops anything far larger
    ("POST", "/v1/admin/imports/", 21 * MEBIBYTE),
    ("POST", "/console/imports/", 21 * MEBIBYTE),  # the draft in a form field, URL-encoded (up to 3 bytes a character)
)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# where the checked key's network (admin key) or terminal (terminal key) waits for the route's dependency
NETWORK_ADMIN_STATE = "network_admin"
TERMINAL_STATE = "terminal"


# BODY_CAPS by method, in their order: a request looks only at its method's prefixes
_CAPS_BY_METHOD: dict[str, tuple[tuple[str, int], ...]] = {
    method: tuple((prefix, cap) for cap_method, prefix, cap in BODY_CAPS if cap_method == method)
    for method in {cap_method for cap_method, _, _ in BODY_CAPS}
}


def max_body_bytes(method: str, path: str) -> int:
    for prefix, cap in _CAPS_BY_METHOD.get(method, ()):
        if path.startswith(prefix):
            return cap
    return DEFAULT_MAX_BODY_BYTES


def too_large(max_bytes: int) -> JSONResponse:
    return problem(
        413, "body-too-large", "The request body is too large", f"this route takes at most {max_bytes} bytes", "body"
    )


class _BodyTooLarge(Exception):
    pass


class BodyLimits:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        authorization = content_length = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-length":
                content_length = value
        if path.startswith("/v1/"):
            try:
                await _check_key(scope, path, authorization)
            except DomainError as error:
                await domain_problem(error)(scope, receive, send)
                return
            except OUTAGE_ERROR_KINDS as error:  # outside the app's exception handlers: answered here
                if not unavailable(error):
                    raise
                await unavailable_problem()(scope, receive, send)
                return
        max_bytes = max_body_bytes(method, path)
        if content_length is not None and (not content_length.isdigit() or int(content_length) > max_bytes):
            await too_large(max_bytes)(scope, receive, send)
            return
        received_bytes = 0
        refused = False

        async def counted_receive() -> Message:
            nonlocal received_bytes, refused
            message = await receive()
            if message["type"] == "http.request":
                received_bytes += len(message.get("body", b""))
                if received_bytes > max_bytes:
                    if not refused:
                        refused = True
                        await too_large(max_bytes)(scope, receive, send)
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:  # once the 413 is out, what the application answers to the broken read is dropped
                await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except _BodyTooLarge:
            if not refused:
                raise


async def _check_key(scope: Scope, path: str, authorization: str | None) -> None:
    """The key a /v1 route needs: the operator token to create networks, a network's admin key under /v1/admin,
    a terminal key elsewhere. Raises the route's own 401 (or 403)."""
    services: Any = scope["app"].state.services
    key = bearer_token(authorization)
    if path.rstrip("/") == "/v1/admin/networks":
        require_operator(services.settings.operator_token, key)
    elif path.startswith("/v1/admin/networks/") and is_operator(services.settings.operator_token, key):
        return  # the operator changes any network's admin key (adapters/http/key_routes.py checks the rest)
    elif path.startswith("/v1/admin/"):
        scope.setdefault("state", {})[NETWORK_ADMIN_STATE] = await services.admin.authenticate(key)
    else:
        scope.setdefault("state", {})[TERMINAL_STATE] = await services.pos.authenticate(key)


def bearer_token(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("use 'Authorization: Bearer <key>'")
    return token.strip()


def is_operator(expected: str | None, key: str | None) -> bool:
    """The key is the operator token (compared as bytes: a str compare refuses non-ASCII with a TypeError)."""
    return key is not None and expected is not None and hmac.compare_digest(key.encode(), expected.encode())


def require_operator(expected: str | None, key: str | None) -> str:
    if expected is None:
        raise Forbidden(
            "creating networks over HTTP is off: set COALITION_OPERATOR_TOKEN, or use `coalition network create`"
        )
    if key is None or not is_operator(expected, key):
        raise Unauthorized("this operator token is wrong")
    return key
