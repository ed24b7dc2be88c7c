"""Request bodies of the HTTP API. Amounts are decimal strings, points integers; unknown fields are refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SkipValidation,
    StrictBool,
    StrictInt,
    StrictStr,
)
from pydantic_core import PydanticCustomError

from coalition.application.admin import ProgramSettings
from coalition.application.commands import GiftCardSaleInput, ItemInput, PurchaseInput, TenderInput
from coalition.application.coupons import CouponRequest
from coalition.application.enrolment import EnrolInput, IdentifierInput
from coalition.application.gifts import GiftTypeRequest
from coalition.application.permissions import MatrixEntry
from coalition.application.ports import Profile
from coalition.application.refunds import RefundInput, ReturnedItemInput
from coalition.domain.bonus import Tier
from coalition.domain.identifiers import IdentifierKind
from coalition.domain.members import DEFAULT_CARD_TYPE
from coalition.domain.money import parse_amount_minor

SEGMENTS = "labels rules select members by (`member.segments`), e.g. social, pensioner, vip"
CARD_TYPE = "what rules see as `member.card_type` when this card is presented, e.g. standard, social"
Amount = Annotated[StrictStr, Field(examples=["1500.00"], max_length=32)]
Points = Annotated[StrictInt, Field(ge=0, le=10**12)]
MAX_RECORD_ID = 2**63 - 1  # the databases' 64-bit keys: a larger number names no row, and must not reach a query
RecordId = Annotated[StrictInt, Field(ge=1, le=MAX_RECORD_ID)]
MOMENT_WITH_OFFSET = "an ISO 8601 moment with its offset, such as 2026-03-10T14:00:00+03:00 or 2026-03-10T11:00:00Z"


def _text_with_offset(value: object) -> object:
    """A till's moment as text that says its offset: pydantic alone takes a number (seconds since 1970) or a
    date as a moment, and a local time without offset is nobody's time."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:  # a custom error: its message without "Value error, "
        raise PydanticCustomError("moment_with_offset", f"expected {MOMENT_WITH_OFFSET}")
    return value


TillMoment = Annotated[AwareDatetime, BeforeValidator(_text_with_offset), Field(examples=["2026-03-10T14:00:00+03:00"])]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Item(Body):
    sku: StrictStr = Field(min_length=1, max_length=100)
    category: StrictStr | None = Field(
        default=None, max_length=100, description="omitted: the till's partner's catalogue's category of the SKU"
    )
    quantity: StrictStr | StrictInt = Field(default=1, examples=[1, "0.5"])
    unit_price: Amount | None = Field(
        default=None, description="omitted: the catalogue's list price of the SKU (docs/files.md); required otherwise"
    )
    tags: list[StrictStr] = Field(
        default_factory=list, max_length=20, description="e.g. sale, new — rules select by them"
    )

    def to_input(self) -> ItemInput:
        return ItemInput(self.sku, self.quantity, self.unit_price, self.category, tuple(self.tags))


class ReturnedItem(Body):
    sku: StrictStr = Field(min_length=1, max_length=100)
    quantity: StrictStr | StrictInt = Field(default=1)

    def to_input(self) -> ReturnedItemInput:
        return ReturnedItemInput(self.sku, self.quantity)


class Tender(Body):
    kind: Literal["wallet", "gift_card"] = Field(description="what pays: the member's wallet or a gift card")
    amount: Amount | None = Field(
        default=None, description="omitted: as much as the source can pay of what is left after the tenders before"
    )
    number: StrictStr | None = Field(default=None, max_length=64, description="the gift card's number")
    pin: StrictStr | None = Field(default=None, max_length=16, description="the gift card's PIN, if it has one")

    def to_input(self) -> TenderInput:
        return TenderInput(self.kind, self.amount, self.number, self.pin)


