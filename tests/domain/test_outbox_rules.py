"""The outbox's pure rules (issue 16): the retry schedule, which answers are retried, and the webhook signature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coalition.domain.errors import InvalidInput
from coalition.domain.outbox import (
    MAX_ATTEMPTS,
    Outcome,
    Status,
    after_attempt,
    bounded,
    outcome_of,
    retry_delay_seconds,
)
from coalition.domain.webhooks import checked_event_kinds, checked_url, signature, signature_header, verify

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_the_retry_schedule_is_10s_30s_2min_10min_1h_6h_then_gives_up() -> None:
    assert [retry_delay_seconds(n) for n in range(1, 8)] == [10, 30, 120, 600, 3600, 21600, None]
    assert MAX_ATTEMPTS == 7
    with pytest.raises(ValueError):
        retry_delay_seconds(0)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, Outcome.DELIVERED), (204, Outcome.DELIVERED), (500, Outcome.RETRY), (503, Outcome.RETRY),
     (429, Outcome.RETRY), (408, Outcome.RETRY), (400, Outcome.REFUSED), (404, Outcome.REFUSED),
     (301, Outcome.REFUSED)],
)  # fmt: skip
def test_answers(status: int, outcome: Outcome) -> None:
    assert outcome_of(status) is outcome


def test_after_an_attempt() -> None:
    assert after_attempt(Outcome.DELIVERED, 1, NOW).status is Status.DELIVERED
    assert after_attempt(Outcome.REFUSED, 1, NOW).status is Status.FAILED
    retry = after_attempt(Outcome.RETRY, 2, NOW)
    assert retry.status is Status.PENDING and retry.next_attempt_at == NOW + timedelta(seconds=30)
    assert after_attempt(Outcome.RETRY, 7, NOW).status is Status.FAILED
    assert bounded("x" * 900) is not None and len(str(bounded("x" * 900))) == 500


def test_signature_and_its_recipe() -> None:
    body = b'{"id":"e1"}'
    header = signature_header(["new", "old"], 1700000000, body)
    assert header == f"v1={signature('new', 1700000000, body)} v1={signature('old', 1700000000, body)}"
    assert verify("old", header, 1700000000, body, 1700000100)  # the old secret still verifies after a rotation
    assert not verify("new", header, 1700000000, body + b" ", 1700000100)
    assert not verify("new", header, 1700000000, body, 1700000000 + 301)  # too old: a replay


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "javascript:alert(1)", "http://", "https://a b.com", "https://x.com/\x00",
            "https://user:pw@example.com/", "https://example.com/" + "a" * 2000, ""],
)  # fmt: skip
def test_bad_urls_are_refused_naming_url(url: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        checked_url(url)
    assert refused.value.field == "url"


def test_event_kinds() -> None:
    assert checked_event_kinds(["purchase.recorded", "purchase.recorded"]) == ("purchase.recorded",)
    with pytest.raises(InvalidInput) as refused:
        checked_event_kinds(["purchase.recorded", "purchase.exploded"])
    assert refused.value.field == "event_kinds[1]"
    with pytest.raises(InvalidInput):
        checked_event_kinds([])
