"""Members and their cards and identifiers: enrolment, a card's life cycle, profiles, labels, what rules read of a
member, and the member's lock (every writer of a member's points takes it first)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from coalition.application.pos_ports.reference import ProgramContext
from coalition.domain.cards import CardState
from coalition.domain.identifiers import IdentifierKind
from coalition.domain.records import fast_init


@fast_init
@dataclass(frozen=True, slots=True)
class MemberRef:
    member_id: int
    kind: str
    points_account_id: int
    card_id: int | None
    card_number: str | None
    card_state: CardState | None


@dataclass(frozen=True, slots=True)
class MemberHistory:
    """What rules may ask of a member beyond their points: read only when the rule set in force uses it."""

    kind: str
    birth_date: date | None
    visit_count: int  # purchases before this one
    period_spend_minor: int  # this calendar month so far, at the outlet's local time
    previous_period_spend_minor: int  # last calendar month
    tier: str = ""
    segments: frozenset[str] = frozenset()
    card_type: str = ""  # of the card presented; '' when the member was found by another identifier


@dataclass(frozen=True, slots=True)
class MemberLabels:
    """The member's segments and tier, as the administrator or a rule set them."""

    tier: str
    segments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Profile:
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    birth_date: date | None = None
    notes: str | None = None
    consent_data_processing: bool = False
    consent_newsletters: bool = False


@dataclass(frozen=True, slots=True)
class MemberListing:
    """A line of a member search: enough to tell two members apart."""

    member_id: int
    kind: str
    name: str | None
    phone: str | None


class MembersPort(Protocol):
    async def find_member(self, network_id: int, candidates: Sequence[str], *, lock: bool) -> MemberRef | None:
        """The member one of `candidates` identifies (the earliest candidate that matches wins); with `lock`,
        locked for the rest of the unit of work."""
        ...

    async def lock_member(self, member_id: int) -> None: ...
    async def member_by_id(self, member_id: int) -> MemberRef: ...
    async def member_in_network(self, network_id: int, member_id: int) -> MemberRef | None:
        """The member (without a card) if they belong to this network."""
        ...

    async def members_named(self, network_id: int, text: str, limit: int) -> list[MemberListing]:
        """Members whose name contains `text`, ignoring case, in id order."""
        ...

    async def create_member(
        self,
        network_id: int,
        kind: str,
        profile: Profile,
        program: ProgramContext,
        now: datetime,
        segments: tuple[str, ...] = (),
    ) -> MemberRef: ...
    async def add_card(
        self, network_id: int, member_id: int, number: str, state: CardState, now: datetime, card_type: str = "standard"
    ) -> int:
        """Raises DuplicateKey('card') when the number is taken in the network."""
        ...

    async def add_identifier(
        self, network_id: int, member_id: int, card_id: int | None, kind: IdentifierKind, value: str
    ) -> None:
        """Raises DuplicateKey('identifier') when the value identifies someone in the network already."""
        ...

    async def set_card_state(
        self, card_id: int, state: CardState, now: datetime, replaced_by_card_id: int | None = None
    ) -> None: ...
    async def card_type(self, card_id: int) -> str: ...
    async def member_cards(self, member_id: int) -> list[tuple[str, CardState]]: ...
    async def member_profile(self, member_id: int) -> Profile: ...
    async def member_history(
        self, member_id: int, card_id: int | None, month_start: datetime, previous_month_start: datetime
    ) -> MemberHistory: ...
    async def member_labels(self, member_id: int) -> MemberLabels: ...
    async def set_member_labels(self, member_id: int, *, tier: str | None, segments: tuple[str, ...] | None) -> None:
        """Change what is given (None: keep it)."""
        ...

    async def members_born_on(self, network_id: int, month: int, day: int) -> list[tuple[MemberRef, MemberHistory]]:
        """Members whose birthday is this month and day, with what rules may read of them."""
        ...

    async def members_with_spend(
        self, network_id: int, start: datetime, end: datetime, previous_start: datetime
    ) -> list[tuple[MemberRef, MemberHistory]]:
        """Every member with their checks' total in [start, end) (`period_spend_minor`) and in [previous_start,
        start) (`previous_period_spend_minor`)."""
        ...