class QuoteBody(Body):
    customer: StrictStr = Field(min_length=1, max_length=256, description="any identifier of the member")
    amount: Amount | None = None
    items: list[Item] | None = Field(default=None, max_length=500)
    redeem_points: Points | None = None
    coupons: list[StrictStr] = Field(default_factory=list, max_length=20, description="coupon codes presented")
    tenders: list[Tender] | None = Field(
        default=None,
        max_length=8,
        description="paid after discounts and points, in this order; the rest is to collect at the till",
    )

    def to_input(self) -> PurchaseInput:
        return self._input()

    def _input(
        self, receipt: str | None = None, cashier: str | None = None, occurred_at: datetime | None = None
    ) -> PurchaseInput:
        """Built in one step for a purchase too: `dataclasses.replace` on top cost a quarter of a batch item's
        parsing."""
        return PurchaseInput(
            customer=self.customer,
            amount=self.amount,
            items=tuple(item.to_input() for item in self.items) if self.items else (),
            redeem_points=self.redeem_points,
            receipt=receipt,
            cashier=cashier,
            occurred_at=occurred_at,
            coupons=tuple(code.strip() for code in self.coupons if code.strip()) if self.coupons else (),
            tenders=tuple(tender.to_input() for tender in self.tenders) if self.tenders else (),
        )


class GiftCardSold(Body):
    amount: Amount = Field(description="what the card holds (paid at the till with the goods; earns no points)")
    pin: StrictStr | None = Field(default=None, max_length=16, description="4 to 8 digits, optional")
    valid_days: StrictInt | None = Field(default=None, description="1 to 3660; 365 when omitted")

    def to_input(self) -> GiftCardSaleInput:
        return GiftCardSaleInput(self.amount, self.pin, self.valid_days)


class PurchaseBody(QuoteBody):
    receipt: StrictStr = Field(min_length=1, max_length=100, description="the till's receipt number")
    gift_cards_sold: list[GiftCardSold] | None = Field(
        default=None,
        max_length=8,
        description="gift cards sold with the goods (single purchases only): created and activated with the sale, "
        "outside the check (no points, no discount), added to what is collected at the till",
    )
    cashier: StrictStr | None = Field(default=None, max_length=100, description="the cashier's login")
    occurred_at: TillMoment | None = Field(
        default=None, description="when the sale happened (with its offset), for offline uploads"
    )

    def to_input(self) -> PurchaseInput:
        purchase = self._input(self.receipt, self.cashier, self.occurred_at)
        if self.gift_cards_sold:
            purchase = replace(purchase, gift_cards_sold=tuple(card.to_input() for card in self.gift_cards_sold))
        return purchase


class BatchPurchase(PurchaseBody):
    idempotency_key: StrictStr = Field(
        min_length=1, max_length=200, description="one per purchase, as for a single one"
    )


class BatchBody(Body):
    # Each purchase is validated alone by the route (`BatchPurchase.model_validate`): one bad item is refused with
    # its own 422 while the others are recorded, instead of failing the whole batch.
    purchases: list[SkipValidation[BatchPurchase]] = Field(min_length=1, max_length=1000)


class RefundBody(Body):
    amount: Amount | None = Field(default=None, description="measured on the check total before points")
    items: list[ReturnedItem] | None = Field(default=None, max_length=500)
    cashier: StrictStr | None = Field(default=None, max_length=100, description="the login of who gives money back")
    occurred_at: TillMoment | None = Field(
        default=None, description="when the till gave the money back (an offline till uploading later); default now"
    )

    def to_input(self) -> RefundInput:
        items = tuple(item.to_input() for item in self.items or ())
        return RefundInput(amount=self.amount, items=items, cashier=self.cashier, occurred_at=self.occurred_at)


class BatchRefund(RefundBody):
    """A refund in POST /v1/refunds/batch: its own key, and the purchase it refunds named one of three ways."""

    idempotency_key: StrictStr = Field(min_length=1, max_length=200, description="one per refund, as for a single one")
    purchase_id: StrictStr | None = Field(default=None, max_length=64, description="the server's purchase id")
    purchase_key: StrictStr | None = Field(
        default=None,
        max_length=200,
        description="the idempotency key this terminal recorded the purchase with (an offline till's own reference)",
    )
    purchase_receipt: StrictStr | None = Field(
        default=None, max_length=100, description="the purchase's receipt number at this terminal's outlet"
    )


class RefundBatchBody(Body):
    # Each refund is validated alone by the route: one bad item is refused with its own 422, the others recorded.
    refunds: list[SkipValidation[BatchRefund]] = Field(min_length=1, max_length=1000)


