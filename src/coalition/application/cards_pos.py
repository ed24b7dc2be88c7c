"""Cards at a till: issue one (to a member, or as a new anonymous card), and move one through its life cycle
(activate, block, unblock, report lost, replace). The console's card actions share `change_card_state`."""

from __future__ import annotations

from datetime import datetime

from coalition.application.commands import customer_candidates, member_not_found
from coalition.application.events import MEMBER_ENROLLED, member_enrolled
from coalition.application.members_pos import find_member
from coalition.application.plans import require_member_room
from coalition.application.ports import PosUnitOfWork, Profile, TerminalContext
from coalition.application.pos_parts import PosParts
from coalition.application.pos_results import CardChanged, CardIssued, CardView, CommandResult
from coalition.domain.cards import CardAction, CardState, next_state
from coalition.domain.errors import InvalidInput
from coalition.domain.identifiers import IdentifierKind, normalize
from coalition.domain.members import DEFAULT_CARD_TYPE, parse_label


async def issue_card(
    pos: PosParts,
    ctx: TerminalContext,
    number: str,
    member_identifier: str | None,
    idempotency_key: str | None,
    request_hash: str,
    card_type: str = DEFAULT_CARD_TYPE,
) -> CommandResult[CardIssued]:
    card_number = normalize(IdentifierKind.CARD, number, field="number")
    card_type = parse_label(card_type, field="card_type")

    async def record(uow: PosUnitOfWork, _key: str) -> CommandResult[CardIssued]:
        now = pos.clock.now()
        if member_identifier:
            member = await find_member(uow, ctx, member_identifier, lock=True, field_name="member")
        else:
            pc = await pos.program_context(uow, ctx.network_id)
            await require_member_room(uow, ctx.network_id, now)
            member = await uow.create_member(ctx.network_id, "anonymous", Profile(), pc, now)
        card_id = await uow.add_card(ctx.network_id, member.member_id, card_number, CardState.ACTIVE, now, card_type)
        await uow.add_identifier(ctx.network_id, member.member_id, card_id, IdentifierKind.CARD, card_number)
        if not member_identifier:  # a new anonymous card is a new member: enrolled, as by POST /v1/members
            data = member_enrolled(member.member_id, "anonymous", card_number, ctx, 0, now)
            await pos.emit(uow, ctx.network_id, MEMBER_ENROLLED, f"member:{member.member_id}", data, now)
        return pos.answered(201, CardIssued(card_number, CardState.ACTIVE, card_type, member.member_id))

    result: CommandResult[CardIssued] = await pos.idempotent(ctx, idempotency_key, request_hash, record)
    return result


async def change_card(
    pos: PosParts,
    ctx: TerminalContext,
    number: str,
    action: CardAction,
    new_number: str | None,
    idempotency_key: str | None,
    request_hash: str,
) -> CommandResult[CardChanged]:
    if action is CardAction.REPLACE and not new_number:
        raise InvalidInput("a replacement needs the new card's number", field="new_number")

    async def record(uow: PosUnitOfWork, _key: str) -> CommandResult[CardChanged]:
        changed = await change_card_state(uow, ctx.network_id, number, action, new_number, pos.clock.now())
        return pos.answered(200, changed)

    result: CommandResult[CardChanged] = await pos.idempotent(ctx, idempotency_key, request_hash, record)
    return result


async def change_card_state(
    uow: PosUnitOfWork, network_id: int, number: str, action: CardAction, new_number: str | None, now: datetime
) -> CardChanged:
    """Move a card through its life cycle (a replacement adds the new card to the same member, so the balance and
    the history stay with them); shared by the tills and the administrator's console."""
    card = await uow.find_member(network_id, customer_candidates(number, "number"), lock=True)
    if card is None:
        raise member_not_found(number, "number")
    if card.card_id is None or card.card_state is None or card.card_number is None:
        raise InvalidInput(f"'{number}' identifies a member, not a card", field="number")
    target = next_state(card.card_state, action)
    replaced_by = None
    replacement_id = None
    if action is CardAction.REPLACE and new_number:
        replacement = normalize(IdentifierKind.CARD, new_number, field="new_number")
        card_type = await uow.card_type(card.card_id)  # a social card's replacement is a social card
        replacement_id = await uow.add_card(network_id, card.member_id, replacement, CardState.ACTIVE, now, card_type)
        await uow.add_identifier(network_id, card.member_id, replacement_id, IdentifierKind.CARD, replacement)
        replaced_by = CardView(replacement, CardState.ACTIVE)
    await uow.set_card_state(card.card_id, target, now, replacement_id)
    return CardChanged(card.card_number, target, card.member_id, replaced_by)
