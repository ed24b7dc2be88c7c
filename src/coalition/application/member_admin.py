"""The network administrator's members and cards: find a member by any identifier (or by name), read their whole
page, and block, unblock, report lost or replace their cards.

The console has no terminal, so its card actions carry no idempotency key: each is a change of state that cannot
apply twice (a second block is refused as the card is blocked already; a replacement number is taken once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from coalition.application.audit import entry
from coalition.application.cards_pos import change_card_state
from coalition.application.commands import DuplicateKey, customer_candidates, member_not_found
from coalition.application.ports import MemberLabels, MemberListing, MembersPort, Profile, StatementLine
from coalition.application.pos import PosService
from coalition.domain.cards import CardAction, CardState
from coalition.domain.errors import Conflict, InvalidInput, NotFound
from coalition.domain.gifts import Gift
from coalition.domain.lots import Lot
from coalition.domain.members import parse_label, parse_segments
from coalition.domain.purchase import points_balance

SEARCH_LIMIT = 50
MAX_STATEMENT_LINES = 1000


@dataclass(frozen=True, slots=True)
class MemberOverview:
    member_id: int
    kind: str
    profile: Profile
    labels: MemberLabels
    cards: list[tuple[str, CardState]]
    points_balance: int
    lifetime_spend_minor: int
    expiring_lots: list[Lot]  # lots with points left and an expiry still ahead, soonest first
    gifts: list[Gift]
    statement: list[StatementLine]  # newest first
    more_statement: bool  # older lines exist beyond `statement`


class MemberAdministration:
    def __init__(self, pos: PosService) -> None:
        self.pos = pos

    async def search(self, network_id: int, query: str) -> list[MemberListing]:
        """By any identifier (card, phone, barcode, NFC UID…), else by a part of the name."""
        text = query.strip()
        if not text:
            raise InvalidInput("type a card number, a phone, a scanned code or a name", field="q")
        if len(text) > 200:
            raise InvalidInput("a search has at most 200 characters", field="q")
        async with self.pos.unit_of_work() as uow:
            region = (await self.pos.program_context(uow, network_id)).phone_region
            try:
                candidates = customer_candidates(text, "q", region)
            except InvalidInput:
                candidates = ()
            found = await uow.find_member(network_id, candidates, lock=False) if candidates else None
            if found is not None:
                profile = await uow.member_profile(found.member_id)
                return [MemberListing(found.member_id, found.kind, profile.name, profile.phone)]
            if any(character.isalpha() for character in text):
                return await uow.members_named(network_id, text, SEARCH_LIMIT)
        return []

    async def overview(self, network_id: int, member_id: int, statement_lines: int = 50) -> MemberOverview:
        limit = max(1, min(statement_lines, MAX_STATEMENT_LINES))
        now = self.pos.clock.now()
        async with self.pos.unit_of_work() as uow:
            member = await uow.member_in_network(network_id, member_id)
            if member is None:
                raise NotFound(f"this network has no member {member_id}", field="member_id")
            state = await uow.member_points(member)
            profile = await uow.member_profile(member_id)
            labels = await uow.member_labels(member_id)
            cards = await uow.member_cards(member_id)
            gifts = await uow.member_gifts(member_id, now)
            lines = await uow.statement(member, limit + 1)
        expiring = sorted(
            (lot for lot in state.lots if lot.remaining > 0 and lot.expires_at is not None and lot.expires_at > now),
            key=lambda lot: lot.expires_at or now,
        )
        return MemberOverview(
            member_id=member_id,
            kind=member.kind,
            profile=profile,
            labels=labels,
            cards=cards,
            points_balance=points_balance(state, now),
            lifetime_spend_minor=state.lifetime_spend_minor,
            expiring_lots=expiring,
            gifts=gifts,
            statement=list(reversed(lines[-limit:])),
            more_statement=len(lines) > limit,
        )

    async def change_card(
        self, network_id: int, member_id: int, number: str, action: CardAction, new_number: str | None = None
    ) -> dict[str, object]:
        """A card of this member changes state; a replacement gives the member the new card (same balance)."""
        if action is CardAction.REPLACE and not (new_number or "").strip():
            raise InvalidInput("a replacement needs the new card's number", field="new_number")
        try:
            async with self.pos.unit_of_work() as uow:
                owner = await uow.find_member(network_id, customer_candidates(number, "number"), lock=False)
                if owner is None or owner.member_id != member_id or owner.card_id is None:
                    raise NotFound(f"this member has no card '{number}'", field="number")
                if action is CardAction.REPLACE and new_number:
                    await _require_free(uow, network_id, new_number)
                changed = await change_card_state(uow, network_id, number, action, new_number, self._now())
                action_code = f"card.{action.value.replace('-', '_')}"
                after = changed.audit_view()
                await uow.audit(entry(network_id, action_code, "card", changed.number, after=after))
                return after
        except DuplicateKey:
            raise Conflict(f"the number '{new_number}' belongs to another card already", field="new_number") from None

    async def member_labels(self, network_id: int, identifier: str) -> dict[str, Any]:
        """A member's tier and segments, as PATCH /v1/admin/members/{identifier} sets them."""
        async with self.pos.unit_of_work() as uow:
            region = (await self.pos.program_context(uow, network_id)).phone_region
            candidates = customer_candidates(identifier, "identifier", region)
            member = await uow.find_member(network_id, candidates, lock=False)
            if member is None:
                raise member_not_found(identifier, "identifier")
            labels = await uow.member_labels(member.member_id)
        return {"member_id": member.member_id, "tier": labels.tier, "segments": list(labels.segments)}

    async def set_member_labels(
        self, network_id: int, identifier: str, *, tier: str | None, segments: Sequence[str] | None
    ) -> dict[str, Any]:
        """The administrator sets a member's tier and segments (None: unchanged); rules read them at the till."""
        new_tier = None if tier is None else parse_label(tier, field="tier", allow_empty=True)
        new_segments = None if segments is None else parse_segments(segments)
        async with self.pos.unit_of_work() as uow:
            region = (await self.pos.program_context(uow, network_id)).phone_region
            member = await uow.find_member(network_id, customer_candidates(identifier, "identifier", region), lock=True)
            if member is None:
                raise member_not_found(identifier, "identifier")
            was = await uow.member_labels(member.member_id)
            await uow.set_member_labels(member.member_id, tier=new_tier, segments=new_segments)
            labels = await uow.member_labels(member.member_id)
            before = {"tier": was.tier, "segments": list(was.segments)}
            after = {"tier": labels.tier, "segments": list(labels.segments)}
            await uow.audit(entry(network_id, "member.labels", "member", member.member_id, before=before, after=after))
        return {"member_id": member.member_id, "tier": labels.tier, "segments": list(labels.segments)}

    def _now(self) -> datetime:
        return self.pos.clock.now()


async def _require_free(uow: MembersPort, network_id: int, number: str) -> None:
    taken = await uow.find_member(network_id, customer_candidates(number, "new_number"), lock=False)
    if taken is not None:
        raise Conflict(f"the number '{number}' belongs to a card or member already", field="new_number")