class ProfileBody(Body):
    name: StrictStr | None = Field(default=None, max_length=200)
    phone: StrictStr | None = Field(default=None, max_length=32)
    email: StrictStr | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    birth_date: date | None = None
    notes: StrictStr | None = Field(default=None, max_length=2000)
    consent_data_processing: StrictBool = False
    consent_newsletters: StrictBool = False


class IdentifierBody(Body):
    kind: IdentifierKind
    value: StrictStr = Field(min_length=1, max_length=256)


class EnrolBody(Body):
    kind: Literal["personal", "anonymous"] = "personal"
    card_number: StrictStr | None = Field(default=None, max_length=64)
    profile: ProfileBody = Field(default_factory=ProfileBody)
    identifiers: list[IdentifierBody] = Field(default_factory=list, max_length=10)
    segments: list[StrictStr] = Field(default_factory=list, max_length=20, examples=[["social"]], description=SEGMENTS)
    card_type: StrictStr = Field(default=DEFAULT_CARD_TYPE, max_length=32, description=CARD_TYPE)
    first_purchase: Amount | None = Field(
        default=None,
        description="the customer's first purchase, when the network issues a card only from a least first purchase "
        "(docs/program-editor.md)",
    )

    def to_input(self) -> EnrolInput:
        return EnrolInput(
            kind=self.kind,
            card_number=self.card_number,
            profile=Profile(**self.profile.model_dump()),
            identifiers=tuple(IdentifierInput(i.kind, i.value) for i in self.identifiers),
            segments=tuple(self.segments),
            card_type=self.card_type,
            first_purchase=self.first_purchase,
        )


class CardBody(Body):
    number: StrictStr = Field(min_length=1, max_length=64)
    member: StrictStr | None = Field(default=None, max_length=256, description="an identifier of an existing member")
    card_type: StrictStr = Field(default=DEFAULT_CARD_TYPE, max_length=32, description=CARD_TYPE)


class MemberLabelsBody(Body):
    tier: StrictStr | None = Field(default=None, max_length=32, description="'' takes the member out of any tier")
    segments: list[StrictStr] | None = Field(default=None, max_length=20, description=SEGMENTS)


class VisitBody(Body):
    customer: StrictStr = Field(
        min_length=1, max_length=256, description="any identifier of the member: a wristband's NFC UID, a card number"
    )


class DeviceUseBody(Body):
    customer: StrictStr = Field(
        min_length=1, max_length=256, description="any identifier of the member: a wristband's NFC UID, a card number"
    )


class ReplaceCardBody(Body):
    new_number: StrictStr = Field(min_length=1, max_length=64)


class TierBody(Body):
    from_lifetime_spend: Amount = "0"
    accrual_bp: StrictInt = Field(ge=0, le=10_000, description="basis points of the paid amount: 300 = 3 %")
    fixed_points_per_check: Points = 0
    redeem_cap_bp: StrictInt = Field(ge=0, le=10_000, description="largest share of a check points may pay")


class ProgramBody(Body):
    code: StrictStr = "bonus"
    name: StrictStr = "Bonus points"
    point_value: Amount = "1"
    min_check_for_redeem: Amount = "0"
    points_expire_days: StrictInt | None = Field(default=None, ge=1, le=36_500)
    tiers: list[TierBody] = Field(min_length=1, max_length=20)

    def to_settings(self, currency: str) -> ProgramSettings:
        return ProgramSettings(
            code=self.code,
            name=self.name,
            tiers=tuple(
                Tier(
                    parse_amount_minor(
                        tier.from_lifetime_spend, currency, field=f"program.tiers[{i}].from_lifetime_spend"
                    ),
                    tier.accrual_bp,
                    tier.fixed_points_per_check,
                    tier.redeem_cap_bp,
                )
                for i, tier in enumerate(self.tiers)
            ),
            min_check_for_redeem_minor=parse_amount_minor(
                self.min_check_for_redeem, currency, field="program.min_check_for_redeem"
            ),
            point_value_minor=parse_amount_minor(self.point_value, currency, field="program.point_value"),
            points_expire_days=self.points_expire_days,
        )


