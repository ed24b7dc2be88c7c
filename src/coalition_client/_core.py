"""What the sync and async clients share: building a call, reading its answer, and when to try again."""

from __future__ import annotations

import dataclasses
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar, cast
from urllib.parse import quote

import httpx

from coalition_client.errors import problem_for
from coalition_client.routes import Route
from coalition_client.wire import from_json, to_json

A = TypeVar("A")
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Failures where the server may not have seen the call, or saw it and its answer was lost: both are safe to repeat
# only with the same Idempotency-Key (or on a call that changes nothing).
RETRY_ERRORS: tuple[type[Exception], ...] = (httpx.TransportError,)


@dataclass(frozen=True)
class Retries:
    """Exponential backoff with full jitter: attempt n waits a random time up to base·2ⁿ, at most `cap`; a
    Retry-After from the server is honoured (up to `cap`) instead."""

    attempts: int = 4  # tries in all, the first included
    base_seconds: float = 0.2
    cap_seconds: float = 10.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.cap_seconds)
        return random.uniform(0, min(self.cap_seconds, self.base_seconds * 2**attempt))


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return (when - datetime.now(UTC)).total_seconds()


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    headers: dict[str, str]
    json: Any
    params: dict[str, str]


def prepare(
    route: Route[Any],
    body: Any = None,
    path: dict[str, Any] | None = None,
    query: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
    if_match: str | None = None,
) -> Call:
    url = route.path.format(**{name: quote(str(value), safe="") for name, value in (path or {}).items()})
    headers: dict[str, str] = {}
    if route.idempotency_key:
        # One key per call, kept across its retries: the server answers a repeat with the first answer.
        headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
    if if_match is not None:
        # the version (ETag) the edit was made on: a resource changed since is a 412, PreconditionFailed
        headers["If-Match"] = if_match
        if route.path.startswith("/v1/admin/"):
            # a guarded edit retried after a lost answer would meet its own change (412): with a key, kept across
            # the retries, the server replays the first answer instead (every admin write takes one)
            headers.setdefault("Idempotency-Key", idempotency_key or str(uuid.uuid4()))
    payload = None
    if body is not None:
        payload = to_json(body) if dataclasses.is_dataclass(body) else body
    elif route.method in ("POST", "PUT", "PATCH"):
        payload = {}
    params = {name: str(value) for name, value in (query or {}).items() if value is not None}
    return Call(route.method, url, headers, payload, params)


def should_retry(route: Route[Any], response: httpx.Response | None, attempt: int, attempts: int) -> bool:
    if attempt + 1 >= attempts or not route.retryable:
        return False
    return response is None or response.status_code in RETRY_STATUSES


def read(route: Route[A], response: httpx.Response) -> A:
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = {"title": response.reason_phrase, "detail": response.text[:500]}
        if not isinstance(body, dict):
            body = {"detail": body}
        raise problem_for(response.status_code, body, retry_after_seconds(response))
    data = response.json() if response.content else {}
    if route.answer is dict:
        return cast(A, data)
    return from_json(route.answer, data)


def auth_headers(api_key: str | None, user_agent: str) -> dict[str, str]:
    headers = {"User-Agent": user_agent, "Accept": "application/json, application/problem+json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def page_items(page: Any, items: str) -> list[Any]:
    """A page's items, from a JSON object or a model (a list answers `{items: [...], "next_cursor": ...}`)."""
    found = page.get(items) if isinstance(page, dict) else getattr(page, items)
    return list(found or [])


def page_cursor(page: Any) -> str | None:
    """The next page's cursor; None on the last page."""
    cursor = page.get("next_cursor") if isinstance(page, dict) else getattr(page, "next_cursor", None)
    return cursor if isinstance(cursor, str) and cursor else None


class Calls:
    """What the sync client's groups of named calls stand on: its `call` (the client's own replaces this one)."""

    def call(
        self,
        route: Route[A],
        body: Any = None,
        *,
        path: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        if_match: str | None = None,
    ) -> A:
        raise NotImplementedError  # the client's own


class AsyncCalls:
    """What the async client's groups of named calls stand on: its `call` (the client's own replaces this one)."""

    async def call(
        self,
        route: Route[A],
        body: Any = None,
        *,
        path: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        if_match: str | None = None,
    ) -> A:
        raise NotImplementedError  # the client's own
