"""The events queued for webhooks (issue 16), each with its payload: what docs/webhooks.md documents.

Money is in minor units with its currency (`amount_minor`, `currency`), points are integers, moments ISO 8601 UTC.
Every payload names its network, and the ids a receiver needs to look the rest up through the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coalition.application.ports import NewPurchase, NewRefund, TerminalContext
from coalition.domain.gifts import Gift

PURCHASE_RECORDED = "purchase.recorded"
PURCHASE_REFUNDED = "purchase.refunded"
MEMBER_ENROLLED = "member.enrolled"
GIFT_GRANTED = "gift.granted"
GIFT_HONOURED = "gift.honoured"
POINTS_EXPIRED = "points.expired"
WALLET_TOPPED_UP = "wallet.topped_up"
PERIOD_CLOSED = "period.closed"
MEMBER_TIER_CHANGED = "member.tier_changed"
GIFT_CARD_SOLD = "gift_card.sold"
GIFT_CARD_REDEEMED = "gift_card.redeemed"
GIFT_CARD_EXPIRED = "gift_card.expired"
DEVICE_CHARGED = "device.charged"


def purchase_recorded(
    purchase: NewPurchase, currency: str, balance_after: int, recorded_at: datetime
) -> dict[str, Any]:
    terminal = purchase.terminal
    return {
        "purchase_id": purchase.id,
        "receipt": purchase.receipt,
        "outlet_id": terminal.outlet_id,
        "partner_id": terminal.partner_id,
        "terminal_id": terminal.terminal_id,
        "cashier": purchase.cashier_login,
        "member_id": purchase.member.member_id,
        "card_number": purchase.member.card_number,
        "currency": currency,
        "check_minor": purchase.check_minor,
        "amount_due_minor": purchase.amount_due_minor,
        "points_redeemed": purchase.points_redeemed,
        "points_earned": purchase.points_earned,
        "points_balance": balance_after,
        "occurred_at": purchase.occurred_at.isoformat(),
        "recorded_at": recorded_at.isoformat(),
    }


def purchase_refunded(refund: NewRefund, member_id: int, currency: str) -> dict[str, Any]:
    return {
        "refund_id": refund.id,
        "purchase_id": refund.purchase_id,
        "terminal_id": refund.terminal_id,
        "cashier": refund.cashier_login,
        "member_id": member_id,
        "currency": currency,
        "refund_minor": refund.refund_minor,
        "money_back_minor": refund.money_back_minor,
        "points_clawed_back": refund.points_clawed_back,
        "points_returned": refund.points_returned,
    }


def gift_granted(gift: Gift, purchase_id: str | None, outlet_id: int, currency: str) -> dict[str, Any]:
    return {
        "gift_id": gift.id,
        "gift_type": gift.gift_type.code,
        "gift_name": gift.gift_type.name,
        "member_id": gift.member_id,
        "purchase_id": purchase_id,
        "outlet_id": outlet_id,
        "currency": currency,
        "price_minor": gift.gift_type.price_minor,
        "valid_until": gift.valid_until.isoformat(),
    }


def member_enrolled(
    member_id: int, kind: str, card_number: str | None, ctx: TerminalContext, points_balance: int, now: datetime
) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "kind": kind,
        "card_number": card_number,
        "outlet_id": ctx.outlet_id,
        "partner_id": ctx.partner_id,
        "terminal_id": ctx.terminal_id,
        "points_balance": points_balance,
        "enrolled_at": now.isoformat(),
    }


def gift_card_redeemed(
    number: str, currency: str, amount_minor: int, balance_minor: int, purchase_id: str, outlet_id: int
) -> dict[str, Any]:
    return {
        "card_number": number,
        "currency": currency,
        "amount_minor": amount_minor,
        "balance_minor": balance_minor,
        "purchase_id": purchase_id,
        "outlet_id": outlet_id,
    }


def device_charged(
    charge_id: str,
    kind: str,
    device_id: int,
    outlet_id: int,
    member_id: int,
    currency: str,
    amount_minor: int,
    product: str | None,
    transaction_id: int | None,
    now: datetime,
    unpaid_minor: int = 0,
) -> dict[str, Any]:
    """`kind`: `charge` (one-shot), `capture` (a hold's), `session` (a timed session's end), `offline` (a use the
    device recorded offline and uploaded: `unpaid_minor` is what the wallet could not pay)."""
    return {
        "charge_id": charge_id,
        "kind": kind,
        "device_id": device_id,
        "outlet_id": outlet_id,
        "member_id": member_id,
        "currency": currency,
        "amount_minor": amount_minor,
        "unpaid_minor": unpaid_minor,
        "product": product,
        "transaction_id": transaction_id,
        "charged_at": now.isoformat(),
    }
