"""A member's prepaid wallet at the till (issue 14): top-ups (idempotent, where the matrix allows `top_up` on
`wallet:<currency>`), the balance with its limits, and its history. Paying with it is a tender of the purchase
(application/tenders.py); a refund returns money into it (application/refunds.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from coalition.application.commands import customer_candidates, member_not_found, require_usable_card
from coalition.application.events import WALLET_TOPPED_UP
from coalition.application.ports import EVERY_LINE, LineWindow, MemberRef, PosUnitOfWork, TerminalContext, WalletLine
from coalition.application.pos_parts import PosParts
from coalition.application.pos_results import CommandResult
from coalition.application.tenders import start_of_local_day
from coalition.domain.money import format_minor, parse_amount_minor
from coalition.domain.permissions import Operation
from coalition.domain.wallets import Wallet, WalletStatus, plan_top_up, top_up_amount, wallet_counter, wallet_currency

MAX_HISTORY = 500


@dataclass(frozen=True, slots=True)
class TopUpInput:
    customer: str
    amount: str
    currency: str | None = None
    cashier: str | None = None


@dataclass(frozen=True, slots=True)
class WalletView:
    """A member's wallet as the till sees it: balance, credit limit, what it can pay now and today."""

    member_id: int
    currency: str
    balance_minor: int
    credit_limit_minor: int
    available_minor: int
    daily_spend_limit_minor: int | None
    daily_left_minor: int | None
    status: str

    @classmethod
    def of(cls, member_id: int, currency: str, wallet: Wallet | None, spent_today_minor: int) -> WalletView:
        if wallet is None:  # no top-up yet: an empty wallet
            return cls(member_id, currency, 0, 0, 0, None, None, WalletStatus.OPEN.value)
        daily_left = wallet.daily_left_minor(spent_today_minor)
        available = wallet.available_minor if daily_left is None else min(wallet.available_minor, daily_left)
        if wallet.status is WalletStatus.CLOSED:
            available = 0
        return cls(
            member_id,
            currency,
            wallet.balance_minor,
            wallet.credit_limit_minor,
            available,
            wallet.daily_spend_limit_minor,
            daily_left,
            wallet.status.value,
        )

    def json(self) -> dict[str, Any]:
        c = self.currency

        def money(amount: int | None) -> str | None:
            return None if amount is None else format_minor(amount, c)

        return {
            "member": self.member_id,
            "currency": c,
            "balance": format_minor(self.balance_minor, c),
            "credit_limit": format_minor(self.credit_limit_minor, c),
            "available": format_minor(self.available_minor, c),
            "daily_spend_limit": money(self.daily_spend_limit_minor),
            "daily_left": money(self.daily_left_minor),
            "status": self.status,
        }


@dataclass(frozen=True, slots=True)
class ToppedUp:
    wallet: WalletView
    amount_minor: int
    transaction_id: int
    recorded_at: datetime

    def json(self) -> dict[str, Any]:
        return self.wallet.json() | {
            "topped_up": format_minor(self.amount_minor, self.wallet.currency),
            "transaction": self.transaction_id,
            "recorded_at": self.recorded_at.isoformat(),
        }


def history_json(lines: list[WalletLine], currency: str, member_id: int) -> dict[str, Any]:
    return {
        "member": member_id,
        "currency": currency,
        "lines": [
            {
                "transaction": line.tx_id,
                "kind": line.kind,
                "occurred_at": line.occurred_at.isoformat(),
                "recorded_at": line.recorded_at.isoformat(),
                "outlet": line.outlet_name,
                "amount": format_minor(line.amount_minor, currency),
                "balance_after": format_minor(line.balance_after_minor, currency),
                "memo": line.memo,
            }
            for line in lines
        ],
    }


async def _member(uow: PosUnitOfWork, ctx: TerminalContext, identifier: str, *, lock: bool) -> MemberRef:
    member = await uow.find_member(ctx.network_id, customer_candidates(identifier, region=ctx.phone_region), lock=lock)
    if member is None:
        raise member_not_found(identifier)
    return member


async def check_top_up(pos: PosParts, ctx: TerminalContext, amount: str, currency: str | None = None) -> int:
    """What a top-up checks before it reads the member, for a till that asks before it takes the money: the amount
    (positive, within the network's amount limit) and the matrix allowing `top_up` here. `top_up` checks them again."""
    async with pos.unit_of_work() as uow:
        pc = await pos.program_context(uow, ctx.network_id)
        wanted = wallet_currency(currency, pc.program.currency)
        amount_minor = top_up_amount(
            parse_amount_minor(amount, wanted, field="amount"), pc.limits.max_amount_minor, wanted
        )
        matrix = await pos.matrix(uow, ctx.network_id)
        matrix.require(ctx.outlet_id, ctx.outlet_name, wallet_counter(wanted), Operation.TOP_UP)
        return amount_minor


