"""The double-entry ledger: transactions balance per asset, reversals undo exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coalition.domain.errors import LedgerInvariantViolated
from coalition.domain.ledger import (
    MAX_ABS_POSTING,
    MAX_POSTINGS_PER_TRANSACTION,
    Posting,
    Transaction,
    TransactionKind,
    money_asset,
    points_asset,
    require_valid,
    reversal_of,
    sums_per_asset,
    transfer,
    validate,
)

PTS = points_asset("bonus")
RUB = money_asset("RUB")


def test_asset_codes() -> None:
    assert PTS == "points:bonus"
    assert RUB == "money:RUB"


def purchase_tx() -> Transaction:
    return Transaction(
        TransactionKind.PURCHASE,
        (
            Posting(2, PTS, -51),
            Posting(1, PTS, 51),
            Posting(1, PTS, -300),
            Posting(3, PTS, 300),
            Posting(4, RUB, -5_100),
            Posting(5, RUB, 5_100),
        ),
        memo="receipt 17",
    )


def test_a_balanced_transaction_has_no_problems() -> None:
    tx = purchase_tx()
    assert validate(tx) == []
    assert require_valid(tx) is tx


def test_sums_per_asset_adds_each_asset_separately() -> None:
    postings = [Posting(1, PTS, 10), Posting(2, PTS, -4), Posting(3, RUB, 700), Posting(1, RUB, -100)]
    assert sums_per_asset(postings) == {PTS: 6, RUB: 600}
    assert sums_per_asset([]) == {}
    assert sums_per_asset(purchase_tx().postings) == {PTS: 0, RUB: 0}


def test_unbalanced_transaction_is_reported_per_asset() -> None:
    tx = Transaction(
        TransactionKind.ADJUSTMENT,
        (Posting(1, PTS, 10), Posting(2, PTS, -9), Posting(3, RUB, 5), Posting(4, RUB, -5)),
    )
    assert validate(tx) == ["postings in points:bonus sum to 1, not 0"]


def test_balance_in_one_asset_does_not_offset_another() -> None:
    tx = Transaction(TransactionKind.ADJUSTMENT, (Posting(1, PTS, 100), Posting(2, RUB, -100)))
    assert sorted(validate(tx)) == [
        "postings in money:RUB sum to -100, not 0",
        "postings in points:bonus sum to 100, not 0",
    ]


def test_single_posting_transaction_is_refused() -> None:
    tx = Transaction(TransactionKind.ADJUSTMENT, (Posting(1, PTS, 10),))
    problems = validate(tx)
    assert "a transaction needs at least two postings, got 1" in problems
    assert "postings in points:bonus sum to 10, not 0" in problems


def test_empty_transaction_is_refused() -> None:
    assert validate(Transaction(TransactionKind.ADJUSTMENT, ())) == ["a transaction needs at least two postings, got 0"]


def test_too_many_postings_are_refused() -> None:
    postings = tuple(Posting(i, PTS, 1 if i % 2 else -1) for i in range(MAX_POSTINGS_PER_TRANSACTION + 2))
    assert validate(Transaction(TransactionKind.ADJUSTMENT, postings)) == [
        f"a transaction has at most {MAX_POSTINGS_PER_TRANSACTION} postings"
    ]
    assert validate(Transaction(TransactionKind.ADJUSTMENT, postings[:MAX_POSTINGS_PER_TRANSACTION])) == []


def test_zero_amount_posting_is_refused_even_when_balanced() -> None:
    tx = Transaction(TransactionKind.ADJUSTMENT, (Posting(1, PTS, 5), Posting(2, PTS, -5), Posting(3, PTS, 0)))
    assert validate(tx) == ["posting to account 3 has amount 0, outside (0, 1000000000000000]"]


def test_posting_beyond_the_largest_amount_is_refused() -> None:
    too_big = MAX_ABS_POSTING + 1
    tx = Transaction(TransactionKind.ADJUSTMENT, (Posting(1, PTS, too_big), Posting(2, PTS, -too_big)))
    assert len(validate(tx)) == 2
    at_limit = Transaction(
        TransactionKind.ADJUSTMENT, (Posting(1, PTS, MAX_ABS_POSTING), Posting(2, PTS, -MAX_ABS_POSTING))
    )
    assert validate(at_limit) == []


def test_require_valid_raises_with_every_problem() -> None:
    tx = Transaction(TransactionKind.ADJUSTMENT, (Posting(1, PTS, 0),))
    with pytest.raises(LedgerInvariantViolated) as error:
        require_valid(tx)
    assert error.value.detail == (
        "a transaction needs at least two postings, got 1; "
        "posting to account 1 has amount 0, outside (0, 1000000000000000]"
    )
    assert error.value.code == "ledger-invariant-violated"


def test_transfer_moves_an_amount_from_one_account_to_another() -> None:
    assert transfer(1, 2, PTS, 30) == (Posting(1, PTS, -30), Posting(2, PTS, 30))
    assert transfer(1, 2, PTS, 0) == ()


def test_reversal_negates_every_posting_and_references_the_original() -> None:
    original = purchase_tx()
    reversal = reversal_of(original, original_tx_id=41, memo="cashier error")
    assert reversal.kind is TransactionKind.REVERSAL
    assert reversal.reverses_tx_id == 41
    assert reversal.memo == "cashier error"
    assert reversal.postings == (
        Posting(2, PTS, 51),
        Posting(1, PTS, -51),
        Posting(1, PTS, 300),
        Posting(3, PTS, -300),
        Posting(4, RUB, 5_100),
        Posting(5, RUB, -5_100),
    )


def test_reversal_of_an_invalid_transaction_is_refused() -> None:
    broken = Transaction(TransactionKind.ADJUSTMENT, (Posting(1, PTS, 10), Posting(2, PTS, -9)))
    with pytest.raises(LedgerInvariantViolated):
        reversal_of(broken, original_tx_id=1)


@st.composite
def balanced_transactions(draw: st.DrawFn) -> Transaction:
    moves = draw(
        st.lists(
            st.tuples(
                st.integers(1, 20), st.integers(1, 20), st.sampled_from([PTS, RUB]), st.integers(1, MAX_ABS_POSTING)
            ),
            min_size=1,
            max_size=MAX_POSTINGS_PER_TRANSACTION // 2,
        )
    )
    postings = tuple(p for source, target, asset, amount in moves for p in transfer(source, target, asset, amount))
    return Transaction(TransactionKind.ADJUSTMENT, postings)


@given(balanced_transactions())
def test_transfers_always_balance_and_their_reversal_brings_every_account_back(tx: Transaction) -> None:
    assert validate(tx) == []
    reversal = reversal_of(tx, original_tx_id=7)
    combined: dict[tuple[int, str], int] = {}
    for p in (*tx.postings, *reversal.postings):
        combined[(p.account_id, p.asset)] = combined.get((p.account_id, p.asset), 0) + p.amount
    assert set(combined.values()) == {0}
    assert all(total == 0 for total in sums_per_asset(reversal.postings).values())


amounts = st.one_of(
    st.sampled_from([0, 1, -1, MAX_ABS_POSTING, -MAX_ABS_POSTING, MAX_ABS_POSTING + 1, -MAX_ABS_POSTING - 1]),
    st.integers(-(10**16), 10**16),
)
postings_lists = st.lists(
    st.builds(Posting, st.integers(1, 5), st.sampled_from([PTS, RUB]), amounts),
    max_size=MAX_POSTINGS_PER_TRANSACTION + 3,
)


def balanced(postings: list[Posting]) -> list[Posting]:
    """The postings with each asset's sum put right by one more posting (the common case: a valid transaction)."""
    fixes = [Posting(9, asset, -total) for asset, total in sums_per_asset(postings).items() if total]
    return postings + fixes


@given(st.one_of(postings_lists, postings_lists.map(balanced)))
def test_require_valid_refuses_exactly_what_validate_finds_and_says_it(postings: list[Posting]) -> None:
    """`require_valid` checks in one pass; it refuses the same transactions as the checks one by one, in their words."""
    tx = Transaction(TransactionKind.ADJUSTMENT, tuple(postings))
    problems = validate(tx)
    if not problems:
        assert require_valid(tx) is tx
        return
    with pytest.raises(LedgerInvariantViolated) as error:
        require_valid(tx)
    assert error.value.detail == "; ".join(problems)
