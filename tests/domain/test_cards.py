"""The card life cycle: issued → active ⇄ blocked; active/blocked → lost; any of those → replaced."""

from __future__ import annotations

import itertools

import pytest

from coalition.domain.cards import CardAction, CardState, next_state, require_usable
from coalition.domain.errors import CardNotActive

S, A = CardState, CardAction

ALLOWED = {
    (S.ISSUED, A.ACTIVATE): S.ACTIVE,
    (S.ACTIVE, A.BLOCK): S.BLOCKED,
    (S.BLOCKED, A.UNBLOCK): S.ACTIVE,
    (S.ACTIVE, A.REPORT_LOST): S.LOST,
    (S.BLOCKED, A.REPORT_LOST): S.LOST,
    (S.ISSUED, A.REPLACE): S.REPLACED,
    (S.ACTIVE, A.REPLACE): S.REPLACED,
    (S.BLOCKED, A.REPLACE): S.REPLACED,
    (S.LOST, A.REPLACE): S.REPLACED,
}
REFUSED = [pair for pair in itertools.product(CardState, CardAction) if pair not in ALLOWED]


def test_the_transition_table_covers_every_state_and_action() -> None:
    assert len(ALLOWED) + len(REFUSED) == len(CardState) * len(CardAction) == 25
    assert len(REFUSED) == 16


@pytest.mark.parametrize(("current", "action"), list(ALLOWED))
def test_allowed_transitions(current: CardState, action: CardAction) -> None:
    assert next_state(current, action) is ALLOWED[(current, action)]


@pytest.mark.parametrize(("current", "action"), REFUSED)
def test_refused_transitions(current: CardState, action: CardAction) -> None:
    with pytest.raises(CardNotActive) as error:
        next_state(current, action)
    assert error.value.detail == f"a card that is {current.value} cannot be asked to {action.value}"
    assert error.value.field == "card"
    assert error.value.code == "card-not-active"


def test_a_replaced_card_is_final() -> None:
    for action in CardAction:
        with pytest.raises(CardNotActive):
            next_state(S.REPLACED, action)


def test_a_lost_card_cannot_come_back() -> None:
    with pytest.raises(CardNotActive, match="a card that is lost cannot be asked to unblock"):
        next_state(S.LOST, A.UNBLOCK)
    with pytest.raises(CardNotActive, match="a card that is lost cannot be asked to activate"):
        next_state(S.LOST, A.ACTIVATE)


def test_an_active_card_is_usable() -> None:
    require_usable(S.ACTIVE, "10000001")


@pytest.mark.parametrize(
    ("state", "hint"),
    [
        (S.ISSUED, "it has not been activated yet"),
        (S.BLOCKED, "it is blocked"),
        (S.LOST, "it was reported lost"),
        (S.REPLACED, "it was replaced by a new card"),
    ],
)
def test_only_an_active_card_is_usable(state: CardState, hint: str) -> None:
    with pytest.raises(CardNotActive) as error:
        require_usable(state, "10000001")
    assert error.value.detail == f"card 10000001 cannot be used: {hint}"
    assert error.value.field == "customer"
