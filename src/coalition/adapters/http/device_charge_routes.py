"""Money through devices over HTTP (issue 15): a machine charges a member's wallet with its own terminal key.

Every write takes an Idempotency-Key (a retry with it gets the first answer; the same key with another body is a
422). A key that is no device's is refused with 403 (field "authorization"); an unknown or revoked key is a 401.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictInt, StrictStr

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import PosWriteOf, Svc, Terminal, answer, terminal_doc, till_write
from coalition.adapters.http.schemas import Amount, Body
from coalition.adapters.http.wallet_routes import ToppedUpAnswer
from coalition.application.device_charges import ChargeInput, HoldInput, SessionInput
from coalition.domain.device_charges import MAX_SESSION_MINUTES

router = APIRouter(prefix="/v1/devices", tags=["Devices"], route_class=CheckedRoute)

Customer = Annotated[
    StrictStr, Field(min_length=1, max_length=256, description="any identifier of the member: card, NFC UID, barcode")
]
Product = Annotated[
    StrictStr | None,
    Field(default=None, min_length=1, max_length=32, description="a slot of the price list; none: the price per use"),
]
PayWith = Annotated[
    Literal["wallet", "points"],
    Field(description="wallet: the wallet pays it all; points: the most points the rules allow, the wallet the rest"),
]
HoldId = Annotated[str, Path(min_length=1, max_length=64, description="the id the hold's answer gave")]


class AuthorizeBody(Body):
    customer: Customer
    product: Product = None
    pay_with: PayWith = "wallet"


class ChargeBody(Body):
    customer: Customer
    product: Product = None
    pay_with: PayWith = "wallet"


class HoldBody(Body):
    customer: Customer
    product: Product = None
    amount: Amount | None = Field(default=None, description="an amount to hold instead of a product's price")


class CaptureBody(Body):
    amount: Amount | None = Field(default=None, description="at most what is held; none: all of it")


class SessionBody(Body):
    customer: Customer
    max_minutes: StrictInt | None = Field(
        default=None, ge=1, le=MAX_SESSION_MINUTES, description="none: the price list's most minutes"
    )


class StopBody(Body):
    minutes: StrictInt | None = Field(
        default=None, ge=0, le=MAX_SESSION_MINUTES, description="none: the server's time since the start, rounded up"
    )


class KioskTopUpBody(Body):
    customer: Customer
    amount: Amount = Field(description="the cash the kiosk counted")


class WalletPart(BaseModel):
    member: int
    currency: str
    balance: str
    credit_limit: str
    available: str
    daily_spend_limit: str | None
    daily_left: str | None
    status: str


class AuthorizeAnswer(BaseModel):
    member: int
    device: str
    kind: str
    allowed: bool
    reason: str | None = Field(description="why not, when not allowed")
    currency: str
    product: str | None
    price: str | None = Field(description="one use's price (a timed table's: a minute's); none: nothing priced")
    uses: int | None = Field(description="how many such uses the card can pay now")
    wallet: WalletPart
    pay_with: str = "wallet"
    points_balance: int | None = Field(default=None, description="pay_with points: the member's points")
    points_usable: int | None = Field(default=None, description="pay_with points: the points that would pay one use")
    points_value: str | None = Field(default=None, description="pay_with points: what those points pay")
    wallet_pays: str | None = Field(default=None, description="pay_with points: what the wallet would pay of the rest")


class ChargeAnswer(BaseModel):
    charge: str
    member: int
    device: str
    product: str | None
    currency: str
    amount: str
    transaction: int
    recorded_at: str
    wallet: WalletPart
    rewards: dict[str, Any] = Field(description="what the device_use rules gave: points_balance, bonus, coupons")
    pay_with: str = "wallet"
    purchase: str | None = Field(default=None, description="pay_with points: the purchase the use was recorded as")
    receipt: str | None = Field(default=None, description="pay_with points: that purchase's receipt, device:<charge>")
    amount_due: str | None = Field(default=None, description="pay_with points: the price less the rules' discounts")
    points_redeemed: int | None = None
    paid_with_points: str | None = None
    paid_from_wallet: str | None = None
    points_earned: int | None = None
    points_balance: int | None = Field(default=None, description="pay_with points: the member's points after it")


class HoldAnswer(BaseModel):
    hold: str
    member: int
    kind: str
    status: str
    currency: str
    amount: str
    product: str | None
    started_at: str
    expires_at: str
    wallet: WalletPart
    session: str | None = None
    per_minute: str | None = None
    max_minutes: int | None = None


class ClosedAnswer(BaseModel):
    hold: str
    member: int
    kind: str
    status: str = Field(description="captured or voided")
    currency: str
    amount: str = Field(description="what was held")
    captured: str
    released: str = Field(description="what went back to the wallet")
    transaction: int
    recorded_at: str
    wallet: WalletPart
    rewards: dict[str, Any] | None = None
    session: str | None = None
    minutes: int | None = None


@router.post(
    "/authorize",
    response_model=AuthorizeAnswer,
    summary="May this card pay here now, and how many uses can it afford (writes nothing)",
    openapi_extra=terminal_doc(),
)
async def authorize(body: AuthorizeBody, svc: Svc, ctx: Terminal) -> AuthorizeAnswer:
    """Budgeted with the member lookups of this terminal, as a wallet's read is (README "Rate limits")."""
    asks = svc.device_points if body.pay_with == "points" else svc.device_charges
    found = await svc.member_lookups.budgeted(ctx, lambda: asks.authorize(ctx, body.customer, body.product))
    return AuthorizeAnswer(**found)


