"""Money through devices (issue 15): a device holds money of a member's wallet, then captures some of it (the rest
goes back) or releases it all (a void, or the hold's expiry). A one-shot charge holds nothing: it pays at once.

Ledger, per currency (DEVICES.md): a hold of A posts wallet −A, the node's HELD_MONEY +A; a capture of C ≤ A posts
held −A, the device partner's PREPAID +C and wallet +(A − C); a release posts held −A, wallet +A. A one-shot charge
of P posts wallet −P, PREPAID +P (one DEVICE_CHARGE, as an offline use). So HELD_MONEY holds exactly the open holds,
and a partner's PREPAID counts only what its devices took.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from coalition.domain.errors import Conflict, InvalidInput
from coalition.domain.ledger import Posting, Transaction, TransactionKind, money_asset, require_valid, transfer
from coalition.domain.money import format_minor

MAX_SESSION_MINUTES = 24 * 60  # a session never holds for longer than a day, whatever the price list says


class HoldStatus(StrEnum):
    HELD = "held"
    CAPTURED = "captured"
    VOIDED = "voided"
    EXPIRED = "expired"


class HoldKind(StrEnum):
    CHARGE = "charge"  # a use (one-shot, or held then captured)
    SESSION = "session"  # a timed session: per minute, up to a most of minutes


class DeviceClosed(Conflict):
    code = "device-closed"
    title = "The device is closed now"


class HoldNotOpen(Conflict):
    code = "hold-not-open"
    title = "The hold was already captured, voided or has expired"


@dataclass(frozen=True, slots=True)
class HeldMoney:
    """The accounts a device's money moves between, in one currency."""

    currency: str
    wallet_account: int
    held_account: int
    prepaid_account: int | None = None  # the device's partner's PREPAID: only a capture needs it

    @property
    def asset(self) -> str:
        return money_asset(self.currency)


def plan_hold(accounts: HeldMoney, amount_minor: int, memo: str = "device hold") -> Transaction:
    return require_valid(
        Transaction(
            TransactionKind.DEVICE_HOLD,
            transfer(accounts.wallet_account, accounts.held_account, accounts.asset, amount_minor),
            memo=memo,
        )
    )


def plan_charge(
    wallet_account: int, prepaid_account: int, currency: str, amount_minor: int, memo: str = "device charge"
) -> Transaction:
    """A one-shot charge: straight from the wallet to the device's partner (one DEVICE_CHARGE: wallet −P, PREPAID +P),
    as an offline use pays; nothing passes through HELD_MONEY, so nothing is left to release."""
    return require_valid(
        Transaction(
            TransactionKind.DEVICE_CHARGE,
            transfer(wallet_account, prepaid_account, money_asset(currency), amount_minor),
            memo=memo,
        )
    )


def plan_capture(accounts: HeldMoney, held_minor: int, captured_minor: int, memo: str = "device charge") -> Transaction:
    """The held money leaves HELD_MONEY: what was captured to the partner, the rest back to the wallet."""
    if not 0 <= captured_minor <= held_minor:
        raise InvalidInput(
            f"a capture is between 0 and the held {format_minor(held_minor, accounts.currency)}", field="amount"
        )
    if captured_minor == 0:
        return plan_release(accounts, held_minor, memo)
    if accounts.prepaid_account is None:
        raise ValueError("a capture needs the device partner's PREPAID account")
    asset = accounts.asset
    postings: tuple[Posting, ...] = (
        Posting(accounts.held_account, asset, -held_minor),
        Posting(accounts.prepaid_account, asset, captured_minor),
    )
    if held_minor > captured_minor:
        postings += (Posting(accounts.wallet_account, asset, held_minor - captured_minor),)
    return require_valid(Transaction(TransactionKind.DEVICE_CHARGE, postings, memo=memo))


def plan_release(accounts: HeldMoney, held_minor: int, memo: str = "device hold released") -> Transaction:
    return require_valid(
        Transaction(
            TransactionKind.DEVICE_RELEASE,
            transfer(accounts.held_account, accounts.wallet_account, accounts.asset, held_minor),
            memo=memo,
        )
    )


def capture_amount(requested_minor: int | None, held_minor: int, currency: str) -> int:
    """What a capture takes: all that is held by default, else between 0 and the held amount."""
    if requested_minor is None:
        return held_minor
    if requested_minor > held_minor:
        raise InvalidInput(
            f"a capture takes at most the held {format_minor(held_minor, currency)} {currency}", field="amount"
        )
    return requested_minor


def hold_amount(amount_minor: int, max_amount_minor: int, currency: str, *, field: str = "amount") -> int:
    """A hold is positive and at most the network's amount limit."""
    if amount_minor <= 0:
        raise InvalidInput("an amount to hold is greater than zero", field=field)
    if amount_minor > max_amount_minor:
        raise InvalidInput(
            f"an amount is at most {format_minor(max_amount_minor, currency)} {currency} here", field=field
        )
    return amount_minor


def require_held(status: HoldStatus, expires_at: datetime, now: datetime) -> None:
    """A hold may be captured or voided only while it is held and has not expired (the sweep may not have run)."""
    if status is not HoldStatus.HELD:
        raise HoldNotOpen(f"the hold is {status.value}", field="hold")
    if now >= expires_at:
        raise HoldNotOpen("the hold is expired", field="hold")


def session_minutes(started_at: datetime, now: datetime, max_minutes: int) -> int:
    """Whole minutes since the start, rounded UP (a started minute is paid), at most `max_minutes`."""
    elapsed = max(now - started_at, timedelta(0))
    minutes = -(-elapsed // timedelta(minutes=1))  # ceiling, in whole timedeltas: no float
    return min(minutes, max_minutes)


def session_expires_at(started_at: datetime, max_minutes: int, hold_ttl_seconds: int) -> datetime:
    """A session's hold outlives its longest session by the device's hold time, so a late stop still captures."""
    return started_at + timedelta(minutes=max_minutes, seconds=hold_ttl_seconds)


def affordable_uses(available_minor: int, price_minor: int) -> int:
    return 0 if price_minor <= 0 else max(0, available_minor) // price_minor
