"""The outbox's loop: claims due messages and delivers them (webhooks posted with httpx), until `stop` is set.

Safe to run in several processes at once: each message is claimed in the database with a lease (see
adapters/storage/outbox_store.py), so two loops never deliver one message twice after a success.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from coalition.application.outbox import new_worker_name
from coalition.application.webhooks import Posted
from coalition.domain.outbox import bounded
from coalition.domain.webhooks import PRIVATE_TARGET, is_public_address, names_a_private_host

if TYPE_CHECKING:
    from coalition.wiring import Services

log = logging.getLogger(__name__)
TIMEOUT_S = 10.0  # a receiver slower than this is retried later (it should answer first and work after)
IDLE_WAIT_S = 1.0  # between claims when nothing was due


async def private_address_of(url: str) -> str | None:
    """The first address the URL's host resolves to that webhooks may not reach, if any (None also when the name
    does not resolve: the post then fails and is retried like any unreachable receiver)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if names_a_private_host(host):
        return host
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    for *_, address in found:
        if not is_public_address(str(address[0])):
            return str(address[0])
    return None


class HttpxPoster:
    """Posts a webhook; any answer is a status code, no answer (timeout, refused, TLS) is an error."""

    def __init__(self, client: httpx.AsyncClient, *, allow_private: bool = True) -> None:
        self.client = client
        self.allow_private = allow_private

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Posted:
        if not self.allow_private and (address := await private_address_of(url)) is not None:
            return Posted(None, bounded(f"{PRIVATE_TARGET}: {address}"), refused=True)
        try:
            response = await self.client.post(url, content=body, headers=dict(headers))
        except httpx.TimeoutException:
            return Posted(None, f"no answer within {TIMEOUT_S:g} s")
        except httpx.HTTPError as error:
            return Posted(None, bounded(f"{type(error).__name__}: {error}"))
        reason = None if response.is_success else bounded(f"HTTP {response.status_code} {response.reason_phrase}")
        return Posted(response.status_code, reason)


def http_client(timeout_s: float = TIMEOUT_S) -> httpx.AsyncClient:
    # no redirects: a 3xx is the receiver's answer (refused), never a hop to somewhere the subscription did not name
    return httpx.AsyncClient(timeout=timeout_s, follow_redirects=False, trust_env=False)


async def outbox_loop(services: Services, stop: asyncio.Event, *, idle_wait_s: float = IDLE_WAIT_S) -> None:
    worker = new_worker_name()
    async with http_client() as client:
        outbox = services.outbox(HttpxPoster(client, allow_private=services.settings.webhooks_allow_private))
        while not stop.is_set():
            try:
                claimed = await outbox.run_once(worker)
            except Exception:  # a database outage: wait and try again, never end the loop
                log.exception("outbox loop %s: a round failed", worker)
                claimed = 0
            if claimed == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), idle_wait_s)
