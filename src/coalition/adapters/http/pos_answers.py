"""The POS answers' JSON, as response models: each writes a typed result of the application (application/pos_results.py)
as the API has always answered it — amounts as decimal strings in the answer's currency ("12.50"), shares of a check
as percentages ("15 %"), moments in ISO 8601 with their offset — and documents it in /openapi.json.

A command's answer is written once, by `answer_json`, and stored with its idempotency key; a replay gives that stored
JSON back. Optional parts of an answer (a bonus, coupons issued) are left out when the command gave none, as before.
The web terminal's pages after a purchase, a refund or an enrolment read that stored answer back as a typed result
(`stored_result`), so the amounts are turned back into minor units here, in one place, by the answer's currency.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, ValidationError, WithJsonSchema

from coalition.adapters.http.purchase_answers import PurchaseAnswer
from coalition.application import pos_results as r
from coalition.application.ports import StatementLine
from coalition.application.purchases.results import PurchaseResult
from coalition.domain.cards import CardState
from coalition.domain.gifts import GiftState
from coalition.domain.identifiers import IdentifierKind
from coalition.domain.money import format_basis_points, format_minor, parse_amount_minor
from coalition.domain.rules.builtin import BUILTIN_VERSION
from coalition.domain.rules.terms import RuleRef, TermsInForce

T = TypeVar("T")

Moment = Annotated[
    datetime,
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
Amount = Annotated[str, Field(description='an amount in the answer\'s currency, e.g. "12.50"', examples=["12.50"])]
Share = Annotated[str, Field(description='a share of a check, e.g. "15 %" or "2.5 %"', examples=["15 %"])]


class Answer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BonusAnswer(Answer):
    points: int = Field(description="the points the rules granted")
    rules: list[str] = Field(description="the codes of the rules that granted them")

    @classmethod
    def of(cls, bonus: r.GrantedBonus) -> Self:
        return cls(points=bonus.points, rules=list(bonus.rules))

    def result(self) -> r.GrantedBonus:
        return r.GrantedBonus(self.points, tuple(self.rules))


class CouponAnswer(Answer):
    code: str
    campaign: str
    valid_until: Moment
    uses: int

    @classmethod
    def of(cls, coupon: r.CouponView) -> Self:
        return cls(code=coupon.code, campaign=coupon.campaign, valid_until=coupon.valid_until, uses=coupon.uses)

    def result(self) -> r.CouponView:
        return r.CouponView(self.code, self.campaign, self.valid_until, self.uses)


class GiftAnswer(Answer):
    id: str
    gift_type: str
    name: str
    outlets: list[str] = Field(description="where it is handed over; empty: any outlet of its partners")
    valid_until: Moment

    @classmethod
    def fields_of(cls, gift: r.GiftView) -> dict[str, Any]:
        return {
            "id": gift.id,
            "gift_type": gift.gift_type,
            "name": gift.name,
            "outlets": list(gift.outlets),
            "valid_until": gift.valid_until,
        }

    @classmethod
    def of(cls, gift: r.GiftView) -> Self:
        return cls(**cls.fields_of(gift))


class CardAnswer(Answer):
    number: str
    state: str

    @classmethod
    def of(cls, card: r.CardView) -> Self:
        return cls(number=card.number, state=str(card.state))


class NewCardAnswer(CardAnswer):
    type: str = Field(description="the card type (standard, social, ...)")

    @classmethod
    def of(cls, card: r.CardView) -> Self:
        return cls(number=card.number, state=str(card.state), type=card.card_type or "")


# --- members -----------------------------------------------------------------------------------------------------


class TillMemberAnswer(Answer):
    id: int
    kind: str = Field(description="personal or anonymous")
    name: str | None
    tier: str
    segments: list[str]


class TierAnswer(Answer):
    from_lifetime_spend: Amount | None = Field(description="the program's tier threshold; null under a published set")
    accrual: Share
    fixed_points_per_check: int
    redeem_cap: Share
    min_check_for_redeem: Amount

    @classmethod
    def of(cls, tier: r.TierTerms, currency: str) -> Self:
        return cls(
            from_lifetime_spend=(
                format_minor(tier.from_lifetime_spend_minor, currency)
                if tier.from_lifetime_spend_minor is not None
                else None
            ),
            accrual=format_basis_points(tier.accrual_bp),
            fixed_points_per_check=tier.fixed_points_per_check,
            redeem_cap=format_basis_points(tier.redeem_cap_bp),
            min_check_for_redeem=format_minor(tier.min_check_for_redeem_minor, currency),
        )


class RuleRefAnswer(Answer):
    code: str
    name: str


class TermsAnswer(Answer):
    """The terms in force for the member here and now, in basis points, with the rules that give them."""

    rule_set_version: int | None = Field(description="the published version; null: the built-in program's rules")
    accrual_bp: int
    fixed_points_per_check: int
    redeem_cap_bp: int
    min_check_for_redeem: Amount
    discount_bp: int
    accrual_rules: list[RuleRefAnswer]
    redemption_rule: RuleRefAnswer | None
    discount_rules: list[RuleRefAnswer]

    @classmethod
    def of(cls, terms: TermsInForce, currency: str) -> Self:
        def ref(rule: RuleRef) -> RuleRefAnswer:
            return RuleRefAnswer(code=rule.code, name=rule.name)

        return cls(
            rule_set_version=None if terms.rule_set_version == BUILTIN_VERSION else terms.rule_set_version,
            accrual_bp=terms.accrual_bp,
            fixed_points_per_check=terms.fixed_points_per_check,
            redeem_cap_bp=terms.redeem_cap_bp,
            min_check_for_redeem=format_minor(terms.min_check_for_redeem_minor, currency),
            discount_bp=terms.discount_bp,
            accrual_rules=[ref(rule) for rule in terms.accrual_rules],
            redemption_rule=ref(terms.redemption_rule) if terms.redemption_rule is not None else None,
            discount_rules=[ref(rule) for rule in terms.discount_rules],
        )


class BalanceAnswer(Answer):
    asset: str
    balance: int


class ExpiryAnswer(Answer):
    points: int
    expires_at: Moment


class MemberSummaryAnswer(Answer):
    member: TillMemberAnswer
    card: CardAnswer | None = Field(description="the card the identifier named, if it named one")
    cards: list[CardAnswer]
    points_balance: int
    lifetime_spend: Amount
    currency: str
    tier: TierAnswer
    terms: TermsAnswer
    balances: list[BalanceAnswer]
    next_expiry: ExpiryAnswer | None
    gifts: list[GiftAnswer] = Field(description="gifts granted to the member and not handed over yet")

    @classmethod
    def of(cls, summary: r.MemberSummary) -> Self:
        member = summary.member
        expiry = summary.next_expiry
        return cls(
            member=TillMemberAnswer(
                id=member.id, kind=member.kind, name=member.name, tier=member.tier, segments=list(member.segments)
            ),
            card=CardAnswer.of(summary.card) if summary.card else None,
            cards=[CardAnswer.of(card) for card in summary.cards],
            points_balance=summary.points_balance,
            lifetime_spend=format_minor(summary.lifetime_spend_minor, summary.currency),
            currency=summary.currency,
            tier=TierAnswer.of(summary.tier, summary.currency),
            terms=TermsAnswer.of(summary.terms, summary.currency),
            balances=[BalanceAnswer(asset=summary.points_asset, balance=summary.points_balance)],
            next_expiry=ExpiryAnswer(points=expiry.points, expires_at=expiry.expires_at) if expiry else None,
            gifts=[GiftAnswer.of(gift) for gift in summary.gifts],
        )


class MemberAnswer(Answer):
    id: int
    kind: str
    tier: str
    segments: list[str]
    name: str | None
    phone: str | None
    email: str | None
    birth_date: date | None
    consent_data_processing: bool
    consent_newsletters: bool

    @classmethod
    def of(cls, member: r.MemberView) -> Self:
        return cls(
            id=member.id,
            kind=member.kind,
            tier=member.tier,
            segments=list(member.segments),
            name=member.name,
            phone=member.phone,
            email=member.email,
            birth_date=member.birth_date,
            consent_data_processing=member.consent_data_processing,
            consent_newsletters=member.consent_newsletters,
        )

    def result(self) -> r.MemberView:
        return r.MemberView(
            id=self.id,
            kind=self.kind,
            tier=self.tier,
            segments=tuple(self.segments),
            name=self.name,
            phone=self.phone,
            email=self.email,
            birth_date=self.birth_date,
            consent_data_processing=self.consent_data_processing,
            consent_newsletters=self.consent_newsletters,
        )


class IdentifierAnswer(Answer):
    kind: str
    value: str


class EnrolmentAnswer(Answer):
    member: MemberAnswer
    card: NewCardAnswer | None
    identifiers: list[IdentifierAnswer]
    points_balance: int
    bonus: BonusAnswer | None = Field(default=None, description="present when enrolment rules granted points")

    @classmethod
    def of(cls, enrolment: r.Enrolment) -> Self:
        optional: dict[str, Any] = {"bonus": BonusAnswer.of(enrolment.bonus)} if enrolment.bonus else {}
        return cls(
            member=MemberAnswer.of(enrolment.member),
            card=NewCardAnswer.of(enrolment.card) if enrolment.card else None,
            identifiers=[IdentifierAnswer(kind=str(i.kind), value=i.value) for i in enrolment.identifiers],
            points_balance=enrolment.points_balance,
            **optional,
        )

    def result(self) -> r.Enrolment:
        """The typed enrolment of a stored answer (the terminal's page after an enrolment reads it)."""
        card = self.card
        return r.Enrolment(
            member=self.member.result(),
            card=r.CardView(card.number, CardState(card.state), card.type) if card else None,
            identifiers=tuple(r.EnrolIdentifier(IdentifierKind(i.kind), i.value) for i in self.identifiers),
            points_balance=self.points_balance,
            bonus=self.bonus.result() if self.bonus else None,
        )


class StatementLineAnswer(Answer):
    tx_id: int
    kind: str
    occurred_at: Moment
    recorded_at: Moment
    outlet: str | None
    points: int = Field(description="the net change of the balance: points_earned - points_spent")
    points_earned: int = Field(description="points that came into the balance: earned, a bonus, refunded")
    points_spent: int = Field(description="points that left it: paid with, taken back by a refund, expired")
    balance_after: int
    memo: str
    reverses_tx_id: int | None

    @classmethod
    def of(cls, line: StatementLine) -> Self:
        return cls(
            tx_id=line.tx_id,
            kind=line.kind,
            occurred_at=line.occurred_at,
            recorded_at=line.recorded_at,
            outlet=line.outlet_name,
            points=line.amount,
            points_earned=line.points_earned,
            points_spent=line.points_spent,
            balance_after=line.balance_after,
            memo=line.memo,
            reverses_tx_id=line.reverses_tx_id,
        )


class StatementAnswer(Answer):
    member_id: int
    points_balance: int
    transactions: list[StatementLineAnswer]
    next_cursor: str | None = Field(default=None, description="the older page's `cursor`; null on the oldest page")

    @classmethod
    def of(cls, statement: r.MemberStatement) -> Self:
        return cls(
            member_id=statement.member_id,
            points_balance=statement.points_balance,
            transactions=[StatementLineAnswer.of(line) for line in statement.transactions],
        )


# --- refunds, cards, gifts ---------------------------------------------------------------------------------------


def _rewards(bonus: r.GrantedBonus | None, coupons: tuple[r.CouponView, ...]) -> dict[str, Any]:
    """What event rules gave, for the answers that show it only when they gave something."""
    rewards: dict[str, Any] = {}
    if bonus is not None:
        rewards["bonus"] = BonusAnswer.of(bonus)
    if coupons:
        rewards["coupons_issued"] = [CouponAnswer.of(coupon) for coupon in coupons]
    return rewards


class GiftCardBackAnswer(Answer):
    number: str
    amount: Amount = Field(description="put back on the card")


class RefundAnswer(Answer):
    id: str
    purchase_id: str
    amount: Amount = Field(description="the refund, measured on the check total before points")
    money_back: Amount
    currency: str
    points_clawed_back: int
    points_returned: int
    points_balance: int
    refundable_left: Amount
    gifts_revoked: list[str]
    bonus: BonusAnswer | None = Field(default=None, description="present when refund rules granted points")
    coupons_issued: list[CouponAnswer] | None = Field(default=None, description="present when refund rules issued")
    to_wallet: Amount | None = Field(
        default=None, description="returned into the wallet that paid (money_back: the rest)"
    )
    to_gift_cards: list[GiftCardBackAnswer] | None = Field(
        default=None,
        description="present when gift cards paid: what went back onto each (a card expired since takes nothing: "
        "its share is in money_back)",
    )

    @classmethod
    def of(cls, refund: r.Refunded) -> Self:
        currency = refund.currency
        wallet: dict[str, Any] = {}
        if refund.to_wallet_minor is not None:
            wallet["to_wallet"] = format_minor(refund.to_wallet_minor, currency)
        if refund.to_gift_cards is not None:
            wallet["to_gift_cards"] = [
                GiftCardBackAnswer(number=card.number, amount=format_minor(card.amount_minor, currency))
                for card in refund.to_gift_cards
            ]
        return cls(
            **wallet,
            id=refund.id,
            purchase_id=refund.purchase_id,
            amount=format_minor(refund.amount_minor, currency),
            money_back=format_minor(refund.money_back_minor, currency),
            currency=currency,
            points_clawed_back=refund.points_clawed_back,
            points_returned=refund.points_returned,
            points_balance=refund.points_balance,
            refundable_left=format_minor(refund.refundable_left_minor, currency),
            gifts_revoked=list(refund.gifts_revoked),
            **_rewards(refund.bonus, refund.coupons_issued),
        )

    def result(self) -> r.Refunded:
        """The typed refund of a stored answer: its amounts back in minor units of its currency, exactly."""
        currency = self.currency
        return r.Refunded(
            id=self.id,
            purchase_id=self.purchase_id,
            amount_minor=parse_amount_minor(self.amount, currency),
            money_back_minor=parse_amount_minor(self.money_back, currency),
            currency=currency,
            points_clawed_back=self.points_clawed_back,
            points_returned=self.points_returned,
            points_balance=self.points_balance,
            refundable_left_minor=parse_amount_minor(self.refundable_left, currency),
            gifts_revoked=tuple(self.gifts_revoked),
            bonus=self.bonus.result() if self.bonus else None,
            coupons_issued=tuple(coupon.result() for coupon in self.coupons_issued or ()),
            to_wallet_minor=None if self.to_wallet is None else parse_amount_minor(self.to_wallet, currency),
            to_gift_cards=None
            if self.to_gift_cards is None
            else tuple(
                r.ToGiftCard(card.number, parse_amount_minor(card.amount, currency)) for card in self.to_gift_cards
            ),
        )


class CardIssuedAnswer(Answer):
    number: str
    state: str
    type: str
    member_id: int

    @classmethod
    def of(cls, card: r.CardIssued) -> Self:
        return cls(number=card.number, state=str(card.state), type=card.card_type, member_id=card.member_id)


class CardChangedAnswer(Answer):
    number: str
    state: str
    member_id: int
    replaced_by: CardAnswer | None = Field(default=None, description="present when the card was replaced")

    @classmethod
    def of(cls, card: r.CardChanged) -> Self:
        optional: dict[str, Any] = {"replaced_by": CardAnswer.of(card.replaced_by)} if card.replaced_by else {}
        return cls(number=card.number, state=str(card.state), member_id=card.member_id, **optional)


class GiftHonouredAnswer(GiftAnswer):
    state: str
    honoured_at: Moment
    outlet: str
    price: Amount = Field(description="what the node owes this outlet's partner for it")

    @classmethod
    def of_honoured(cls, honoured: r.GiftHonoured) -> Self:
        return cls(
            **cls.fields_of(honoured.gift),
            state=GiftState.HONOURED.value,
            honoured_at=honoured.honoured_at,
            outlet=honoured.outlet,
            price=format_minor(honoured.price_minor, honoured.currency),
        )


# --- visits and devices ------------------------------------------------------------------------------------------


class VisitAnswer(Answer):
    id: str
    state: str = Field(description="open or ended")
    entry_outlet: str
    started_at: Moment
    exit_outlet: str | None
    ended_at: Moment | None
    member: int

    @classmethod
    def fields_of(cls, visit: r.VisitView) -> dict[str, Any]:
        return {
            "id": visit.id,
            "state": "open" if visit.is_open else "ended",
            "entry_outlet": visit.entry_outlet,
            "started_at": visit.started_at,
            "exit_outlet": visit.exit_outlet,
            "ended_at": visit.ended_at,
            "member": visit.member_id,
        }

    @classmethod
    def of(cls, visit: r.VisitView) -> Self:
        return cls(**cls.fields_of(visit))


class VisitStartedAnswer(VisitAnswer):
    points_balance: int
    bonus: BonusAnswer | None = Field(default=None, description="present when visit_start rules granted points")

    @classmethod
    def of_started(cls, started: r.VisitStarted) -> Self:
        optional: dict[str, Any] = {"bonus": BonusAnswer.of(started.bonus)} if started.bonus else {}
        return cls(**cls.fields_of(started.visit), points_balance=started.points_balance, **optional)


class ResetAnswer(Answer):
    points: int
    gifts: list[str]
    rules: list[str]


class VisitEndedAnswer(VisitAnswer):
    points_balance: int
    points_expired: int
    reset: ResetAnswer

    @classmethod
    def of_ended(cls, ended: r.VisitEnded) -> Self:
        reset = ResetAnswer(points=ended.reset.points, gifts=list(ended.reset.gifts), rules=list(ended.reset.rules))
        return cls(
            **cls.fields_of(ended.visit),
            points_balance=ended.points_balance,
            points_expired=ended.points_expired,
            reset=reset,
        )


class DeviceUseAnswer(Answer):
    member: int
    device: str = Field(description="the device's outlet")
    visit: str | None = Field(description="the member's open visit, if any")
    points_balance: int
    applied_rules: list[str]
    bonus: BonusAnswer | None = Field(default=None, description="present when device_use rules granted points")
    coupons_issued: list[CouponAnswer] | None = Field(default=None, description="present when rules issued coupons")

    @classmethod
    def of(cls, used: r.DeviceUsed) -> Self:
        return cls(
            member=used.member_id,
            device=used.device,
            visit=used.visit_id,
            points_balance=used.points_balance,
            applied_rules=list(used.applied_rules),
            **_rewards(used.bonus, used.coupons_issued),
        )


_WRITERS: dict[type, Callable[[Any], Answer]] = {
    r.MemberSummary: MemberSummaryAnswer.of,
    r.Enrolment: EnrolmentAnswer.of,
    r.MemberStatement: StatementAnswer.of,
    r.Refunded: RefundAnswer.of,
    r.CardIssued: CardIssuedAnswer.of,
    r.CardChanged: CardChangedAnswer.of,
    r.GiftHonoured: GiftHonouredAnswer.of_honoured,
    r.VisitView: VisitAnswer.of,
    r.VisitStarted: VisitStartedAnswer.of_started,
    r.VisitEnded: VisitEndedAnswer.of_ended,
    r.DeviceUsed: DeviceUseAnswer.of,
}


def answer_of(result: object) -> Answer:
    writer = _WRITERS.get(type(result))
    if writer is None:
        raise TypeError(f"no response model writes a {type(result).__name__}")
    return writer(result)


def answer_json(result: object) -> dict[str, Any]:
    """A typed result as the API answers it (and stores it for replays): parts a command did not give left out."""
    return answer_of(result).model_dump(mode="json", exclude_unset=True)


_READERS: dict[type, Callable[[dict[str, Any]], object]] = {
    PurchaseResult: lambda body: PurchaseAnswer.model_validate(body).result(),
    r.Refunded: lambda body: RefundAnswer.model_validate(body).result(),
    r.Enrolment: lambda body: EnrolmentAnswer.model_validate(body).result(),
}


def stored_result(kind: type[T], body: dict[str, Any]) -> T | None:
    """A stored answer read back as the typed result `kind`; None when the body is not an answer of that kind."""
    try:
        found = _READERS[kind](body)
    except ValidationError:
        return None
    return found if isinstance(found, kind) else None
