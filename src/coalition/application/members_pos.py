"""Members at the point of sale: finding one by an identifier, the summary a till shows (GET /v1/members/{id}) and
the statement of their points (GET /v1/admin/members/{id}/statement)."""

from __future__ import annotations

from coalition.application.commands import customer_candidates, member_not_found, require_usable_card
from coalition.application.member_terms import member_terms
from coalition.application.ports import EVERY_LINE, LineWindow, MemberRef, PosUnitOfWork, TerminalContext
from coalition.application.pos_parts import PosParts
from coalition.application.pos_results import (
    CardView,
    GiftView,
    MemberStatement,
    MemberSummary,
    PointsExpiry,
    TierTerms,
    TillMember,
)
from coalition.application.rule_events import member_facts
from coalition.domain.purchase import points_balance


async def find_member(
    uow: PosUnitOfWork, ctx: TerminalContext, identifier: str, *, lock: bool, field_name: str
) -> MemberRef:
    member = await uow.find_member(
        ctx.network_id, customer_candidates(identifier, field_name, ctx.phone_region), lock=lock
    )
    if member is None:
        raise member_not_found(identifier, field_name)
    return member


async def usable_member_locked(
    uow: PosUnitOfWork, ctx: TerminalContext, customer: str, candidates: tuple[str, ...]
) -> MemberRef:
    """The member `customer` identifies (its `candidates` checked before the unit of work), locked, whose card may
    be used: what a visit's entry and a device's use start with."""
    member = await uow.find_member(ctx.network_id, candidates, lock=True)
    if member is None:
        raise member_not_found(customer)
    require_usable_card(member)
    return member


async def member_summary(pos: PosParts, ctx: TerminalContext, identifier: str) -> MemberSummary:
    rules = await pos.rule_set_in_force(ctx.network_id)
    async with pos.unit_of_work() as uow:
        pc = await pos.program_context(uow, ctx.network_id)
        member = await find_member(uow, ctx, identifier, lock=False, field_name="identifier")
        state = await uow.member_points(member)
        profile = await uow.member_profile(member.member_id)
        labels = await uow.member_labels(member.member_id)
        cards = await uow.member_cards(member.member_id)
        gifts = await uow.member_gifts(member.member_id, pos.clock.now())
        history = await pos.read_member_history(uow, rules, ctx, member, pos.clock.now())
    now = pos.clock.now()
    program = pc.program
    # the terms of the rule set in force (the program's own rules when none is published), as a purchase sees them
    facts = member_facts(history, state.lifetime_spend_minor, points_balance(state, now))
    terms = member_terms(rules, program, facts, ctx, now)
    return MemberSummary(
        member=TillMember(member.member_id, member.kind, profile.name, labels.tier, labels.segments),
        card=_card(member),
        cards=tuple(CardView(number, state_) for number, state_ in cards),
        points_balance=points_balance(state, now),
        lifetime_spend_minor=state.lifetime_spend_minor,
        currency=program.currency,
        tier=TierTerms.in_force(program, terms),
        terms=terms,
        points_asset=program.points_asset,
        next_expiry=PointsExpiry.next_of(state.lots, now),
        gifts=tuple(GiftView.of(gift) for gift in gifts),
    )


def _card(member: MemberRef) -> CardView | None:
    if member.card_number is None or member.card_state is None:
        return None
    return CardView(member.card_number, member.card_state)


async def statement(
    pos: PosParts, network_id: int, identifier: str, limit: int = 500, window: LineWindow = EVERY_LINE
) -> MemberStatement:
    """The newest `limit` lines of the window, oldest first; the balance is the member's now."""
    async with pos.unit_of_work() as uow:
        region = (await pos.program_context(uow, network_id)).phone_region
        member = await uow.find_member(network_id, customer_candidates(identifier, "identifier", region), lock=False)
        if member is None:
            raise member_not_found(identifier, "identifier")
        lines = await uow.statement(member, limit, window)
        state = await uow.member_points(member)
    return MemberStatement(member.member_id, state.balance, tuple(lines))
