"""Gift cards without a database: numbers, PIN attempts, refusals naming the field, the ledger plans of a sale, a
redemption and an expiry under each breakage policy."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coalition.domain.breakage import BreakagePolicy, PointsBreakage
from coalition.domain.errors import CardNotActive, InvalidInput, NotFound, TooManyAttempts
from coalition.domain.gift_cards import (
    GENERATED_DIGITS,
    MAX_PIN_ATTEMPTS,
    PIN_LOCK,
    GiftCard,
    GiftCardStatus,
    after_wrong_pin,
    expiry_split,
    expiry_transaction,
    generate_number,
    luhn_digit,
    luhn_valid,
    normalize_number,
    not_found,
    parse_pin,
    parse_valid_days,
    redemption_postings,
    redemption_transaction,
    require_amount,
    require_pin_check_allowed,
    require_usable,
    sale_transaction,
    wrong_pin,
)
from coalition.domain.ledger import TransactionKind, sums_per_asset

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
ASSET = "money:RUB"
CARD_ACCOUNT, SELLER_PREPAID, CAFE_PREPAID, NODE_BREAKAGE = 100, 200, 300, 400


def card(**changes: object) -> GiftCard:
    base = GiftCard(
        id=1,
        network_id=7,
        number="4000001234567899",
        account_id=CARD_ACCOUNT,
        currency="RUB",
        initial_minor=100_000,
        balance_minor=100_000,
        status=GiftCardStatus.ACTIVE,
        valid_from=NOW - timedelta(days=1),
        valid_until=NOW + timedelta(days=30),
        seller_partner_id=5,
        seller_outlet_id=6,
        pin_hash=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_generated_number_has_19_digits_and_a_valid_check_digit() -> None:
    numbers = {generate_number() for _ in range(200)}
    assert len(numbers) == 200
    for number in numbers:
        assert len(number) == GENERATED_DIGITS and number.isdigit() and luhn_valid(number)
    assert luhn_digit("7992739871") == "3"  # the textbook example
    assert luhn_valid("79927398713") and not luhn_valid("79927398714")


@given(st.text(alphabet="0123456789", min_size=5, max_size=30), st.integers(0, 29), st.integers(1, 9))
def test_luhn_catches_every_single_mistyped_digit(body: str, position: int, delta: int) -> None:
    number = body + luhn_digit(body)
    index = position % len(number)
    typo = number[:index] + str((int(number[index]) + delta) % 10) + number[index + 1 :]
    assert luhn_valid(number) and not luhn_valid(typo)


def test_numbers_are_normalized_and_bad_ones_refused_naming_the_field() -> None:
    assert normalize_number(" 4000 0012-3456 7899 ") == "4000001234567899"
    assert normalize_number("promo-abc123") == "PROMOABC123"
    for bad in ("12345", "A" * 33, "abc\x00def", "карта123456", 12345678):
        with pytest.raises(InvalidInput) as refused:
            normalize_number(bad, field="tenders[0].number")
        assert refused.value.field == "tenders[0].number"


def test_a_mistyped_generated_number_is_said_to_be_mistyped() -> None:
    number = generate_number()
    typo = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert "mistyped" in not_found(typo).detail
    assert "mistyped" not in not_found(number).detail
    assert not_found(number).field == "number"


def test_pins_are_4_to_8_ascii_digits() -> None:
    assert parse_pin(" 1234 ") == "1234"
    for bad in ("123", "123456789", "12a4", "١٢٣٤", None, 1234, "12\x0034"):
        with pytest.raises(InvalidInput) as refused:
            parse_pin(bad)
        assert refused.value.field == "pin"


def test_five_wrong_pins_stop_pin_checks_for_a_while() -> None:
    state = card(pin_hash="x")
    for expected_left in range(MAX_PIN_ATTEMPTS - 1, 0, -1):
        attempts = after_wrong_pin(state, NOW)
        assert attempts.locked_until is None and attempts.left == expected_left
        refusal = wrong_pin(state, attempts)
        assert isinstance(refusal, InvalidInput) and f"{expected_left} attempt(s) left" in refusal.detail
        state = replace(state, failed_pin_attempts=attempts.failed)
    fifth = after_wrong_pin(state, NOW)
    assert fifth == type(fifth)(0, NOW + PIN_LOCK)
    refusal = wrong_pin(state, fifth)
    assert isinstance(refusal, TooManyAttempts) and refusal.field == "pin"
    locked = replace(state, failed_pin_attempts=0, pin_locked_until=fifth.locked_until)
    with pytest.raises(TooManyAttempts) as stopped:
        require_pin_check_allowed(locked, NOW + timedelta(minutes=5))
    assert stopped.value.retry_after_seconds == 600 and "stopped until" in stopped.value.detail
    require_pin_check_allowed(locked, NOW + PIN_LOCK)  # the wait is over


def test_amounts_and_validity_are_bounded() -> None:
    require_amount(1, 10**10, "RUB")
    for bad in (0, -5, 10**10 + 1):
        with pytest.raises(InvalidInput) as refused:
            require_amount(bad, 10**10, "RUB")
        assert refused.value.field == "amount"
    assert parse_valid_days(None) == 365 and parse_valid_days(30) == 30
    for days in (0, 3661, True, "30"):
        with pytest.raises(InvalidInput):
            parse_valid_days(days)


@pytest.mark.parametrize(
    ("changes", "error", "words"),
    [
        ({"network_id": 8}, NotFound, "no gift card"),
        ({"status": GiftCardStatus.BLOCKED}, CardNotActive, "blocked"),
        ({"status": GiftCardStatus.EXPIRED}, CardNotActive, "expired"),
        ({"valid_until": NOW}, CardNotActive, "expired"),
        ({"valid_from": NOW + timedelta(seconds=1)}, CardNotActive, "valid from"),
        ({"status": GiftCardStatus.SPENT, "balance_minor": 0}, CardNotActive, "spent"),
    ],
)
def test_a_card_that_cannot_pay_is_refused_naming_its_field(changes, error, words) -> None:
    with pytest.raises(error) as refused:
        require_usable(card(**changes), 7, NOW, field="tenders[1].number")
    assert refused.value.field == "tenders[1].number" and words in refused.value.detail


def test_a_sale_and_a_redemption_move_money_between_prepaid_and_the_card() -> None:
    sale = sale_transaction(SELLER_PREPAID, CARD_ACCOUNT, ASSET, 100_000, "gift card sold")
    assert sale.kind is TransactionKind.GIFT_CARD_SALE
    assert {(p.account_id, p.amount) for p in sale.postings} == {(SELLER_PREPAID, -100_000), (CARD_ACCOUNT, 100_000)}
    spent = redemption_transaction(card(), 35_050, CAFE_PREPAID, ASSET, 7, NOW, "paid with a gift card")
    assert {(p.account_id, p.amount) for p in spent.postings} == {(CARD_ACCOUNT, -35_050), (CAFE_PREPAID, 35_050)}
    assert sums_per_asset(spent.postings) == {ASSET: 0}
    whole = redemption_postings(card(), 100_000, CAFE_PREPAID, ASSET, 7, NOW)
    assert whole[0].amount == -100_000


def test_a_redemption_beyond_the_balance_or_of_nothing_is_refused_naming_the_amount() -> None:
    for amount in (100_001, 0, -1):
        with pytest.raises(InvalidInput) as refused:
            redemption_postings(card(), amount, CAFE_PREPAID, ASSET, 7, NOW, amount_field="tenders[0].amount")
        assert refused.value.field == "tenders[0].amount"


@pytest.mark.parametrize(
    ("policy", "kept", "returned"),
    [
        (BreakagePolicy(), 33_333, 0),
        (BreakagePolicy(PointsBreakage.RETURNED), 0, 33_333),
        (BreakagePolicy(PointsBreakage.SHARED, 2500), 25_000, 8_333),  # 8,333.25 rounds down to the seller
    ],
)
def test_expiry_posts_what_is_left_by_the_policy(policy, kept, returned) -> None:
    left = card(balance_minor=33_333)
    assert expiry_split(left, policy) == type(expiry_split(left, policy))(kept, returned)
    tx = expiry_transaction(left, policy, NODE_BREAKAGE, SELLER_PREPAID, ASSET, "expired")
    assert tx is not None and tx.kind is TransactionKind.GIFT_CARD_EXPIRY
    moved = {p.account_id: p.amount for p in tx.postings}
    assert moved == {CARD_ACCOUNT: -33_333} | ({NODE_BREAKAGE: kept} if kept else {}) | (
        {SELLER_PREPAID: returned} if returned else {}
    )


def test_an_administrators_card_breaks_to_the_node_whatever_the_policy_and_an_empty_card_posts_nothing() -> None:
    promo = card(seller_partner_id=None, seller_outlet_id=None, balance_minor=500)
    tx = expiry_transaction(promo, BreakagePolicy(PointsBreakage.RETURNED), NODE_BREAKAGE, None, ASSET, "expired")
    assert tx is not None and {p.account_id: p.amount for p in tx.postings} == {CARD_ACCOUNT: -500, NODE_BREAKAGE: 500}
    assert expiry_transaction(card(balance_minor=0), BreakagePolicy(), NODE_BREAKAGE, SELLER_PREPAID, ASSET, "") is None


@given(st.integers(1, 10**12), st.integers(0, 10_000))
def test_a_shared_expiry_always_balances(left: int, share_bp: int) -> None:
    policy = BreakagePolicy(PointsBreakage.SHARED, share_bp)
    tx = expiry_transaction(card(balance_minor=left), policy, NODE_BREAKAGE, SELLER_PREPAID, ASSET, "")
    assert tx is not None and sums_per_asset(tx.postings) == {ASSET: 0}
    split = expiry_split(card(balance_minor=left), policy)
    assert split.returned_minor == left * share_bp // 10_000 and split.kept_minor + split.returned_minor == left
