"""The customer messages' sending policy and balance threshold (domain/messages.py), without a database."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coalition.domain.errors import InvalidInput
from coalition.domain.messages import (
    MARKETING_KINDS,
    SERVICE_KINDS,
    Channel,
    Defer,
    MessageKind,
    Recipient,
    Send,
    SendingPolicy,
    Skip,
    SkipReason,
    Unsubscribe,
    decide_sending,
    read_unsubscribe_token,
    threshold_crossing,
    unsubscribe_token,
)

MOSCOW = SendingPolicy(timezone="Europe/Moscow")
SERVICE_ONLY = Recipient(consent_data_processing=True, consent_newsletters=False, email="a@example.com")
EVERYTHING = Recipient(consent_data_processing=True, consent_newsletters=True, email="a@example.com", phone="+7900")


def moscow(hour: int, minute: int = 0, day: int = 7) -> datetime:
    return (
        datetime(2026, 12, day, hour - 3, minute, tzinfo=UTC)
        if hour >= 3
        else datetime(2026, 12, day - 1, hour + 21, minute, tzinfo=UTC)
    )


def test_campaigns_and_birthdays_need_the_newsletter_consent_service_messages_do_not() -> None:
    assert MessageKind.CAMPAIGN in MARKETING_KINDS and MessageKind.BIRTHDAY in MARKETING_KINDS
    noon = moscow(12)
    for kind in SERVICE_KINDS:
        assert decide_sending(kind, Channel.EMAIL, SERVICE_ONLY, noon, MOSCOW) == Send(noon)
    for kind in MARKETING_KINDS:
        assert decide_sending(kind, Channel.EMAIL, SERVICE_ONLY, noon, MOSCOW) == Skip(SkipReason.NO_NEWSLETTER_CONSENT)
        assert decide_sending(kind, Channel.EMAIL, EVERYTHING, noon, MOSCOW) == Send(noon)


def test_a_channel_without_its_contact_or_consent_or_after_an_opt_out_is_skipped() -> None:
    noon = moscow(12)
    thanks = MessageKind.THANK_YOU
    assert decide_sending(thanks, Channel.SMS, SERVICE_ONLY, noon, MOSCOW) == Skip(SkipReason.NO_CONTACT)
    blank = Recipient(consent_data_processing=True, consent_newsletters=True, email="  ")
    assert decide_sending(thanks, Channel.EMAIL, blank, noon, MOSCOW) == Skip(SkipReason.NO_CONTACT)
    no_consent = Recipient(consent_data_processing=False, consent_newsletters=True, email="a@example.com")
    assert decide_sending(thanks, Channel.EMAIL, no_consent, noon, MOSCOW) == Skip(SkipReason.NO_DATA_CONSENT)
    opted = Recipient(True, True, email="a@example.com", phone="+7900", opted_out=frozenset({(thanks, Channel.SMS)}))
    assert decide_sending(thanks, Channel.SMS, opted, noon, MOSCOW) == Skip(SkipReason.OPTED_OUT)
    assert decide_sending(thanks, Channel.EMAIL, opted, noon, MOSCOW) == Send(noon)


def test_a_purchase_at_22_10_in_moscow_is_thanked_at_09_00_the_next_morning() -> None:
    """docs/messages.md's worked example."""
    verdict = decide_sending(MessageKind.THANK_YOU, Channel.EMAIL, SERVICE_ONLY, moscow(22, 10), MOSCOW)
    assert verdict == Defer(datetime(2026, 12, 8, 6, 0, tzinfo=UTC), "quiet_hours")  # 09:00 in Moscow
    early = decide_sending(MessageKind.THANK_YOU, Channel.EMAIL, SERVICE_ONLY, moscow(7, 30, day=8), MOSCOW)
    assert early == Defer(datetime(2026, 12, 8, 6, 0, tzinfo=UTC), "quiet_hours")
    assert decide_sending(MessageKind.THANK_YOU, Channel.EMAIL, SERVICE_ONLY, moscow(9), MOSCOW) == Send(moscow(9))
    assert isinstance(decide_sending(MessageKind.THANK_YOU, Channel.EMAIL, SERVICE_ONLY, moscow(21), MOSCOW), Defer)


def test_quiet_hours_within_one_day_and_none() -> None:
    lunch = SendingPolicy(timezone="UTC", quiet_start=time(12), quiet_end=time(13))
    at = datetime(2026, 12, 7, 12, 30, tzinfo=UTC)
    assert decide_sending(MessageKind.WELCOME, Channel.EMAIL, SERVICE_ONLY, at, lunch) == Defer(
        datetime(2026, 12, 7, 13, tzinfo=UTC), "quiet_hours"
    )
    never = SendingPolicy(timezone="UTC", quiet_start=time(0), quiet_end=time(0))
    assert decide_sending(MessageKind.WELCOME, Channel.EMAIL, SERVICE_ONLY, at, never) == Send(at)


