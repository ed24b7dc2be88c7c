"""Rate limits on every request, as pure ASGI middleware (Starlette's BaseHTTPMiddleware is too slow for the POS).

Each request takes a token from its address's bucket, then from its credential's: the terminal key (the POS API
under /v1), the admin key (/v1/admin), or the session cookie of /terminal, /console or /me. An empty bucket answers
429 problem+json with Retry-After in seconds before the application runs (nothing is read, nothing written). The
figures are settings (COALITION_RATE_LIMIT_*; README "Rate limits"); the buckets live in this process's memory.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from coalition.adapters.http.problems import PROBLEM_TYPE_BASE
from coalition.application.rate_limits import (
    ProxyNetwork,
    TokenBuckets,
    client_address_of,
    parse_rate,
    parse_trusted_proxies,
    retry_after_seconds,
)
from coalition.domain.errors import RateLimited
from coalition.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# the page areas and their session cookies (adapters/web/sessions.py AREAS)
_SESSION_COOKIES = (("/terminal", "coalition_terminal"), ("/console", "coalition_console"), ("/me", "coalition_me"))


@dataclass(frozen=True, slots=True)
class Limits:
    """One process's buckets; None where the setting is 'off'."""

    address: TokenBuckets | None
    terminal_key: TokenBuckets | None
    admin_key: TokenBuckets | None
    session: TokenBuckets | None
    proxies: tuple[ProxyNetwork, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        def buckets(text: str, name: str) -> TokenBuckets | None:
            rate = parse_rate(text, name)
            return None if rate is None else TokenBuckets(rate)

        return cls(
            address=buckets(settings.rate_limit_address, "COALITION_RATE_LIMIT_ADDRESS"),
            terminal_key=buckets(settings.rate_limit_terminal_key, "COALITION_RATE_LIMIT_TERMINAL_KEY"),
            admin_key=buckets(settings.rate_limit_admin_key, "COALITION_RATE_LIMIT_ADMIN_KEY"),
            session=buckets(settings.rate_limit_session, "COALITION_RATE_LIMIT_SESSION"),
            proxies=parse_trusted_proxies(settings.trusted_proxies),
        )


class RateLimitMiddleware:
    def __init__(self, app: AsgiApp) -> None:
        self.app = app
        self.limits: Limits | None = None  # from the services' settings, at the first request
        self.clock = time.monotonic

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limits = self.limits or self._limits(scope)
        refusal = self._refusal(limits, scope, self.clock())
        if refusal is None:
            await self.app(scope, receive, send)
            return
        what, wait_seconds = refusal
        await _too_many(send, what, retry_after_seconds(wait_seconds))

    def _limits(self, scope: Scope) -> Limits:
        self.limits = Limits.from_settings(scope["app"].state.services.settings)
        return self.limits

    @staticmethod
    def _refusal(limits: Limits, scope: Scope, now: float) -> tuple[str, float] | None:
        """What refused the request and the seconds to wait, or None when it may go on."""
        path: str = scope["path"]
        authorization = cookie = forwarded_for = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"cookie":
                cookie = value
            elif name == b"x-forwarded-for":
                forwarded_for = value
        if limits.address is not None:
            client = scope.get("client")
            peer = client[0] if client else None
            forwarded = forwarded_for.decode("latin-1") if forwarded_for is not None and limits.proxies else None
            wait = limits.address.take(client_address_of(peer, forwarded, limits.proxies), now)
            if wait:
                return "from this address", wait
        if path.startswith("/v1/"):
            if authorization is None:
                return None
            if path.startswith("/v1/admin"):
                buckets, what = limits.admin_key, "with this admin key"
            else:
                buckets, what = limits.terminal_key, "with this terminal key"
            if buckets is not None:
                wait = buckets.take(authorization, now)
                if wait:
                    return what, wait
            return None
        if cookie is not None and limits.session is not None:
            for prefix, cookie_name in _SESSION_COOKIES:
                if path.startswith(prefix):
                    token = _cookie(cookie, cookie_name)
                    if token is not None:
                        wait = limits.session.take((prefix, token), now)
                        if wait:
                            return "in this session", wait
                    break
        return None


def _cookie(header: bytes, name: str) -> bytes | None:
    wanted = name.encode() + b"="
    for part in header.split(b";"):
        part = part.strip()
        if part.startswith(wanted):
            return part[len(wanted) :]
    return None


async def _too_many(send: Send, what: str, retry_after: int) -> None:
    body = json.dumps(
        {
            "type": PROBLEM_TYPE_BASE + RateLimited.code,
            "title": RateLimited.title,
            "status": 429,
            "detail": f"too many requests {what}; try again in {retry_after} s",
        }
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
