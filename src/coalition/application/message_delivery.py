"""The outbox's e-mail and SMS channels (docs/messages.md, "How the outbox delivers them"): one `MessageDeliverer`
per channel with a gateway. At delivery it reads the member (consents, contacts, opt-outs), what they were sent on
this channel in the last 24 h and the network's policy, and asks `decide_sending`:

- Skip: the message is skipped with the reason (`no_contact`, `opted_out`, ...), never sent;
- Defer: handed back, due at the end of quiet hours or when the cap frees a slot, no attempt counted;
- Send: rendered (the network's template or the built-in one, in the network's language), the unsubscribe link
  added, and sent once through the gateway; its outcome is the outbox's attempt.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from coalition.application.customer_messages import CustomerMessages
from coalition.application.message_templates import MessageTemplates
from coalition.application.messages import Delivery, DeliveryOutcome, MessageGateway, OutgoingMessage
from coalition.application.outbox import Attempted, ClaimedMessage, Deferred
from coalition.application.ports import Clock
from coalition.application.unsubscribe import Unsubscribes
from coalition.domain.campaigns import template_of
from coalition.domain.message_templates import LANGUAGES, MessageTemplate, TemplateRefused, render
from coalition.domain.messages import CAP_WINDOW, Channel, Defer, MessageKind, Recipient, Skip, decide_sending
from coalition.domain.outbox import Outcome, Status

CONTEXT_TTL_S = 5.0  # a network's name, zone, language and templates, an outlet's name: read again after this
MEMBER_GONE = "the member is no longer in this network"
CAMPAIGN_GONE = "the campaign is gone"
TURNED_OFF = "this kind was turned off for this channel after it was queued"


@dataclass(frozen=True)
class MessageMember:
    recipient: Recipient
    name: str | None
    balance: int
    sent_on_channel: tuple[datetime, ...] = ()  # when their messages on this channel were delivered, last 24 h


@dataclass(frozen=True)
class NetworkContext:
    name: str
    timezone: str  # its first outlet's (as the scheduler reads it)
    language: str  # its mail language, else English


class MessageDeliveryStore(Protocol):
    async def message_members(
        self, network_id: int, member_ids: Sequence[int], channel: Channel, since: datetime
    ) -> dict[int, MessageMember]:
        """These members of the network (others left out), each with when their messages on `channel` (any kind)
        were delivered from `since` on."""
        ...

    async def network_context(self, network_id: int) -> NetworkContext: ...
    async def outlet_name(self, outlet_id: int) -> str | None: ...
    async def campaign_text(self, network_id: int, campaign_id: int) -> MessageTemplate | None:
        """A campaign's own subject and body (application/campaigns.py), for its messages."""
        ...


def attempted(outcome: DeliveryOutcome) -> Attempted:
    if outcome.status is Delivery.DELIVERED:
        return Attempted(Outcome.DELIVERED, outcome.response_status)
    if outcome.status is Delivery.RETRY:
        return Attempted(Outcome.RETRY, outcome.response_status, outcome.reason or "try again later")
    return Attempted(Outcome.REFUSED, outcome.response_status, outcome.reason or "refused")


