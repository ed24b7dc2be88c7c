"""The admin API's conventions, applied to every route under /v1/admin by `CheckedRoute` (issue 17, point 5;
docs/api.md "Conventions"): nothing to add to a new admin route.

- Idempotency: a POST, PUT, PATCH or DELETE sent with an `Idempotency-Key` runs once per key and admin key; a
  retry with the same request replays the first success (status and body, header `Idempotent-Replayed: true`); the
  same key with another request is a 422 naming `Idempotency-Key` (application/admin_idempotency.py). A route that
  declares its own `Idempotency-Key` header (the admin key's rotation) keeps its own meaning of it.
- Versions: the answer to a GET carries an `ETag` (a hash of the representation); a PUT, PATCH or DELETE may send
  it back as `If-Match`, and one whose resource has changed since is a 412 `precondition-failed` naming `If-Match`.
  Without If-Match the edit is made as before. A successful edit answers the resource's new `ETag` (its GET's).
  The check and the edit hold the resource's lock (its network and its GET's path) across every process serving
  the database (`Services.edit_locks`, application/edit_locks.py: a PostgreSQL advisory lock or a file lock beside
  the SQLite database), so of two edits sent with the same If-Match, in one worker or in two, exactly one passes.
- Secrets: a stored answer is sealed under a key derived from the raw Idempotency-Key, of which the record keeps
  only the SHA-256 (application/replay_sealing.py): a new key or secret shown once is not readable in the database.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.utils import get_flat_params
from fastapi.params import Header
from fastapi.routing import APIRoute
from starlette.routing import Match

from coalition.adapters.http.body_limits import NETWORK_ADMIN_STATE, bearer_token, is_operator
from coalition.application.admin_idempotency import Claimed, Replay
from coalition.application.commands import fingerprint, key_hash
from coalition.domain.errors import DomainError, InvalidInput, PreconditionFailed

ADMIN_PREFIX = "/v1/admin"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EDITS = frozenset({"PUT", "PATCH", "DELETE"})  # the writes that may carry If-Match
MAX_IDEMPOTENCY_KEY = 200
REPLAYED_HEADER = "Idempotent-Replayed"
Handler = Callable[[Request], Coroutine[Any, Any, Response]]

# every admin GET with its handler (conventions included), by path: a PUT's If-Match is checked against its ETag
_gets: dict[str, tuple[APIRoute, Handler]] = {}


def declares_idempotency_key(route: APIRoute) -> bool:
    return any(
        isinstance(param.field_info, Header) and (param.alias or "").lower() == "idempotency-key"
        for param in get_flat_params(route.dependant)
    )


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def admin_conventions(route: APIRoute, handler: Handler) -> Handler:
    """`handler` with the conventions, for a route under /v1/admin (else `handler` itself)."""
    if not route.path_format.startswith(ADMIN_PREFIX):
        return handler
    idempotent = not declares_idempotency_key(route)

    async def conventional(request: Request) -> Response:
        method = request.method
        if method == "GET":
            response = await handler(request)
            if response.status_code == 200 and "etag" not in response.headers and _has_body(response):
                response.headers["ETag"] = etag_of(bytes(response.body))
            return response
        if method not in WRITES:
            return await handler(request)
        key = request.headers.get("idempotency-key")
        if key is None or not idempotent:
            return await _edit(request, handler)
        if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
            raise InvalidInput(f"Idempotency-Key: from 1 to {MAX_IDEMPOTENCY_KEY} characters", field="Idempotency-Key")
        caller = await _caller(request)
        if caller is None:  # no valid key: the route refuses it (401) and nothing is kept
            return await handler(request)
        network_id, scope = caller
        store = request.app.state.services.admin_idempotency
        begun = await store.begin(network_id, scope, key, await _request_hash(request))
        if isinstance(begun, Replay):
            return _replayed(begun)
        return await _claimed_run(request, handler, store, begun)

    if "GET" in (route.methods or ()):
        _gets[route.path_format] = (route, conventional)
    return conventional


async def _claimed_run(request: Request, handler: Handler, store: Any, claimed: Claimed) -> Response:
    try:
        response = await _edit(request, handler)
    except BaseException:
        await asyncio.shield(store.release(claimed))
        raise
    if 200 <= response.status_code < 300 and _has_body(response):
        stored = {
            "media_type": response.media_type,
            "body": bytes(response.body).decode("utf-8", errors="replace"),
            "etag": response.headers.get("etag"),
        }
        await store.complete(claimed, response.status_code, json.dumps(stored, separators=(",", ":")))
    else:
        await store.release(claimed)
    return response


def _has_body(response: Response) -> bool:
    return isinstance(getattr(response, "body", None), bytes | memoryview)


def _replayed(replay: Replay) -> Response:
    stored = json.loads(replay.response)
    headers = {REPLAYED_HEADER: "true"}
    if stored.get("etag"):
        headers["ETag"] = stored["etag"]
    return Response(
        stored["body"].encode(), status_code=replay.status_code, media_type=stored.get("media_type"), headers=headers
    )


async def _caller(request: Request) -> tuple[int | None, str] | None:
    """(network id, scope) of the request's key: an admin key's network, or none for the operator's token."""
    svc = request.app.state.services
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        return None
    if is_operator(svc.settings.operator_token, token):
        return None, key_hash(token)
    try:
        network = await svc.admin.authenticate(token)
    except DomainError:
        return None
    request.scope.setdefault("state", {})[NETWORK_ADMIN_STATE] = network  # network_admin reads it, once
    return network.id, key_hash(token)


