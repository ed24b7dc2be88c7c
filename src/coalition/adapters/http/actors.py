"""Who is acting, as the audit log names them: set once per request at the edge (admin key, operator token, console
session), with where the request came from and its id."""

from __future__ import annotations

import re

from fastapi import Request

from coalition.application.audit import Actor, ActorKind, act_as
from coalition.application.commands import key_hash

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,100}$")  # what proxies send; anything else is not kept


def request_id(request: Request) -> str | None:
    sent = request.headers.get("x-request-id")
    return sent if sent and _REQUEST_ID.fullmatch(sent) else None


def key_fingerprint(key: str) -> str:
    """Which key acted, without the key: the start of its SHA-256 (the start of the hash the database keeps)."""
    return f"sha256:{key_hash(key)[:12]}"


def act_for_request(
    request: Request,
    address: str,
    kind: ActorKind,
    actor_id: str | None = None,
    name: str | None = None,
    role: str | None = None,
) -> Actor:
    """Every audit entry of the rest of this request names this actor (`address`: web.sessions.client_address)."""
    actor = Actor(kind, actor_id, name, role, address, request_id(request))
    act_as(actor)
    return actor
