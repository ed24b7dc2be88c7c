"""Webhooks (issue 16): integrators subscribe a URL to event kinds; each delivery is signed.

Signing: `Coalition-Webhook-Signature: v1=<hex>` where hex is HMAC-SHA256, keyed by the subscription's secret, over
`<timestamp>.<body>` (the `Coalition-Webhook-Timestamp` header, a dot, the raw body bytes). After a rotation the old
secret signs beside the new one for 24 h (`v1=<new> v1=<old>`), so a receiver can switch keys without losing any.
docs/webhooks.md gives the receiver's recipe; `verify` below is that recipe.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable, Sequence
from datetime import timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from coalition.domain.errors import InvalidInput

ID_HEADER = "Coalition-Webhook-Id"  # the message's id: the same on every retry, so a receiver drops repeats
TIMESTAMP_HEADER = "Coalition-Webhook-Timestamp"  # Unix seconds when this attempt was signed
SIGNATURE_HEADER = "Coalition-Webhook-Signature"
EVENT_HEADER = "Coalition-Webhook-Event"
SCHEME = "v1"

EVENT_KINDS: tuple[str, ...] = (
    "purchase.recorded",
    "purchase.refunded",
    "member.enrolled",
    "gift.granted",
    "gift.honoured",
    "points.expired",
    "wallet.topped_up",
    "period.closed",
    "member.tier_changed",
    "gift_card.sold",
    "gift_card.redeemed",
    "gift_card.expired",
    "device.charged",
)
MAX_URL_LENGTH = 2000
MAX_SUBSCRIPTIONS = 20  # per network: more is a mistake or an abuse, not an integration
MAX_DESCRIPTION_LENGTH = 200
OLD_SECRET_KEPT = timedelta(hours=24)
# A paused subscription keeps its pending messages for this long; older ones are dropped (`skipped`) when it resumes
# or when the daily outbox cleanup runs: a receiver back after a week does not want a week of stale events at once.
PAUSED_KEPT = timedelta(days=3)
PAUSED_TOO_LONG = "dropped: queued more than 3 days ago while the subscription was paused"
TOLERANCE_SECONDS = 300  # the recipe's window against replays of an old delivery


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


PRIVATE_TARGET = (
    "a webhook may not target a private, loopback or link-local address (set COALITION_WEBHOOKS_ALLOW_PRIVATE=1 "
    "on a server whose administrators may reach its own network)"
)


def is_public_address(address: str) -> bool:
    """Whether an IP address is reachable on the public internet: not loopback, private, link-local (the cloud's
    metadata service at 169.254.169.254), multicast or reserved. A hosted server's tenants must not use its
    webhooks to reach the server's own network."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone id names a local interface anyway
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def names_a_private_host(host: str) -> bool:
    """A host that is plainly not public by its name alone: localhost, or an IP literal that is not public."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False  # a DNS name: what it resolves to is checked on every delivery
    return not is_public_address(name)


def checked_url(url: str, *, allow_private: bool = False) -> str:
    """An http(s) URL with a host, at most MAX_URL_LENGTH long, without control characters or spaces; unless
    `allow_private`, not naming a loopback, private or link-local host."""
    text = url.strip()
    if not text:
        raise InvalidInput("a webhook needs a URL", field="url")
    if len(text) > MAX_URL_LENGTH:
        raise InvalidInput(f"the URL is longer than {MAX_URL_LENGTH} characters", field="url")
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in text):
        raise InvalidInput("the URL has spaces or control characters", field="url")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise InvalidInput("the URL cannot be read", field="url") from error
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidInput("a webhook URL starts with http:// or https://", field="url")
    if not parts.hostname or port == 0:
        raise InvalidInput("the URL names no host", field="url")
    if parts.username or parts.password:
        raise InvalidInput("the URL must not hold a user name or password", field="url")
    if not allow_private and names_a_private_host(parts.hostname):
        raise InvalidInput(PRIVATE_TARGET, field="url")
    return text


def checked_event_kinds(kinds: Iterable[str], field: str = "event_kinds") -> tuple[str, ...]:
    """Known kinds, each once, in the list's order; at least one."""
    chosen: list[str] = []
    for index, kind in enumerate(kinds):
        if kind not in EVENT_KINDS:
            raise InvalidInput(f"unknown event kind; known: {', '.join(EVENT_KINDS)}", field=f"{field}[{index}]")
        if kind not in chosen:
            chosen.append(kind)
    if not chosen:
        raise InvalidInput("a webhook listens to at least one event kind", field=field)
    return tuple(chosen)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return mac.hexdigest()


def signature_header(secrets_in_use: Sequence[str], timestamp: int, body: bytes) -> str:
    """`v1=<hex>` per secret, the newest first, separated by spaces."""
    return " ".join(f"{SCHEME}={signature(secret, timestamp, body)}" for secret in secrets_in_use)


def verify(secret: str, header: str, timestamp: int, body: bytes, now: int) -> bool:
    """The receiver's check: a recent timestamp and one `v1=` signature equal to ours (compared in constant time)."""
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = signature(secret, timestamp, body)
    return any(
        hmac.compare_digest(value, expected)
        for scheme, _, value in (part.partition("=") for part in header.split())
        if scheme == SCHEME
    )
