"""Security headers on every answer (API, pages, static files, errors), as pure ASGI middleware: the answer's
headers are amended as they pass, without reading or copying the body.

- `X-Content-Type-Options: nosniff`, `Referrer-Policy`, `X-Frame-Options: DENY` everywhere;
- `Content-Security-Policy`: the pages' own policy (web/setup.py) on pages; elsewhere `frame-ancestors 'none'`,
  added to a policy an answer already carries;
- `Strict-Transport-Security` only when the request came over TLS: the scheme is https, or a proxy the operator
  trusts says `X-Forwarded-Proto: https` (a header anyone else could send is not taken).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.datastructures import Headers

from coalition.adapters.web.setup import PAGE_PREFIXES, SECURITY_HEADERS

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HSTS = "max-age=31536000"
FRAME_ANCESTORS = "frame-ancestors 'none'"
EVERY_ANSWER = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"}


def no_trusted_proxy(_address: str) -> bool:
    """The default until the operator names proxies (COALITION_TRUSTED_PROXIES, the rate-limits slice's setting)."""
    return False


_PAGE_PATHS = frozenset(PAGE_PREFIXES)
_PAGE_STARTS = tuple(prefix + "/" for prefix in PAGE_PREFIXES)


def _is_page(path: str) -> bool:
    # one set look-up and one startswith per answer (a generator over the prefixes was ~5 % of a purchase's HTTP side)
    return path in _PAGE_PATHS or path.startswith(_PAGE_STARTS)


def over_tls(scope: Scope, trusted_proxy: Callable[[str], bool]) -> bool:
    if scope.get("scheme") in ("https", "wss"):
        return True
    client = scope.get("client")
    if client is None or not trusted_proxy(client[0]):
        return False
    forwarded = Headers(scope=scope).get("x-forwarded-proto", "")
    return forwarded.split(",")[0].strip().lower() == "https"  # the first proxy's word: the client's own scheme


def _raw(headers: dict[str, str]) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items())


_PAGE_HEADERS = _raw(SECURITY_HEADERS)
_API_HEADERS = _raw({**EVERY_ANSWER, "Content-Security-Policy": FRAME_ANCESTORS})
_HSTS = (b"strict-transport-security", HSTS.encode())
_CSP = b"content-security-policy"


class SecurityHeaders:
    def __init__(self, app: AsgiApp, trusted_proxy: Callable[[str], bool] = no_trusted_proxy) -> None:
        self.app = app
        self.trusted_proxy = trusted_proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        defaults = _PAGE_HEADERS if _is_page(scope["path"]) else _API_HEADERS
        if over_tls(scope, self.trusted_proxy):
            defaults = (*defaults, _HSTS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # raw (name, value) pairs: one pass, no header object per answer (this runs on every purchase)
                headers = list(message.get("headers", ()))
                present = {name.lower(): index for index, (name, _) in enumerate(headers)}
                for name, value in defaults:
                    if name not in present:
                        headers.append((name, value))
                    elif name == _CSP:  # the answer's own policy, with frame-ancestors added when it has none
                        policy = bytes(headers[present[name]][1])
                        if b"frame-ancestors" not in policy:
                            headers[present[name]] = (name, policy.rstrip(b"; ") + b"; " + FRAME_ANCESTORS.encode())
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
