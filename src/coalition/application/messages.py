"""Customer messages (docs/messages.md): what the outbox hands a gateway, what a gateway answers, and the port every
gateway (e-mail, SMS over HTTP, SMS to a file) implements. The outbox's delivery loop calls `send` once per attempt
and records the outcome; a gateway never retries by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from coalition.domain.messages import Channel, MessageKind

MAX_REASON_CHARS = 500


@dataclass(frozen=True)
class OutgoingMessage:
    """One rendered message to one member on one channel. `id` is stable across attempts (the outbox row's id), so
    a receiver can recognise a repeat: the e-mail's Message-ID and the SMS request's `id` come from it."""

    id: str
    network_id: int
    member_id: int
    kind: MessageKind
    channel: Channel
    to: str  # an e-mail address or a phone number
    subject: str  # e-mail only
    body: str
    language: str = "en"
    unsubscribe_url: str | None = None  # e-mail: also sent as the List-Unsubscribe header


class Delivery(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"  # a timeout, an outage, 429 or 5xx: try again later
    FAILED = "failed"  # refused for good (a bad address, a 4xx): do not try again


@dataclass(frozen=True)
class DeliveryOutcome:
    status: Delivery
    reason: str = ""
    response_status: int | None = None  # the gateway's HTTP status or the SMTP reply code, where there was one

    @classmethod
    def delivered(cls, response_status: int | None = None) -> DeliveryOutcome:
        return cls(Delivery.DELIVERED, "", response_status)

    @classmethod
    def retry(cls, reason: str, response_status: int | None = None) -> DeliveryOutcome:
        return cls(Delivery.RETRY, reason[:MAX_REASON_CHARS], response_status)

    @classmethod
    def failed(cls, reason: str, response_status: int | None = None) -> DeliveryOutcome:
        return cls(Delivery.FAILED, reason[:MAX_REASON_CHARS], response_status)


class MessageGateway(Protocol):
    async def send(self, message: OutgoingMessage) -> DeliveryOutcome: ...
