"""A device's one-shot charge, first try (issue 15, "Performance": authorize + charge at p99 ≤ 20 ms): one read (the
device, the member, their wallet and today's spend), one write (PostgreSQL: a single statement, no transaction; see
adapters/storage/pos_device_one_shot.py), as a purchase is written.

It gives up (None: nothing written) whenever the charge needs more than that — no member found (the locked try says
why), an expired hold to release first (a crashed device's hold holds the member's money), expired points that
change the balance the answer shows, or a wallet that changed between the read and the write. The caller then runs
the charge under the member's lock (device_charges.py); a charge whose device_use rules reward it never comes here.
"""

from __future__ import annotations

import dataclasses
import uuid

from coalition.application.commands import require_usable_card
from coalition.application.device_charge_parts import (
    captured_charge,
    charge_json,
    ready_at,
    require_device,
    require_payable,
    rewards_json,
)
from coalition.application.device_prices import price_of
from coalition.application.ports import PosUnitOfWork, TerminalContext
from coalition.application.pos_parts import PosParts
from coalition.application.pos_ports.device_charges import ChargeWrite
from coalition.application.pos_results import CommandResult, DeviceUsed
from coalition.application.tenders import start_of_local_day
from coalition.application.wallets_pos import WalletView
from coalition.domain.device_charges import plan_charge
from coalition.domain.errors import InsufficientFunds


async def first_try(
    pos: PosParts,
    uow: PosUnitOfWork,
    ctx: TerminalContext,
    candidates: tuple[str, ...],
    product: str | None,
    key: str,
    request_hash: str,
) -> CommandResult | None:
    """The charge in two statements, its answer stored by the write; None when it must be redone under the lock."""
    now = pos.clock.now()
    pc = await pos.program_context(uow, ctx.network_id)
    currency = pc.program.currency
    since = start_of_local_day(now, ctx.timezone)
    read = await uow.read_for_charge(ctx.terminal_id, ctx.network_id, candidates, currency, since, now)
    if read is None or read.holds_expired or read.lots_expired or read.tx_id is None:
        return None
    ready = await ready_at(pos, uow, ctx, require_device(read.device), now)
    price = price_of(ready.prices, product)
    member = read.member
    require_usable_card(member)
    paying = read.paying
    wallet = require_payable(paying.wallet, paying.spent_today_minor, price, currency)
    if read.wallet_version is None:
        raise LookupError("a wallet read without its version")
    prepaid = await pos.prepaid_account(uow, ctx, currency)
    charge = captured_charge(ctx, ready, member.member_id, str(uuid.uuid4()), price, product, now, read.tx_id)
    # the wallet as the write leaves it: the answer needs no read after it
    after = dataclasses.replace(wallet, balance_minor=wallet.balance_minor - price)
    spent = paying.spent_today_minor + price if wallet.daily_spend_limit_minor is not None else 0
    used = DeviceUsed(member.member_id, ctx.outlet_name, None, read.points_balance, (), None, ())
    body = charge_json(ctx, charge, WalletView.of(member.member_id, currency, after, spent), rewards_json(pos, used))
    write = ChargeWrite(
        transaction=plan_charge(wallet.account_id, prepaid, currency, price),
        wallet_account=wallet.account_id,
        wallet_version=read.wallet_version,
        charge=charge,
        terminal_id=ctx.terminal_id,
        key=key,
        request_hash=request_hash,
        response=body,
        recorded_at=now,
    )
    try:
        if not await uow.record_charge(write):
            return None
    except InsufficientFunds:  # a concurrent payment got there first: the wallets' CHECK refused
        raise InsufficientFunds("the card cannot pay this much", field="customer") from None
    return CommandResult(201, body, response_stored=True)