def test_the_cap_counts_a_rolling_day_per_channel_and_defers_to_the_first_free_slot() -> None:
    policy = SendingPolicy(timezone="UTC", quiet_start=time(0), quiet_end=time(0), cap_per_day=2)
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    sent = [now - timedelta(hours=20), now - timedelta(hours=2), now - timedelta(hours=30)]
    verdict = decide_sending(MessageKind.THANK_YOU, Channel.EMAIL, SERVICE_ONLY, now, policy, sent)
    assert verdict == Defer(now + timedelta(hours=4), "frequency_cap")  # when the 20-hour-old one leaves the day
    assert decide_sending(MessageKind.THANK_YOU, Channel.EMAIL, SERVICE_ONLY, now, policy, sent[1:]) == Send(now)


def test_a_deferral_by_the_cap_into_quiet_hours_goes_on_to_their_end() -> None:
    policy = SendingPolicy(timezone="Europe/Moscow", cap_per_day=1)
    due = moscow(20, 0)  # the slot frees at 21:30, in quiet hours
    verdict = decide_sending(MessageKind.THANK_YOU, Channel.EMAIL, SERVICE_ONLY, due, policy, [moscow(21, 30, day=6)])
    assert verdict == Defer(moscow(9, 0, day=8), "frequency_cap")


def test_a_cap_out_of_bounds_is_refused_naming_its_field() -> None:
    with pytest.raises(InvalidInput) as refused:
        SendingPolicy(cap_per_day=0)
    assert refused.value.field == "cap_per_day"


@given(
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    history=st.lists(st.integers(0, 48 * 60), max_size=8),
    cap=st.integers(1, 4),
)
def test_a_verdict_is_never_in_quiet_hours_nor_over_the_cap_nor_before_it_is_due(
    hour: int, minute: int, history: list[int], cap: int
) -> None:
    policy = SendingPolicy(timezone="Europe/Moscow", cap_per_day=cap)
    due = datetime(2026, 12, 7, hour, minute, tzinfo=UTC)
    sent = [due - timedelta(minutes=ago) for ago in history]
    verdict = decide_sending(MessageKind.THANK_YOU, Channel.SMS, EVERYTHING, due, policy, sent)
    at = verdict.at if isinstance(verdict, Send) else verdict.until if isinstance(verdict, Defer) else None
    assert at is not None and at >= due
    assert not policy.in_quiet_hours(at)
    assert sum(1 for moment in sent if at - timedelta(hours=24) < moment <= at) < cap


def test_the_threshold_fires_once_per_upward_crossing_and_again_only_after_a_fall_below() -> None:
    first = threshold_crossing(before=400, after=600, threshold=500, armed=None)
    assert first.fire and not first.armed
    again = threshold_crossing(before=600, after=900, threshold=500, armed=first.armed)
    assert not again.fire and not again.armed
    fall = threshold_crossing(before=900, after=100, threshold=500, armed=again.armed)
    assert not fall.fire and fall.armed
    rise = threshold_crossing(before=100, after=500, threshold=500, armed=fall.armed)
    assert rise.fire
    assert not threshold_crossing(before=700, after=800, threshold=500, armed=None).fire  # never below: no crossing
    assert threshold_crossing(before=700, after=800, threshold=500, armed=True).fire  # an unseen fall and rise
    with pytest.raises(InvalidInput):
        threshold_crossing(before=0, after=1, threshold=0, armed=None)


@given(st.lists(st.integers(0, 2000), min_size=1, max_size=30))
def test_threshold_fires_exactly_as_often_as_the_balance_rises_through_it(balances: list[int]) -> None:
    threshold, armed, fired, previous = 1000, None, 0, 0
    for balance in balances:
        check = threshold_crossing(previous, balance, threshold, armed)
        fired += check.fire
        armed, previous = check.armed, balance
    path = [0, *balances]
    crossings = sum(1 for a, b in itertools.pairwise(path) if a < threshold <= b)
    assert fired == crossings


def test_an_unsubscribe_token_reads_back_and_a_changed_or_foreign_one_does_not() -> None:
    what = Unsubscribe(network_id=3, member_id=41, kind=MessageKind.CAMPAIGN, channel=Channel.EMAIL)
    token = unsubscribe_token(b"secret", what)
    assert read_unsubscribe_token(b"secret", token) == what
    assert read_unsubscribe_token(b"other secret", token) is None
    assert read_unsubscribe_token(b"secret", token.replace("41", "42", 1)) is None
    assert read_unsubscribe_token(b"secret", "garbage") is None
    assert read_unsubscribe_token(b"secret", "x" * 500) is None
