"""Enrolment at a till (POST /v1/members): a personal or anonymous member, optionally with a card, their identifiers,
and the welcome bonus of the `enrolment` rules."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from coalition.application.events import MEMBER_ENROLLED, member_enrolled
from coalition.application.plans import require_member_room
from coalition.application.ports import MemberLabels, PosUnitOfWork, Profile, TerminalContext
from coalition.application.pos_parts import PosParts
from coalition.application.pos_results import CardView, CommandResult, EnrolIdentifier, Enrolment, MemberView
from coalition.application.rule_events import evaluate_at
from coalition.domain.cards import CardState
from coalition.domain.errors import InvalidInput
from coalition.domain.identifiers import IdentifierKind, normalize
from coalition.domain.members import DEFAULT_CARD_TYPE, parse_label, parse_segments
from coalition.domain.money import format_minor, parse_amount_minor
from coalition.domain.purchase import MemberPoints
from coalition.domain.rules.context import MemberFacts
from coalition.domain.rules.model import Trigger


@dataclass(frozen=True, slots=True)
class IdentifierInput:
    kind: IdentifierKind
    value: str


@dataclass(frozen=True, slots=True)
class EnrolInput:
    kind: str  # personal | anonymous
    card_number: str | None = None
    profile: Profile = field(default_factory=Profile)
    identifiers: tuple[IdentifierInput, ...] = ()
    segments: tuple[str, ...] = ()
    card_type: str = DEFAULT_CARD_TYPE
    first_purchase: str | None = None  # a decimal amount: the network may issue a card only from a least first purchase


async def enrol(
    pos: PosParts, ctx: TerminalContext, enrol: EnrolInput, idempotency_key: str | None, request_hash: str
) -> CommandResult[Enrolment]:
    identifiers = _enrolment_identifiers(enrol, ctx.phone_region)
    segments = parse_segments(enrol.segments)
    card_type = parse_label(enrol.card_type, field="card_type")
    rules = await pos.rule_set_in_force(ctx.network_id)

    async def record(uow: PosUnitOfWork, _key: str) -> CommandResult[Enrolment]:
        pc = await pos.program_context(uow, ctx.network_id)
        minimum = pc.card_min_first_purchase_minor if enrol.card_number else 0
        require_first_purchase(enrol.first_purchase, minimum, pc.program.currency)
        now = pos.clock.now()
        profile = _clean_profile(enrol, ctx.phone_region)
        await require_member_room(uow, ctx.network_id, now)
        member = await uow.create_member(ctx.network_id, enrol.kind, profile, pc, now, segments)
        card_id = None
        card_number = None
        if enrol.card_number:
            card_number = normalize(IdentifierKind.CARD, enrol.card_number, field="card_number")
            card_id = await uow.add_card(
                ctx.network_id, member.member_id, card_number, CardState.ACTIVE, now, card_type
            )
        for ident in identifiers:
            linked_card = card_id if ident.kind is IdentifierKind.CARD else None
            await uow.add_identifier(ctx.network_id, member.member_id, linked_card, ident.kind, ident.value)
        facts = MemberFacts(
            kind=enrol.kind,
            segments=frozenset(segments),
            birth_date=profile.birth_date,
            card_type=card_type if card_number else "",
        )
        no_points = MemberPoints(0, 0, ())
        evaluation = evaluate_at(rules, Trigger.ENROLMENT, facts, ctx, now)
        bonus = await pos.event_bonus(uow, ctx, member, Trigger.ENROLMENT, evaluation, now, no_points)
        enrolled = Enrolment(
            member=MemberView.of(member, profile, MemberLabels("", segments)),
            card=CardView(card_number, CardState.ACTIVE, card_type) if card_number else None,
            identifiers=tuple(EnrolIdentifier(i.kind, i.value) for i in identifiers),
            points_balance=bonus.points if bonus else 0,
            bonus=bonus,
        )
        data = member_enrolled(member.member_id, enrol.kind, card_number, ctx, enrolled.points_balance, now)
        await pos.emit(uow, ctx.network_id, MEMBER_ENROLLED, f"member:{member.member_id}", data, now)
        return pos.answered(201, enrolled)

    result: CommandResult[Enrolment] = await pos.idempotent(ctx, idempotency_key, request_hash, record)
    return result


def require_first_purchase(first_purchase: str | None, minimum_minor: int, currency: str) -> None:
    """A card is issued at a till only with a first purchase of at least the network's minimum (0: any). A first
    purchase sent is an amount whatever the minimum."""
    amount_minor = (
        None if first_purchase is None else parse_amount_minor(first_purchase, currency, field="first_purchase")
    )
    if minimum_minor > 0 and (amount_minor is None or amount_minor < minimum_minor):
        shown = format_minor(minimum_minor, currency)
        raise InvalidInput(
            f"a card is issued here only with a first purchase of at least {shown}", field="first_purchase"
        )


def _enrolment_identifiers(enrol: EnrolInput, region: str | None) -> list[IdentifierInput]:
    """The new member's identifiers in their stored forms; phones read as numbers of `region` (the network's
    country) when typed without their country code."""
    if enrol.kind not in ("personal", "anonymous"):
        raise InvalidInput("kind is 'personal' or 'anonymous'", field="kind")
    found: list[IdentifierInput] = []
    if enrol.card_number:
        found.append(
            IdentifierInput(IdentifierKind.CARD, normalize(IdentifierKind.CARD, enrol.card_number, field="card_number"))
        )
    if enrol.profile.phone:
        found.append(
            IdentifierInput(
                IdentifierKind.PHONE,
                normalize(IdentifierKind.PHONE, enrol.profile.phone, field="profile.phone", region=region),
            )
        )
    for index, ident in enumerate(enrol.identifiers):
        found.append(
            IdentifierInput(
                ident.kind, normalize(ident.kind, ident.value, field=f"identifiers[{index}].value", region=region)
            )
        )
    values = [ident.value for ident in found]
    if len(set(values)) != len(values):
        raise InvalidInput("the same identifier is listed twice", field="identifiers")
    if not found:
        raise InvalidInput(
            "a member needs at least one identifier: a card number, a phone or another", field="card_number"
        )
    return found


def _clean_profile(enrol: EnrolInput, region: str | None) -> Profile:
    profile = enrol.profile
    if enrol.kind == "anonymous":
        if profile.name or profile.email or profile.birth_date or profile.phone:
            raise InvalidInput("an anonymous card has no profile; enrol a personal member instead", field="profile")
        return Profile()
    if not profile.consent_data_processing:
        raise InvalidInput(
            "a personal profile needs the customer's consent to data processing",
            field="profile.consent_data_processing",
        )
    if profile.phone:
        return replace(
            profile, phone=normalize(IdentifierKind.PHONE, profile.phone, field="profile.phone", region=region)
        )
    return profile
