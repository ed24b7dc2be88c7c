"""The outbox (issue 16): a message written in the same transaction as the event that causes it, then delivered by a
worker with retries. Here what a message is and when it is tried again: pure rules, no storage and no transport.

A message is `pending` until it is delivered (`delivered`), given up after the last retry or refused for good by
its receiver (`failed`), or dropped before sending (`skipped`, with the reason: e.g. its subscription was deleted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Status(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up: retries spent, or refused for good (a 4xx other than 408/429)
    SKIPPED = "skipped"  # never sent, with the reason in last_error


class Channel(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"  # a customer message (docs/messages.md): its target is the member's id
    SMS = "sms"


class Outcome(StrEnum):
    """One attempt's outcome, as `outbox_attempts.outcome` records it."""

    DELIVERED = "delivered"
    RETRY = "retry"  # a timeout, a connection error, a 5xx, a 408 or a 429: tried again later
    REFUSED = "refused"  # any other 4xx (or 3xx: we do not follow redirects): never tried again


# The waits after the 1st, 2nd, ... failed attempt; after the last the message fails (7 attempts over ~7 h 12 min).
RETRY_DELAYS_SECONDS: tuple[int, ...] = (10, 30, 120, 600, 3600, 21600)
MAX_ATTEMPTS = len(RETRY_DELAYS_SECONDS) + 1
MAX_PAYLOAD_BYTES = 64 * 1024  # an event's JSON: a purchase with its lines fits many times over
MAX_ERROR_LENGTH = 500  # what an attempt keeps of an error or a response's reason
LEASE_SECONDS = 60  # a worker's claim: a killed worker's messages are taken over after this, by another
FAILURES_BEFORE_PAUSE = 5  # consecutive failed messages of one subscription before it is paused


def retry_delay_seconds(attempts_made: int) -> int | None:
    """The wait before the next attempt once `attempts_made` attempts have failed (≥ 1); None: give up."""
    if attempts_made < 1:
        raise ValueError("no attempt was made")
    if attempts_made > len(RETRY_DELAYS_SECONDS):
        return None
    return RETRY_DELAYS_SECONDS[attempts_made - 1]


def outcome_of(status_code: int) -> Outcome:
    """A receiver's answer: 2xx delivered; 408, 429 and 5xx retried; anything else refused for good."""
    if 200 <= status_code < 300:
        return Outcome.DELIVERED
    if status_code in (408, 429) or status_code >= 500:
        return Outcome.RETRY
    return Outcome.REFUSED


@dataclass(frozen=True, slots=True)
class AfterAttempt:
    """What an attempt leaves on its message: the new status and, when pending, when it is due again."""

    status: Status
    next_attempt_at: datetime | None


def after_attempt(outcome: Outcome, attempts_made: int, now: datetime) -> AfterAttempt:
    if outcome is Outcome.DELIVERED:
        return AfterAttempt(Status.DELIVERED, None)
    if outcome is Outcome.REFUSED:
        return AfterAttempt(Status.FAILED, None)
    delay = retry_delay_seconds(attempts_made)
    if delay is None:
        return AfterAttempt(Status.FAILED, None)
    return AfterAttempt(Status.PENDING, now + timedelta(seconds=delay))


def bounded(text: str | None, limit: int = MAX_ERROR_LENGTH) -> str | None:
    """An error's text cut to what a row keeps (a receiver may answer megabytes)."""
    if text is None:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"