class NetworkBody(Body):
    code: StrictStr = Field(min_length=2, max_length=63)
    name: StrictStr = Field(min_length=1, max_length=200)
    currency: StrictStr = Field(min_length=3, max_length=3)
    program: ProgramBody
    admin_key_expires_at: AwareDatetime | None = Field(
        default=None, description="when the admin key expires (with its time zone); never if omitted"
    )


class PartnerBody(Body):
    name: StrictStr = Field(min_length=1, max_length=200)


class PartnerEmailBody(Body):
    email: StrictStr | None = Field(default=None, max_length=254, description="null removes it")
    language: StrictStr | None = Field(
        default=None, max_length=8, description="'en' or 'ru': the language of its daily reports (kept if omitted)"
    )


class OutletBody(Body):
    partner_id: RecordId
    name: StrictStr = Field(min_length=1, max_length=200)
    timezone: StrictStr = "UTC"


class TerminalBody(Body):
    outlet_id: RecordId
    name: StrictStr = Field(min_length=1, max_length=200)
    expires_at: AwareDatetime | None = Field(
        default=None, description="when the key expires (with its time zone); never if omitted"
    )


class CashierBody(Body):
    outlet_id: RecordId
    login: StrictStr = Field(min_length=2, max_length=100)
    name: StrictStr = Field(min_length=1, max_length=200)
    password: StrictStr = Field(min_length=6, max_length=200)


class PasswordBody(Body):
    password: StrictStr = Field(min_length=6, max_length=200)


class CouponsBody(Body):
    campaign: StrictStr = Field(min_length=1, max_length=32, description="rules read it as `coupon_campaigns`")
    codes: list[StrictStr] = Field(default_factory=list, max_length=10_000, description="codes to register as given")
    count: StrictInt = Field(default=0, ge=0, le=10_000, description="or: how many random codes to generate")
    prefix: StrictStr = Field(default="", max_length=20, description="put before each generated code")
    valid_from: AwareDatetime | None = Field(default=None, description="default: now")
    valid_until: AwareDatetime
    uses: StrictInt = Field(default=1, ge=1, le=1_000_000, description="uses per code")
    member: StrictStr | None = Field(default=None, max_length=256, description="an identifier: only this member")

    def to_request(self) -> CouponRequest:
        return CouponRequest(
            campaign=self.campaign,
            valid_until=self.valid_until,
            valid_from=self.valid_from,
            uses=self.uses,
            codes=tuple(self.codes),
            count=self.count,
            prefix=self.prefix,
            member=self.member,
        )


class GiftTypeBody(Body):
    code: StrictStr = Field(min_length=1, max_length=32, description="what rules name in grant_gift, e.g. free-photo")
    name: StrictStr = Field(min_length=1, max_length=200)
    price: Amount = Field(description="the agreed settlement price the node pays the partner that hands it over")
    valid_days: StrictInt = Field(default=30, ge=1, le=3660, description="default validity of a granted gift")
    partners: list[StrictStr] = Field(min_length=1, max_length=100, description="partners whose outlets hand it over")

    def to_request(self) -> GiftTypeRequest:
        return GiftTypeRequest(self.code, self.name, self.price, self.valid_days, tuple(self.partners))


class MatrixEntryBody(Body):
    outlet: StrictStr = Field(min_length=1, max_length=200, description="the outlet's name")
    counter: StrictStr = Field(max_length=48, description="points, gift:<gift type> or wallet:<currency>")
    operations: list[StrictStr] = Field(max_length=5, description="accrue, spend, grant, honour, top_up")


class MatrixBody(Body):
    entries: list[MatrixEntryBody] = Field(max_length=10_000, description="the whole matrix; [] allows everything")

    def to_entries(self) -> list[MatrixEntry]:
        return [MatrixEntry(e.outlet, e.counter, tuple(e.operations)) for e in self.entries]


class ConsoleUserBody(Body):
    role: StrictStr = Field(description="'administrator' (the whole network) or 'owner' (one partner)")
    partner_id: RecordId | None = Field(default=None, description="an owner's partner; none for an administrator")
    login: StrictStr = Field(min_length=2, max_length=100)
    name: StrictStr = Field(min_length=1, max_length=200)
    password: StrictStr = Field(min_length=6, max_length=200)