@dataclass
class MessageDeliverer:
    channel: Channel
    gateway: MessageGateway
    store: MessageDeliveryStore
    templates: MessageTemplates
    unsubscribes: Unsubscribes
    settings: CustomerMessages
    clock: Clock
    _read: dict[Any, tuple[float, Any]] = field(default_factory=dict)
    # the members of the round being delivered, read at once by `prepare`: (network, member) -> member
    _round: dict[tuple[int, int], MessageMember] = field(default_factory=dict)

    async def prepare(self, messages: Sequence[ClaimedMessage]) -> None:
        """Read the round's members in one go (three statements per network, not three per message)."""
        self._round.clear()
        since = self.clock.now() - CAP_WINDOW
        by_network: dict[int, list[int]] = {}
        for message in messages:
            by_network.setdefault(message.network_id, []).append(int(message.target))
        for network_id, member_ids in by_network.items():
            found = await self.store.message_members(network_id, member_ids, self.channel, since)
            self._round.update(((network_id, member_id), member) for member_id, member in found.items())

    async def _member(self, network_id: int, member_id: int, now: datetime) -> MessageMember | None:
        member = self._round.get((network_id, member_id))
        if member is None:
            found = await self.store.message_members(network_id, [member_id], self.channel, now - CAP_WINDOW)
            member = found.get(member_id)
        return member

    async def _cached(self, key: Any, load: Any) -> Any:
        now = time.monotonic()
        found = self._read.get(key)
        if found is not None and now - found[0] < CONTEXT_TTL_S:
            return found[1]
        value = await load()
        if len(self._read) > 10_000:
            self._read.clear()
        self._read[key] = (now, value)
        return value

    async def deliver(self, message: ClaimedMessage) -> Attempted | str | Deferred | None:
        kind = MessageKind(message.event_kind)
        member_id = int(message.target)
        network_id = message.network_id
        payload = json.loads(message.payload)
        now = self.clock.now()
        member = await self._member(network_id, member_id, now)
        if member is None:
            return MEMBER_GONE
        settings = await self.settings.settings(network_id)
        if self.channel not in settings.channels(kind):
            return TURNED_OFF
        network: NetworkContext = await self._cached(
            ("network", network_id), lambda: self.store.network_context(network_id)
        )
        policy = settings.policy(network.timezone)
        verdict = decide_sending(kind, self.channel, member.recipient, now, policy, member.sent_on_channel)
        if isinstance(verdict, Skip):
            return verdict.reason.value
        if isinstance(verdict, Defer):
            return Deferred(verdict.until, verdict.why)
        language = payload.get("language") or network.language
        language = language if language in LANGUAGES else "en"
        variables: dict[str, Any] = {
            "member_name": member.name or "",
            "network_name": network.name,
            "balance": member.balance,
        }
        variables |= {name: value for name, value in dict(payload.get("variables") or {}).items()}
        outlet_id = variables.get("outlet_id")
        if "outlet" not in variables and outlet_id is not None:
            variables["outlet"] = await self._cached(("outlet", outlet_id), lambda: self.store.outlet_name(outlet_id))
        link = await self.unsubscribes.link(network_id, member_id, kind, self.channel)
        variables["unsubscribe_url"] = link
        template: MessageTemplate | None = await self._template(network_id, kind, language, variables)
        if template is None:
            return CAMPAIGN_GONE
        try:
            rendered = render(kind, self.channel, template, variables)
        except TemplateRefused as refused:  # a saved template is checked; this is a bug, not an outage
            return Attempted(Outcome.REFUSED, None, f"the template did not render: {refused.detail}")
        outgoing = OutgoingMessage(
            id=str(message.id),
            network_id=network_id,
            member_id=member_id,
            kind=kind,
            channel=self.channel,
            to=str(member.recipient.contact(self.channel)),
            subject=rendered.subject,
            body=rendered.body,
            language=language,
            unsubscribe_url=link,
        )
        outcome = await self.gateway.send(outgoing)
        if outcome.status is Delivery.DELIVERED and (network_id, member_id) in self._round:
            # the member's next message of this round (sent in turn after this one) counts this one in the cap
            self._round[(network_id, member_id)] = replace(member, sent_on_channel=(*member.sent_on_channel, now))
        return attempted(outcome)

    async def _template(
        self, network_id: int, kind: MessageKind, language: str, variables: dict[str, Any]
    ) -> MessageTemplate | None:
        """A campaign's message: the campaign's own text (None: the campaign is gone); else the network's template of
        the kind (or the built-in one)."""
        campaign_id = variables.get("campaign_id")
        if kind is MessageKind.CAMPAIGN and campaign_id is not None:
            text: MessageTemplate | None = await self._cached(
                ("campaign", network_id, campaign_id), lambda: self.store.campaign_text(network_id, int(campaign_id))
            )
            if text is None:
                return None
            return template_of(self.channel, text.subject, text.body)
        found: MessageTemplate = await self._cached(
            ("template", network_id, kind, self.channel, language),
            lambda: self.templates.template_for(network_id, (kind, self.channel, language)),
        )
        return found

    async def settled(self, message: ClaimedMessage, status: Status) -> None:
        return None
