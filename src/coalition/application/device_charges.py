"""Money through devices (issue 15): a machine with its own terminal key charges a member's wallet.

authorize (reads only), a one-shot charge (paid at once: one DEVICE_CHARGE, no hold), a hold then its capture or void,
a timed session (a hold of per-minute price × most minutes, stopped by the minutes used), a kiosk's top-up, and the
sweep that releases holds past their expiry (the expire job, and lazily before any new hold of the same member).

A hold or a charge debits the wallet through the same guarded update as a wallet payment (pos_wallets.py: the CHECK
keeps the balance at or above −credit limit), the member locked first as every writer of a member does: concurrent
holds and charges never overdraw. A daily spending limit counts what devices took (pos_wallets.SPENT_TODAY).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from coalition.application import wallets_pos
from coalition.application.commands import customer_candidates, member_not_found, require_usable_card
from coalition.application.device_access import require_open
from coalition.application.device_charge_parts import (
    Ready,
    captured_charge,
    charge_json,
    money,
    ready_at,
    require_device,
    require_payable,
    rewards_json,
)
from coalition.application.device_one_shot import first_try
from coalition.application.device_prices import DevicePrices, parse_prices, price_of
from coalition.application.devices import DeviceUseService
from coalition.application.events import DEVICE_CHARGED, device_charged
from coalition.application.members_pos import usable_member_locked
from coalition.application.ports import MemberRef, PosUnitOfWork, TerminalContext
from coalition.application.pos_parts import PosParts
from coalition.application.pos_ports.device_charges import DeviceHold, DeviceRow
from coalition.application.pos_results import CommandResult
from coalition.application.tenders import start_of_local_day
from coalition.domain.device_charges import (
    MAX_SESSION_MINUTES,
    HeldMoney,
    HoldKind,
    HoldStatus,
    affordable_uses,
    capture_amount,
    hold_amount,
    plan_capture,
    plan_charge,
    plan_hold,
    plan_release,
    require_held,
    session_expires_at,
    session_minutes,
)
from coalition.domain.errors import Conflict, DomainError, Forbidden, InsufficientFunds, InvalidInput, NotFound
from coalition.domain.money import format_minor, parse_amount_minor
from coalition.domain.rules.engine import CompiledRuleSet
from coalition.domain.rules.model import Trigger
from coalition.domain.wallets import Wallet, WalletStatus

SWEEP_BATCH = 200  # expired holds released per unit of work by the expire job
MEMBER_SWEEP_LIMIT = 50  # expired holds of one member released before a new hold (more wait for the job)


class DeviceChargeService:
    def __init__(self, pos: PosParts, uses: DeviceUseService) -> None:
        self.pos = pos
        self.uses = uses

    # --- what every operation checks ------------------------------------------------------------------------

    async def device_of(self, uow: PosUnitOfWork, ctx: TerminalContext) -> DeviceRow:
        return require_device(await uow.device_of_terminal(ctx.terminal_id))

    async def _ready(self, uow: PosUnitOfWork, ctx: TerminalContext, now: datetime) -> Ready:
        return await ready_at(self.pos, uow, ctx, await self.device_of(uow, ctx), now)

    async def _spent_today(self, uow: PosUnitOfWork, ctx: TerminalContext, wallet: Wallet, now: datetime) -> int:
        if wallet.daily_spend_limit_minor is None:
            return 0
        return await uow.wallet_spent_since(wallet.account_id, start_of_local_day(now, ctx.timezone))

    async def wallet_view(
        self, uow: PosUnitOfWork, ctx: TerminalContext, member_id: int, currency: str, now: datetime
    ) -> wallets_pos.WalletView:
        wallet = await uow.wallet(member_id, currency)
        spent = 0 if wallet is None else await self._spent_today(uow, ctx, wallet, now)
        return wallets_pos.WalletView.of(member_id, currency, wallet, spent)

    # --- authorize: may this card pay here, and how many uses -----------------------------------------------

    async def authorize(self, ctx: TerminalContext, customer: str, product: str | None) -> dict[str, Any]:
        """Writes nothing. Refusals that are the card's or the moment's (closed, not allowed, too little money)
        answer `allowed: false` with why; a wrong key, member or product is a problem as on any write."""
        candidates = customer_candidates(customer, region=ctx.phone_region)
        now = self.pos.clock.now()
        async with self.pos.unit_of_work(autocommit=True) as uow:  # reads only: no transaction on PostgreSQL
            pc = await self.pos.program_context(uow, ctx.network_id)
            currency = pc.program.currency
            since = start_of_local_day(now, ctx.timezone)
            # the device, the member and the wallet in one statement, as a charge reads them
            read = await uow.read_for_charge(
                ctx.terminal_id, ctx.network_id, candidates, currency, since, now, draw_tx_id=False
            )
            device = await self.device_of(uow, ctx) if read is None else require_device(read.device)
            prices = parse_prices(device.price_list, currency)
            price = self._price_of_one(device, prices, product)
            if read is None:
                raise member_not_found(customer)
            member = read.member
            view = wallets_pos.WalletView.of(
                member.member_id, currency, read.paying.wallet, read.paying.spent_today_minor
            )
            why_not: str | None = None
            try:
                await ready_at(self.pos, uow, ctx, device, now)
                require_usable_card(member)
            except DomainError as refusal:
                why_not = refusal.detail
            if why_not is None and view.status == WalletStatus.CLOSED.value:
                why_not = "the member's wallet is closed"
            if why_not is None and price is not None and view.available_minor < price:
                why_not = f"the card can pay {format_minor(view.available_minor, currency)} {currency} now"
        return {
            "member": member.member_id,
            "device": ctx.outlet_name,
            "kind": device.kind,
            "allowed": why_not is None,
            "reason": why_not,
            "currency": currency,
            "product": product,
            "price": money(price, currency),
            "uses": None if price is None else affordable_uses(view.available_minor, price),
            "wallet": view.json(),
        }

    def _price_of_one(self, device: DeviceRow, prices: DevicePrices, product: str | None) -> int | None:
        """A use's price; for a timed table, a minute's; None when the price list prices nothing (a kiosk)."""
        if product is None and prices.per_use_minor is None:
            if device.kind == "timed_table" and prices.per_minute_minor is not None:
                return prices.per_minute_minor
            if not prices.slots:
                return None
        return price_of(prices, product)

    # --- the hold and its closing, inside a unit of work ----------------------------------------------------

    async def _member(self, uow: PosUnitOfWork, ctx: TerminalContext, customer: str) -> MemberRef:
        return await usable_member_locked(uow, ctx, customer, customer_candidates(customer, region=ctx.phone_region))

    async def _hold(
        self,
        uow: PosUnitOfWork,
        ctx: TerminalContext,
        ready: Ready,
        member: MemberRef,
        amount_minor: int,
        now: datetime,
        *,
        kind: HoldKind = HoldKind.CHARGE,
        product: str | None = None,
        per_minute_minor: int | None = None,
        max_minutes: int | None = None,
        expires_at: datetime | None = None,
    ) -> DeviceHold:
        currency = ready.currency
        wallet = await self._debit(uow, ctx, member, currency, amount_minor, now)
        held = await uow.held_money_account(ctx.network_id, currency)
        tx = plan_hold(HeldMoney(currency, wallet.account_id, held), amount_minor)
        tx_id = await uow.post(ctx.network_id, tx, ctx.outlet_id, now, now)
        hold = DeviceHold(
            id=str(uuid.uuid4()),
            network_id=ctx.network_id,
            device_id=ready.device.id,
            outlet_id=ctx.outlet_id,
            member_id=member.member_id,
            currency=currency,
            amount_minor=amount_minor,
            captured_minor=0,
            status=HoldStatus.HELD,
            kind=kind,
            product=product,
            per_minute_minor=per_minute_minor,
            max_minutes=max_minutes,
            started_at=now,
            expires_at=expires_at or now + timedelta(seconds=ready.device.hold_ttl_seconds),
            closed_at=None,
            hold_tx_id=tx_id,
            close_tx_id=None,
        )
        await uow.insert_hold(hold, now)
        return hold

    async def _debit(
        self,
        uow: PosUnitOfWork,
        ctx: TerminalContext,
        member: MemberRef,
        currency: str,
        amount_minor: int,
        now: datetime,
    ) -> Wallet:
        """Take `amount_minor` from the member's wallet (the member locked), their expired holds released first."""
        await self.release_expired_of(uow, ctx.network_id, member.member_id, now)  # their money back first
        wallet = await uow.wallet(member.member_id, currency)
        spent = 0 if wallet is None else await self._spent_today(uow, ctx, wallet, now)
        wallet = require_payable(wallet, spent, amount_minor, currency)
        try:
            await uow.add_to_wallet(wallet.account_id, -amount_minor)
        except InsufficientFunds:
            raise InsufficientFunds("the card cannot pay this much", field="customer") from None
        return wallet

    async def _close(
        self,
        uow: PosUnitOfWork,
        hold: DeviceHold,
        captured_minor: int,
        status: HoldStatus,
        now: datetime,
        prepaid_account: int | None = None,
    ) -> int:
        """Move a held amount on: `captured_minor` to the device's partner (its PREPAID account), the rest back to
        the wallet; the hold's row closed once."""
        wallet = await uow.wallet(hold.member_id, hold.currency)
        if wallet is None:
            raise LookupError(f"hold {hold.id} has no wallet")
        held = await uow.held_money_account(hold.network_id, hold.currency)
        accounts = HeldMoney(hold.currency, wallet.account_id, held, prepaid_account)
        if captured_minor:
            tx = plan_capture(accounts, hold.amount_minor, captured_minor)
        else:
            tx = plan_release(accounts, hold.amount_minor, f"device hold {status.value}")
        tx_id = await uow.post(hold.network_id, tx, hold.outlet_id, now, now)
        if hold.amount_minor > captured_minor:
            await uow.add_to_wallet(wallet.account_id, hold.amount_minor - captured_minor)
        if not await uow.close_hold(hold.id, status, captured_minor, tx_id, now):
            raise Conflict("the hold was closed meanwhile", field="hold")
        if captured_minor:  # a capture (or a session's end) charged the member
            how = "session" if hold.kind is HoldKind.SESSION else "capture"
            await self._charged(uow, hold, how, captured_minor, tx_id, now)
        return tx_id

    async def _charged(
        self, uow: PosUnitOfWork, hold: DeviceHold, how: str, amount_minor: int, tx_id: int, now: datetime
    ) -> None:
        """`device.charged`: `how` is `charge` (one-shot), `capture` (a hold's) or `session` (a timed session's end)."""
        data = device_charged(
            hold.id, how, hold.device_id, hold.outlet_id, hold.member_id, hold.currency, amount_minor, hold.product,
            tx_id, now,
        )  # fmt: skip
        await self.pos.emit(uow, hold.network_id, DEVICE_CHARGED, f"device_charge:{hold.id}", data, now)

    async def release_expired_of(self, uow: PosUnitOfWork, network_id: int, member_id: int, now: datetime) -> int:
        """Release a member's holds past their expiry (the member is locked): before a new hold, so a crashed
        device's hold never keeps the member's money beyond its time."""
        expired = await uow.expired_holds(network_id, now, member_id, MEMBER_SWEEP_LIMIT)
        for hold in expired:
            await self._close(uow, hold, 0, HoldStatus.EXPIRED, now)
        return len(expired)

    async def rewards(
        self, uow: PosUnitOfWork, ctx: TerminalContext, member: MemberRef, now: datetime, rules: CompiledRuleSet | None
    ) -> dict[str, Any]:
        """The device_use rules of a use (bonus points, coupons) as the use's own answer writes them."""
        return rewards_json(self.pos, await self.uses.reward_use(uow, ctx, member, rules, now))

    def _hold_json(self, hold: DeviceHold, view: wallets_pos.WalletView) -> dict[str, Any]:
        c = hold.currency
        return {
            "hold": hold.id,
            "member": hold.member_id,
            "kind": hold.kind.value,
            "status": hold.status.value,
            "currency": c,
            "amount": format_minor(hold.amount_minor, c),
            "product": hold.product,
            "started_at": hold.started_at.isoformat(),
            "expires_at": hold.expires_at.isoformat(),
            "wallet": view.json(),
        }

    # --- the device's writes (idempotent: the same key answers the first answer) ---------------------------

    async def charge(
        self, ctx: TerminalContext, request: ChargeInput, key: str | None, request_hash: str
    ) -> CommandResult[Any]:
        """A one-shot use, paid at once: one DEVICE_CHARGE (wallet −P, the device partner's PREPAID +P), no hold.
        First in two statements without a lock (device_one_shot.py) when no device_use rule can reward it; else, or
        when that try gives up, under the member's lock."""
        rules = await self.pos.rule_set_in_force(ctx.network_id)
        rewarded = rules is not None and rules.candidates(Trigger.DEVICE_USE, ctx.partner_name, ctx.outlet_name)
        # a webhook listening: its message is one more statement, in the locked path's transaction (as purchases)
        if not rewarded and not await self.pos.listens(ctx.network_id, DEVICE_CHARGED):
            candidates = customer_candidates(request.customer, region=ctx.phone_region)

            async def unlocked(uow: PosUnitOfWork, key: str) -> CommandResult[Any] | None:
                return await first_try(self.pos, uow, ctx, candidates, request.product, key, request_hash)

            first = await self.pos.maybe_idempotent(
                ctx, key, request_hash, unlocked, look_up_first=False, autocommit=True
            )
            if first is not None:
                return first

        async def record(uow: PosUnitOfWork, _key: str) -> CommandResult[Any]:
            now = self.pos.clock.now()
            ready = await self._ready(uow, ctx, now)
            price = price_of(ready.prices, request.product)
            member = await self._member(uow, ctx, request.customer)
            wallet = await self._debit(uow, ctx, member, ready.currency, price, now)
            prepaid = await self.pos.prepaid_account(uow, ctx, ready.currency)
            tx = plan_charge(wallet.account_id, prepaid, ready.currency, price)
            tx_id = await uow.post(ctx.network_id, tx, ctx.outlet_id, now, now)
            charge = captured_charge(
                ctx, ready, member.member_id, str(uuid.uuid4()), price, request.product, now, tx_id
            )
            await uow.insert_hold(charge, now)
            await self._charged(uow, charge, "charge", price, tx_id, now)
            view = await self.wallet_view(uow, ctx, member.member_id, ready.currency, now)
            return CommandResult(201, charge_json(ctx, charge, view, await self.rewards(uow, ctx, member, now, rules)))

        return await self.pos.idempotent(ctx, key, request_hash, record)

    async def hold(
        self, ctx: TerminalContext, request: HoldInput, key: str | None, request_hash: str
    ) -> CommandResult[Any]:
        """Hold a product's price, or an amount the device names, until it captures or voids (or the hold expires)."""

        async def record(uow: PosUnitOfWork, _key: str) -> CommandResult[Any]:
            now = self.pos.clock.now()
            ready = await self._ready(uow, ctx, now)
            if request.amount is not None and request.product is not None:
                raise InvalidInput("name a product or an amount, not both", field="amount")
            if request.amount is not None:
                amount = hold_amount(
                    parse_amount_minor(request.amount, ready.currency), ready.max_amount_minor, ready.currency
                )
            else:
                amount = price_of(ready.prices, request.product)
            member = await self._member(uow, ctx, request.customer)
            hold = await self._hold(uow, ctx, ready, member, amount, now, product=request.product)
            view = await self.wallet_view(uow, ctx, member.member_id, ready.currency, now)
            return CommandResult(201, self._hold_json(hold, view))

        return await self.pos.idempotent(ctx, key, request_hash, record)

    async def _open_hold(
        self, uow: PosUnitOfWork, ctx: TerminalContext, hold_id: str, now: datetime, *, session: bool = False
    ) -> DeviceHold:
        """This device's hold, its member locked, still held and not expired."""
        device = await self.device_of(uow, ctx)
        found = await uow.device_hold(device.id, hold_id) if _is_uuid(hold_id) else None
        if found is None or (session and found.kind is not HoldKind.SESSION):
            raise NotFound(f"this device has no {'session' if session else 'hold'} '{hold_id}'", field="hold")
        await uow.lock_member(found.member_id)
        hold = await uow.device_hold(device.id, hold_id)  # read again under the member's lock
        if hold is None:
            raise LookupError(f"hold {hold_id} vanished")
        require_held(hold.status, hold.expires_at, now)
        return hold

    async def capture(
        self, ctx: TerminalContext, hold_id: str, amount: str | None, key: str | None, request_hash: str
    ) -> CommandResult[Any]:
        rules = await self.pos.rule_set_in_force(ctx.network_id)

        async def record(uow: PosUnitOfWork, _key: str) -> CommandResult[Any]:
            now = self.pos.clock.now()
            hold = await self._open_hold(uow, ctx, hold_id, now)
            requested = None if amount is None else parse_amount_minor(amount, hold.currency)
            captured = capture_amount(requested, hold.amount_minor, hold.currency)
            prepaid = await self.pos.prepaid_account(uow, ctx, hold.currency) if captured else None
            status = HoldStatus.CAPTURED if captured else HoldStatus.VOIDED
            tx_id = await self._close(uow, hold, captured, status, now, prepaid)
            return CommandResult(200, await self._closed_json(uow, ctx, hold, captured, status, tx_id, now, rules))

        return await self.pos.idempotent(ctx, key, request_hash, record)

    async def void(self, ctx: TerminalContext, hold_id: str, key: str | None, request_hash: str) -> CommandResult[Any]:
        async def record(uow: PosUnitOfWork, _key: str) -> CommandResult[Any]:
            now = self.pos.clock.now()
            hold = await self._open_hold(uow, ctx, hold_id, now)
            tx_id = await self._close(uow, hold, 0, HoldStatus.VOIDED, now)
            return CommandResult(
                200, await self._closed_json(uow, ctx, hold, 0, HoldStatus.VOIDED, tx_id, now, None, reward=False)
            )

        return await self.pos.idempotent(ctx, key, request_hash, record)

    async def _closed_json(
        self,
        uow: PosUnitOfWork,
        ctx: TerminalContext,
        hold: DeviceHold,
        captured: int,
        status: HoldStatus,
        tx_id: int,
        now: datetime,
        rules: CompiledRuleSet | None,
        *,
        reward: bool = True,
    ) -> dict[str, Any]:
        c = hold.currency
        body = {
            "hold": hold.id,
            "member": hold.member_id,
            "kind": hold.kind.value,
            "status": status.value,
            "currency": c,
            "amount": format_minor(hold.amount_minor, c),
            "captured": format_minor(captured, c),
            "released": format_minor(hold.amount_minor - captured, c),
            "transaction": tx_id,
            "recorded_at": now.isoformat(),
            "wallet": (await self.wallet_view(uow, ctx, hold.member_id, c, now)).json(),
        }
        if captured and reward:
            member = await uow.member_by_id(hold.member_id)
            body["rewards"] = await self.rewards(uow, ctx, member, now, rules)
        return body

    # --- timed sessions -------------------------------------------------------------------------------------

    async def start_session(
        self, ctx: TerminalContext, request: SessionInput, key: str | None, request_hash: str
    ) -> CommandResult[Any]:
        """Hold the price per minute × the most minutes (the request's, at most the price list's)."""

        async def record(uow: PosUnitOfWork, _key: str) -> CommandResult[Any]:
            now = self.pos.clock.now()
            ready = await self._ready(uow, ctx, now)
            per_minute = ready.prices.per_minute_minor
            if per_minute is None:
                raise Conflict("the device has no price per minute: it runs no sessions", field="device")
            most = min(ready.prices.max_minutes or MAX_SESSION_MINUTES, MAX_SESSION_MINUTES)
            wanted = request.max_minutes if request.max_minutes is not None else most
            if not 1 <= wanted <= most:
                raise InvalidInput(f"a session here lasts 1 to {most} minutes", field="max_minutes")
            amount = hold_amount(per_minute * wanted, ready.max_amount_minor, ready.currency, field="max_minutes")
            member = await self._member(uow, ctx, request.customer)
            expires_at = session_expires_at(now, wanted, ready.device.hold_ttl_seconds)
            hold = await self._hold(
                uow,
                ctx,
                ready,
                member,
                amount,
                now,
                kind=HoldKind.SESSION,
                per_minute_minor=per_minute,
                max_minutes=wanted,
                expires_at=expires_at,
            )
            view = await self.wallet_view(uow, ctx, member.member_id, ready.currency, now)
            body = self._hold_json(hold, view) | {
                "session": hold.id,
                "per_minute": format_minor(per_minute, ready.currency),
                "max_minutes": wanted,
            }
            return CommandResult(201, body)

        return await self.pos.idempotent(ctx, key, request_hash, record)

    async def stop_session(
        self, ctx: TerminalContext, session_id: str, minutes: int | None, key: str | None, request_hash: str
    ) -> CommandResult[Any]:
        """Capture the minutes played × the price per minute (by default the server's time since the start, a
        started minute counted whole, at most the session's most), and release the rest."""
        rules = await self.pos.rule_set_in_force(ctx.network_id)

        async def record(uow: PosUnitOfWork, _key: str) -> CommandResult[Any]:
            now = self.pos.clock.now()
            hold = await self._open_hold(uow, ctx, session_id, now, session=True)
            most = hold.max_minutes or 0
            per_minute = hold.per_minute_minor or 0
            if minutes is not None and not 0 <= minutes <= most:
                raise InvalidInput(f"this session lasts 0 to {most} minutes", field="minutes")
            played = minutes if minutes is not None else session_minutes(hold.started_at, now, most)
            captured = played * per_minute
            prepaid = await self.pos.prepaid_account(uow, ctx, hold.currency) if captured else None
            status = HoldStatus.CAPTURED if captured else HoldStatus.VOIDED
            tx_id = await self._close(uow, hold, captured, status, now, prepaid)
            body = await self._closed_json(uow, ctx, hold, captured, status, tx_id, now, rules)
            return CommandResult(200, body | {"session": hold.id, "minutes": played})

        return await self.pos.idempotent(ctx, key, request_hash, record)

    # --- a kiosk takes cash onto the card -------------------------------------------------------------------

    async def kiosk_top_up(
        self, ctx: TerminalContext, customer: str, amount: str, key: str | None, request_hash: str
    ) -> CommandResult[Any]:
        """The wallet's own top-up (its matrix check, idempotency and ledger), from a kiosk that is open now."""
        async with self.pos.unit_of_work() as uow:
            device = await self.device_of(uow, ctx)
            if device.kind != "kiosk":
                raise Forbidden("only a kiosk tops a card up", field="authorization")
            require_open(device, ctx, self.pos.clock.now())
        result: CommandResult[Any] = await wallets_pos.top_up(
            self.pos, ctx, wallets_pos.TopUpInput(customer, amount), key, request_hash
        )
        return result

    # --- the sweep -------------------------------------------------------------------------------------------

    async def expire_holds(self, network_id: int) -> dict[str, int]:
        """Release every hold of the network past its expiry, in batches: the money back to the wallets."""
        released = amount = 0
        while True:
            async with self.pos.unit_of_work() as uow:
                now = self.pos.clock.now()
                batch = await uow.expired_holds(network_id, now, None, SWEEP_BATCH)
                for found in batch:
                    await uow.lock_member(found.member_id)
                    hold = await uow.device_hold(found.device_id, found.id)  # a capture may have closed it meanwhile
                    if hold is None or hold.status is not HoldStatus.HELD:
                        continue
                    await self._close(uow, hold, 0, HoldStatus.EXPIRED, now)
                    released += 1
                    amount += hold.amount_minor
            if len(batch) < SWEEP_BATCH:
                return {"holds": released, "amount_minor": amount}


@dataclass(frozen=True, slots=True)
class ChargeInput:
    customer: str
    product: str | None = None


@dataclass(frozen=True, slots=True)
class HoldInput:
    customer: str
    product: str | None = None
    amount: str | None = None


@dataclass(frozen=True, slots=True)
class SessionInput:
    customer: str
    max_minutes: int | None = None


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False
