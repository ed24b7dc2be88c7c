"""The life of an API key: until when it opens the door, and the checks made on every use.

A key is valid until its expiry (None: no end). A key a rotation replaced stays valid until its grace period ends.
Both ends are compared with the clock on every use — also when the key comes from the few-second cache of terminal
keys — so no expired key gets through, whatever the cache holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from coalition.domain.errors import InvalidInput, KeyExpired

if TYPE_CHECKING:
    from coalition.application.network_ref import NetworkRef
    from coalition.application.ports import TerminalContext

MAX_GRACE_SECONDS = 30 * 24 * 3600  # 30 days: a till unreconfigured for longer should be cut off
MAX_KEY_LIFETIME = timedelta(days=3660)  # an expiry more than ten years off is a typo
KEY_PREFIX_LENGTH = 12  # what lists and the audit show of a key (the rest is never stored)


@dataclass(frozen=True, slots=True)
class AdminKeyMatch:
    """The network an admin key opens, until when (None: no end), and whether a rotation replaced it."""

    network: NetworkRef
    valid_until: datetime | None
    retired: bool


@dataclass(frozen=True, slots=True)
class KeyCaller:
    """Who changes a key: the operator (the operator token, or the CLI on the server), a network's administrator
    by an admin key, or one signed in to the console. Every key command takes one, so the audit log can say who."""

    network: NetworkRef | None  # None: the operator
    key_prefix: str | None = None  # the admin key's first characters
    key_hash: str | None = None  # the admin key's hash: a rotation checks it is still the current key
    retired: bool = False  # an admin key in its grace period
    console_user_id: int | None = None  # an administrator signed in to the console

    @property
    def operator(self) -> bool:
        return self.network is None


OPERATOR = KeyCaller(None)


def refuse_ended(valid_until: datetime | None, retired: bool, now: datetime) -> None:
    """A 401 saying the key expired (or its grace ended) when `now` is at or past its end of validity."""
    if valid_until is None or now < valid_until:
        return
    moment = f"{valid_until.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    if retired:
        raise KeyExpired(f"this key was replaced and its grace period ended at {moment}; use the new key")
    raise KeyExpired(f"this key expired at {moment}; ask the network's administrator for a new one")


def still_valid(terminal: TerminalContext, now: datetime) -> TerminalContext:
    """The terminal a key opens, if its key has not expired (checked on every use, cached or not)."""
    refuse_ended(terminal.key_valid_until, terminal.key_retired, now)
    return terminal


def grace_of(grace_seconds: int) -> timedelta:
    if isinstance(grace_seconds, bool) or not isinstance(grace_seconds, int):
        raise InvalidInput("the grace period is a whole number of seconds", field="grace_seconds")
    if not 0 <= grace_seconds <= MAX_GRACE_SECONDS:
        raise InvalidInput(
            f"the grace period is 0 (the old key stops at once) to {MAX_GRACE_SECONDS} seconds (30 days)",
            field="grace_seconds",
        )
    return timedelta(seconds=grace_seconds)


def expiry_of(expires_at: datetime | None, now: datetime) -> datetime | None:
    """A key's expiry as given (None: never), refused when it is not a future moment with its time zone."""
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        raise InvalidInput("give the expiry with its time zone, e.g. 2027-01-31T00:00:00Z", field="expires_at")
    if expires_at <= now:
        raise InvalidInput("the expiry must be in the future", field="expires_at")
    if expires_at - now > MAX_KEY_LIFETIME:
        raise InvalidInput("the expiry must be within ten years", field="expires_at")
    return expires_at.astimezone(UTC)


def old_key_end(now: datetime, grace: timedelta, old_expiry: datetime | None) -> datetime:
    """Until when a replaced key stays valid: the grace, but never past the moment it would have expired."""
    end = now + grace
    return end if old_expiry is None else min(end, old_expiry)
