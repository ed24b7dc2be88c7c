"""The card life cycle: issued → active ⇄ blocked; active/blocked → lost; any of those → replaced."""

from __future__ import annotations

from enum import StrEnum

from coalition.domain.errors import CardNotActive


class CardState(StrEnum):
    ISSUED = "issued"
    ACTIVE = "active"
    BLOCKED = "blocked"
    LOST = "lost"
    REPLACED = "replaced"


class CardAction(StrEnum):
    ACTIVATE = "activate"
    BLOCK = "block"
    UNBLOCK = "unblock"
    REPORT_LOST = "report-lost"
    REPLACE = "replace"


_TRANSITIONS: dict[CardAction, tuple[frozenset[CardState], CardState]] = {
    CardAction.ACTIVATE: (frozenset({CardState.ISSUED}), CardState.ACTIVE),
    CardAction.BLOCK: (frozenset({CardState.ACTIVE}), CardState.BLOCKED),
    CardAction.UNBLOCK: (frozenset({CardState.BLOCKED}), CardState.ACTIVE),
    CardAction.REPORT_LOST: (frozenset({CardState.ACTIVE, CardState.BLOCKED}), CardState.LOST),
    CardAction.REPLACE: (
        frozenset({CardState.ISSUED, CardState.ACTIVE, CardState.BLOCKED, CardState.LOST}),
        CardState.REPLACED,
    ),
}


def next_state(current: CardState, action: CardAction) -> CardState:
    allowed_from, target = _TRANSITIONS[action]
    if current not in allowed_from:
        raise CardNotActive(f"a card that is {current} cannot be asked to {action}", field="card")
    return target


def require_usable(state: CardState, number: str) -> None:
    """Only an active card earns or spends."""
    if state is not CardState.ACTIVE:
        hint = {
            CardState.ISSUED: "it has not been activated yet",
            CardState.BLOCKED: "it is blocked",
            CardState.LOST: "it was reported lost",
            CardState.REPLACED: "it was replaced by a new card",
        }[state]
        raise CardNotActive(f"card {number} cannot be used: {hint}", field="customer")
