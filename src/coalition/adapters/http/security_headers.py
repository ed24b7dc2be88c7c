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

from starlette.datastructures import Headers, MutableHeaders

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


def _is_page(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PAGE_PREFIXES)


def over_tls(scope: Scope, trusted_proxy: Callable[[str], bool]) -> bool:
    if scope.get("scheme") in ("https", "wss"):
        return True
    client = scope.get("client")
    if client is None or not trusted_proxy(client[0]):
        return False
    forwarded = Headers(scope=scope).get("x-forwarded-proto", "")
    return forwarded.split(",")[0].strip().lower() == "https"  # the first proxy's word: the client's own scheme


class SecurityHeaders:
    def __init__(self, app: AsgiApp, trusted_proxy: Callable[[str], bool] = no_trusted_proxy) -> None:
        self.app = app
        self.trusted_proxy = trusted_proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        page = _is_page(scope["path"])
        tls = over_tls(scope, self.trusted_proxy)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in (SECURITY_HEADERS if page else EVERY_ANSWER).items():
                    headers.setdefault(name, value)
                policy = headers.get("content-security-policy")
                if policy is None:
                    headers["Content-Security-Policy"] = FRAME_ANCESTORS
                elif "frame-ancestors" not in policy:
                    headers["Content-Security-Policy"] = f"{policy.rstrip('; ')}; {FRAME_ANCESTORS}"
                if tls:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
