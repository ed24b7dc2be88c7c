"""What the device charges' commands share (issue 15): the device ready to take money now, the checks of a wallet
before it pays, and a one-shot charge's row and answer — for the locked path (device_charges.py) and the one-shot
charge's first try (device_one_shot.py) alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from coalition.application import wallets_pos
from coalition.application.device_access import require_open
from coalition.application.device_prices import DevicePrices, parse_prices
from coalition.application.device_status import device_of_key
from coalition.application.ports import PosUnitOfWork, TerminalContext
from coalition.application.pos_parts import PosParts
from coalition.application.pos_ports.device_charges import DeviceHold, DeviceRow
from coalition.application.pos_results import DeviceUsed
from coalition.domain.device_charges import HoldKind, HoldStatus
from coalition.domain.errors import Conflict, InsufficientFunds
from coalition.domain.money import format_minor
from coalition.domain.permissions import Operation
from coalition.domain.wallets import Wallet, WalletStatus, wallet_counter

REWARD_FIELDS = ("points_balance", "applied_rules", "bonus", "coupons_issued")


@dataclass(frozen=True, slots=True)
class Ready:
    """A device that may take money now, and the network's currency and amount limit."""

    device: DeviceRow
    currency: str
    max_amount_minor: int
    prices: DevicePrices


def money(amount_minor: int | None, currency: str) -> str | None:
    return None if amount_minor is None else format_minor(amount_minor, currency)


def require_device(device: DeviceRow | None) -> DeviceRow:
    return device_of_key(device)


async def ready_at(pos: PosParts, uow: PosUnitOfWork, ctx: TerminalContext, device: DeviceRow, now: datetime) -> Ready:
    """The device, open now by its hours, where the matrix lets its outlet take wallet money (`spend`)."""
    require_open(device, ctx, now)
    pc = await pos.program_context(uow, ctx.network_id)
    currency = pc.program.currency
    matrix = await pos.matrix(uow, ctx.network_id)
    matrix.require(ctx.outlet_id, ctx.outlet_name, wallet_counter(currency), Operation.SPEND)
    return Ready(device, currency, pc.limits.max_amount_minor, parse_prices(device.price_list, currency))


def require_payable(wallet: Wallet | None, spent_today_minor: int, amount_minor: int, currency: str) -> Wallet:
    """The wallet that can pay `amount_minor` now (its balance, credit and daily limits), or the refusal saying why.
    The clear answer only: the wallets' CHECK is what guards a race."""
    if wallet is None:
        raise InsufficientFunds("the member has no money on the card", field="customer")
    if wallet.status is WalletStatus.CLOSED:
        raise Conflict("the member's wallet is closed", field="customer")
    daily_left = wallet.daily_left_minor(spent_today_minor)
    if daily_left is not None and amount_minor > daily_left:
        raise InsufficientFunds(
            f"the wallet's daily limit leaves {format_minor(daily_left, currency)} {currency} today", field="customer"
        )
    if amount_minor > wallet.available_minor:
        raise InsufficientFunds(
            f"the card can pay {format_minor(wallet.available_minor, currency)} {currency}, not "
            f"{format_minor(amount_minor, currency)}",
            field="customer",
        )
    return wallet


def captured_charge(
    ctx: TerminalContext,
    ready: Ready,
    member_id: int,
    charge_id: str,
    amount_minor: int,
    product: str | None,
    now: datetime,
    tx_id: int,
) -> DeviceHold:
    """A one-shot charge's row of `device_holds`, captured at once: the console, the daily limit's sum and the
    device's answer name a charge by it. Its hold and closing transaction are both the charge's DEVICE_CHARGE (it
    held nothing, so `coalition verify`'s held-money check never counts it)."""
    return DeviceHold(
        id=charge_id,
        network_id=ctx.network_id,
        device_id=ready.device.id,
        outlet_id=ctx.outlet_id,
        member_id=member_id,
        currency=ready.currency,
        amount_minor=amount_minor,
        captured_minor=amount_minor,
        status=HoldStatus.CAPTURED,
        kind=HoldKind.CHARGE,
        product=product,
        per_minute_minor=None,
        max_minutes=None,
        started_at=now,
        expires_at=now + timedelta(seconds=ready.device.hold_ttl_seconds),
        closed_at=now,
        hold_tx_id=tx_id,
        close_tx_id=tx_id,
    )


def rewards_json(pos: PosParts, used: DeviceUsed) -> dict[str, Any]:
    """The device_use rules' part of a charge's answer, as the use's own answer writes it."""
    body = pos.answered(201, used).body
    return {name: body[name] for name in REWARD_FIELDS if name in body}


def charge_json(
    ctx: TerminalContext,
    charge: DeviceHold,
    view: wallets_pos.WalletView,
    rewards: dict[str, Any],
) -> dict[str, Any]:
    c = charge.currency
    return {
        "charge": charge.id,
        "member": charge.member_id,
        "device": ctx.outlet_name,
        "product": charge.product,
        "currency": c,
        "amount": format_minor(charge.captured_minor, c),
        "transaction": charge.close_tx_id,
        "recorded_at": charge.started_at.isoformat(),
        "wallet": view.json(),
        "rewards": rewards,
    }