async def top_up(
    pos: PosParts, ctx: TerminalContext, request: TopUpInput, idempotency_key: str | None, request_hash: str
) -> CommandResult[ToppedUp]:
    """Money taken at this outlet put on the member's wallet: its partner owes it to the node (PREPAID −A), the node
    to the member. The member is locked first (their points row), as every writer of a member does."""

    async def record(uow: PosUnitOfWork, _key: str) -> CommandResult[ToppedUp]:
        pc = await pos.program_context(uow, ctx.network_id)
        currency = wallet_currency(request.currency, pc.program.currency)
        amount = top_up_amount(
            parse_amount_minor(request.amount, currency, field="amount"), pc.limits.max_amount_minor, currency
        )
        matrix = await pos.matrix(uow, ctx.network_id)
        matrix.require(ctx.outlet_id, ctx.outlet_name, wallet_counter(currency), Operation.TOP_UP)
        await pos.require_cashier(uow, ctx, request.cashier)
        member = await _member(uow, ctx, request.customer, lock=True)
        require_usable_card(member)
        now = pos.clock.now()
        wallet = await uow.open_wallet(ctx.network_id, member.member_id, currency, now)
        prepaid = await pos.prepaid_account(uow, ctx, currency)  # cached: every partner has one
        tx = plan_top_up(wallet, prepaid, amount)
        tx_id = await uow.post(ctx.network_id, tx, ctx.outlet_id, now, now, cashier_login=request.cashier)
        balance = await uow.add_to_wallet(wallet.account_id, amount)
        after = Wallet(
            wallet.account_id,
            wallet.member_id,
            currency,
            balance,
            wallet.credit_limit_minor,
            wallet.daily_spend_limit_minor,
            wallet.status,
        )
        spent = await _spent_today(uow, ctx, after, now)
        topped = ToppedUp(WalletView.of(member.member_id, currency, after, spent), amount, tx_id, now)
        data = {
            "member_id": member.member_id,
            "card_number": member.card_number,
            "outlet_id": ctx.outlet_id,
            "terminal_id": ctx.terminal_id,
            "cashier": request.cashier,
            "currency": currency,
            "amount_minor": amount,
            "balance_minor": balance,
            "transaction_id": tx_id,
        }
        await pos.emit(uow, ctx.network_id, WALLET_TOPPED_UP, f"top_up:{tx_id}", data, now)
        return CommandResult(201, topped.json(), result=topped)

    result: CommandResult[ToppedUp] = await pos.idempotent(ctx, idempotency_key, request_hash, record)
    return result


async def _spent_today(uow: PosUnitOfWork, ctx: TerminalContext, wallet: Wallet, now: datetime) -> int:
    if wallet.daily_spend_limit_minor is None:
        return 0
    return await uow.wallet_spent_since(wallet.account_id, start_of_local_day(now, ctx.timezone))


async def balance(pos: PosParts, ctx: TerminalContext, identifier: str, currency: str | None) -> WalletView:
    async with pos.unit_of_work() as uow:
        pc = await pos.program_context(uow, ctx.network_id)
        wanted = wallet_currency(currency, pc.program.currency)
        member = await _member(uow, ctx, identifier, lock=False)
        wallet = await uow.wallet(member.member_id, wanted)
        spent = await _spent_today(uow, ctx, wallet, pos.clock.now()) if wallet is not None else 0
        return WalletView.of(member.member_id, wanted, wallet, spent)


async def history(
    pos: PosParts,
    ctx: TerminalContext,
    identifier: str,
    currency: str | None,
    limit: int,
    window: LineWindow = EVERY_LINE,
) -> dict[str, Any]:
    """The newest `limit` movements of the window (up to MAX_HISTORY + 1: a page and whether there is more), oldest
    first."""
    async with pos.unit_of_work() as uow:
        pc = await pos.program_context(uow, ctx.network_id)
        wanted = wallet_currency(currency, pc.program.currency)
        member = await _member(uow, ctx, identifier, lock=False)
        wallet = await uow.wallet(member.member_id, wanted)
        size = min(max(limit, 1), MAX_HISTORY + 1)
        lines = [] if wallet is None else await uow.wallet_history(wallet.account_id, size, window)
        return history_json(lines, wanted, member.member_id)
