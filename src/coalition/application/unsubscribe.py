"""Unsubscribe links (docs/messages.md, "Unsubscribe"): every e-mail carries one for its kind and channel, signed
with the server's secret, so the page works without signing in and nobody can unsubscribe somebody else."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from coalition.application.audit import Actor, AuditEntry, acting_as, entry
from coalition.application.ports import Clock
from coalition.domain.errors import NotFound
from coalition.domain.messages import (
    MARKETING_KINDS,
    Channel,
    MessageKind,
    Unsubscribe,
    read_unsubscribe_token,
    unsubscribe_token,
)

SECRET_NAME = "unsubscribe"


class UnsubscribeStore(Protocol):
    async def server_secret(self, name: str, now: datetime) -> str: ...
    async def network_name(self, network_id: int) -> str: ...
    async def opted_out(self, what: Unsubscribe) -> bool | None: ...
    async def opt_out(self, what: Unsubscribe, now: datetime, audited: AuditEntry) -> None: ...


@dataclass(frozen=True)
class UnsubscribePage:
    what: Unsubscribe
    network_name: str
    already_out: bool
    marketing: bool  # a campaign or a birthday: the newsletter consent goes off


class Unsubscribes:
    def __init__(self, store: UnsubscribeStore, clock: Clock, public_url: str, secret: str | None) -> None:
        self.store, self.clock = store, clock
        self.public_url = public_url.rstrip("/")
        self._secret = secret.encode() if secret else None

    async def secret(self) -> bytes:
        if self._secret is None:  # no setting: the one kept in the database, the same for every process
            self._secret = (await self.store.server_secret(SECRET_NAME, self.clock.now())).encode()
        return self._secret

    async def link(self, network_id: int, member_id: int, kind: MessageKind, channel: Channel) -> str:
        token = unsubscribe_token(await self.secret(), Unsubscribe(network_id, member_id, kind, channel))
        return f"{self.public_url}/unsubscribe/{token}"

    async def page(self, token: str) -> UnsubscribePage:
        what = read_unsubscribe_token(await self.secret(), token)
        already = None if what is None else await self.store.opted_out(what)
        if what is None or already is None:
            raise NotFound("this unsubscribe link is not valid", field="token")
        name = await self.store.network_name(what.network_id)
        return UnsubscribePage(what, name, already, what.kind in MARKETING_KINDS)

    async def confirm(self, token: str) -> UnsubscribePage:
        """Record the opt-out (again is harmless), audited as the member's own act."""
        page = await self.page(token)
        what = page.what
        # the member acts through the signed link; the audit names them by a digest of the token, never the token
        actor = Actor("system", id=f"member:{what.member_id}", name="unsubscribe link")
        with acting_as(actor):
            audited = entry(
                what.network_id,
                "member.unsubscribe",
                "member",
                what.member_id,
                after={"kind": what.kind.value, "channel": what.channel.value, "link": _digest(token)},
            )
        await self.store.opt_out(what, self.clock.now(), audited)
        return UnsubscribePage(what, page.network_name, True, page.marketing)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]
