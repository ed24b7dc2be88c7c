"""Gift cards' request bodies and answers (kept apart from the routes, so the composition root imports them
without the routes' dependencies)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from coalition.adapters.http.pos_answers import Amount, Answer, Moment
from coalition.application.gift_cards import GiftCardRequest, GiftCardView
from coalition.domain.money import format_minor

NUMBER = "the card's number: 19 digits when generated (spaces and hyphens ignored), or one the administrator gave"


class GiftCardBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: StrictStr = Field(
        max_length=32, description="what the card holds, in the network's currency", examples=["1000.00"]
    )
    currency: StrictStr | None = Field(default=None, max_length=3, description="the network's currency, if given")
    pin: StrictStr | None = Field(
        default=None, max_length=8, description="4 to 8 digits asked at every use; none if omitted"
    )
    valid_days: StrictInt | None = Field(default=None, ge=1, le=3660, description="from now; 365 if omitted")
    number: StrictStr | None = Field(
        default=None,
        max_length=64,
        description="a pre-printed card's number (6 to 32 letters and digits); generated if omitted",
    )

    def to_request(self) -> GiftCardRequest:
        return GiftCardRequest(self.amount, self.currency, self.pin, self.valid_days, self.number)


class GiftCardSaleBody(GiftCardBody):
    """A card sold at a till: the cashier who took the money may be named (counted in their cash in hand)."""

    cashier: StrictStr | None = Field(default=None, max_length=100, description="the cashier's login")

    def to_request(self) -> GiftCardRequest:
        return GiftCardRequest(self.amount, self.currency, self.pin, self.valid_days, self.number, self.cashier)


class GiftCardAnswer(Answer):
    number: str = Field(description=NUMBER)
    currency: str
    initial_amount: Amount
    balance: Amount
    status: str = Field(description="active, blocked, expired or spent")
    valid_from: Moment
    valid_until: Moment = Field(description="the card cannot pay from this moment on")
    has_pin: bool
    sold_at_outlet_id: int | None = Field(description="the outlet that sold it; null: the administrator issued it")

    @classmethod
    def of(cls, card: GiftCardView) -> GiftCardAnswer:
        return cls(
            number=card.number,
            currency=card.currency,
            initial_amount=format_minor(card.initial_minor, card.currency),
            balance=format_minor(card.balance_minor, card.currency),
            status=card.status,
            valid_from=card.valid_from,
            valid_until=card.valid_until,
            has_pin=card.has_pin,
            sold_at_outlet_id=card.sold_at_outlet_id,
        )


def gift_card_answer_json(result: object) -> dict[str, Any]:
    """A gift-card command's typed answer as the API answers it (and stores it for replays)."""
    if not isinstance(result, GiftCardView):
        raise TypeError(f"no response model writes a {type(result).__name__}")
    return GiftCardAnswer.of(result).model_dump(mode="json")


class GiftCardBreakageBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy: StrictStr = Field(
        description="'kept' (an expired card's balance goes to the node), 'returned' (back to the partner that sold "
        "it) or 'shared'; a card the administrator issued is the node's whatever the policy",
        examples=["shared"],
    )
    share_bp: StrictInt | None = Field(
        default=None,
        description="'shared' only: the selling partner's share, 0 to 10000 basis points (rounded down to the minor "
        "unit; the remainder stays with the node)",
        examples=[5000],
    )


class GiftCardBreakageAnswer(Answer):
    policy: str
    share_bp: int | None


class GiftCardExpiryAnswer(GiftCardBreakageAnswer):
    cards: int = Field(description="cards expired by this sweep")
    kept_minor: int = Field(description="minor units the node kept (PREPAID_BREAKAGE)")
    returned_minor: int = Field(description="minor units returned to the selling partners (PREPAID)")