async def _request_hash(request: Request) -> str:
    """Method, path, query and the body (its JSON in canonical form when it is JSON; a multipart form by its
    fields, not by the boundary that each sending of it draws afresh)."""
    raw = await request.body()
    multipart = _multipart_fields(raw, request.headers.get("content-type", ""))
    if multipart is not None:
        payload = multipart
    else:
        try:
            payload = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode() if raw else b""
        except ValueError:
            payload = raw
    query = "&".join(sorted(f"{name}={value}" for name, value in request.query_params.multi_items()))
    return fingerprint(f"{request.method} {request.url.path}?{query}", payload)


def _multipart_fields(raw: bytes, content_type: str) -> bytes | None:
    """A multipart/form-data body as its fields in order (name, file name, SHA-256 of the content), without the
    boundary: a client's retry of an upload draws a new boundary for the same form. None when the body is not a
    multipart form that can be split (it is then fingerprinted as its bytes)."""
    media, _, params = content_type.partition(";")
    if media.strip().lower() != "multipart/form-data":
        return None
    boundary = ""
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "boundary":
            boundary = value.strip().strip('"')
    if not boundary:
        return None
    fields: list[list[str]] = []
    for part in raw.split(b"--" + boundary.encode("latin-1"))[1:]:
        if part.startswith(b"--"):
            break
        head, separator, content = part.partition(b"\r\n\r\n")
        if not separator:
            return None
        disposition = next(
            (
                line.decode("latin-1")
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-disposition:")
            ),
            "",
        )
        fields.append([disposition, hashlib.sha256(content.removesuffix(b"\r\n")).hexdigest()])
    return json.dumps(fields, separators=(",", ":")).encode() if fields else None


async def _edit(request: Request, handler: Handler) -> Response:
    if request.method not in EDITS:
        return await handler(request)
    if_match = request.headers.get("if-match")
    if if_match is None:
        response = await handler(request)
    else:
        async with request.app.state.services.edit_locks.hold(_resource(request)):
            current = await representation_etag(request)
            if not _matches(if_match, current):
                raise PreconditionFailed(
                    "this resource changed since the version sent in If-Match: read it again (GET answers its "
                    "ETag) and redo the edit on it",
                    field="If-Match",
                )
            response = await handler(request)
    if 200 <= response.status_code < 300:
        changed = await representation_etag(request)
        if changed is not None:
            response.headers["ETag"] = changed
    return response


def _resource(request: Request) -> str:
    """What an edit locks: its network (else the key that sent it: the operator's) and the path of its GET."""
    network = request.scope.get("state", {}).get(NETWORK_ADMIN_STATE)
    owner = (
        f"network {network.id}"
        if network is not None
        else "key " + key_hash(request.headers.get("authorization") or "")
    )
    return f"{owner} {request.url.path}"


def _matches(if_match: str, current: str | None) -> bool:
    if current is None:
        return False
    sent = [tag.strip() for tag in if_match.split(",")]
    return "*" in sent or any(tag.removeprefix("W/") == current for tag in sent)


async def representation_etag(request: Request) -> str | None:
    """The ETag a GET of the request's path answers now, None when there is no GET of it or it is refused."""
    scope = dict(request.scope)
    scope.update(method="GET", query_string=b"")
    scope["headers"] = [(name, value) for name, value in request.scope["headers"] if name in _KEPT_HEADERS]
    for route, handler in _gets.values():
        match, child = route.matches(scope)
        if match != Match.FULL:
            continue
        scope.update(child)

        async def no_body() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        try:
            response = await handler(Request(scope, no_body))
        except DomainError:
            return None
        return response.headers.get("etag") if response.status_code == 200 else None
    return None


_KEPT_HEADERS = frozenset({b"authorization", b"host", b"x-request-id", b"x-forwarded-for", b"x-real-ip"})