@till_write(
    router, "/charges", ChargeAnswer, "Charge one use (a product's or the per-use price) to the member's wallet", 201
)
async def charge(body: ChargeBody, w: PosWriteOf) -> JSONResponse:
    """`pay_with: points` records the use as a purchase at the device's outlet (docs/device_charges.md)."""
    if body.pay_with == "points":
        points = w.svc.device_points
        return answer(await points.charge(w.ctx, body.customer, body.product, w.key, w.fingerprint))
    request = ChargeInput(body.customer, body.product)
    return answer(await w.svc.device_charges.charge(w.ctx, request, w.key, w.fingerprint))


@till_write(
    router, "/holds", HoldAnswer, "Hold money of the member's wallet until the device captures or voids it", 201
)
async def hold(body: HoldBody, w: PosWriteOf) -> JSONResponse:
    request = HoldInput(body.customer, body.product, body.amount)
    return answer(await w.svc.device_charges.hold(w.ctx, request, w.key, w.fingerprint))


@till_write(
    router, "/holds/{hold_id}/capture", ClosedAnswer, "Take some or all of a hold; the rest goes back to the wallet"
)
async def capture(hold_id: HoldId, w: PosWriteOf, body: CaptureBody | None = None) -> JSONResponse:
    amount = body.amount if body is not None else None
    return answer(await w.svc.device_charges.capture(w.ctx, hold_id, amount, w.key, w.fingerprint))


@till_write(router, "/holds/{hold_id}/void", ClosedAnswer, "Let a hold go: all of it back to the wallet")
async def void(hold_id: HoldId, w: PosWriteOf) -> JSONResponse:
    return answer(await w.svc.device_charges.void(w.ctx, hold_id, w.key, w.fingerprint))


@till_write(router, "/sessions", HoldAnswer, "Start a timed session: hold the price per minute × the most minutes", 201)
async def start_session(body: SessionBody, w: PosWriteOf) -> JSONResponse:
    request = SessionInput(body.customer, body.max_minutes)
    return answer(await w.svc.device_charges.start_session(w.ctx, request, w.key, w.fingerprint))


@till_write(
    router,
    "/sessions/{session_id}/stop",
    ClosedAnswer,
    "Stop a session: the minutes played are charged, the rest released",
)
async def stop_session(session_id: HoldId, w: PosWriteOf, body: StopBody | None = None) -> JSONResponse:
    minutes = body.minutes if body is not None else None
    return answer(await w.svc.device_charges.stop_session(w.ctx, session_id, minutes, w.key, w.fingerprint))


@till_write(router, "/top-ups", ToppedUpAnswer, "A kiosk put the cash it counted on the member's wallet", 201)
async def kiosk_top_up(body: KioskTopUpBody, w: PosWriteOf) -> JSONResponse:
    return answer(await w.svc.device_charges.kiosk_top_up(w.ctx, body.customer, body.amount, w.key, w.fingerprint))
