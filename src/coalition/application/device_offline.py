"""A device's offline uses (issue 15): a machine that lost the network kept selling to cards within its offline limit
per card, and uploads each use later with its own key and the time it happened.

Each use is judged and written in a unit of work of its own, its member locked: a bad use never stops the others,
a crash half-way keeps what was written, and a re-upload answers each written use's first result (the unique
(device, key) of `device_offline_uses` makes a concurrent re-upload of the same use a replay, never a second
charge). A use is priced by the device's price list in force when it happened and paid straight from the wallet to
the device partner's PREPAID (domain/device_offline.py); what the wallet cannot pay stays unpaid, the partner's loss.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from coalition.application import wallets_pos
from coalition.application.commands import DuplicateKey, customer_candidates, replay
from coalition.application.device_charges import DeviceChargeService
from coalition.application.device_prices import DevicePrices, parse_prices, price_of
from coalition.application.device_status import device_of_key
from coalition.application.devices import DeviceUseService
from coalition.application.events import DEVICE_CHARGED, device_charged
from coalition.application.members_pos import usable_member_locked
from coalition.application.ports import MemberRef, PosUnitOfWork, StoredResponse, TerminalContext
from coalition.application.pos_parts import PosParts
from coalition.application.pos_ports.device_charges import DeviceRow
from coalition.application.pos_ports.device_offline import OfflineUseRecord
from coalition.application.pos_results import CommandResult
from coalition.application.tenders import start_of_local_day
from coalition.domain.device_charges import MAX_SESSION_MINUTES
from coalition.domain.device_offline import over_offline_limit, payment, plan_offline_charge, use_moment
from coalition.domain.errors import Conflict, DomainError, InvalidInput, MemberNotFound
from coalition.domain.money import format_minor
from coalition.domain.permissions import Operation
from coalition.domain.rules.engine import CompiledRuleSet
from coalition.domain.wallets import Wallet, wallet_counter

RulesAt = Callable[[int, datetime], Awaitable[CompiledRuleSet | None]]


@dataclass(frozen=True, slots=True)
class OfflineUseInput:
    key: str
    customer: str
    occurred_at: str  # as the device sent it: read here, so a bad one refuses its use alone
    product: str | None = None
    minutes: int | None = None


@dataclass(frozen=True, slots=True)
class Uploader:
    """The device uploading, and what every use of the upload shares."""

    device: DeviceRow
    offline_limit_minor: int
    created_at: datetime
    currency: str


class UnknownCard(InvalidInput):
    code = "member-not-found"
    title = "No member has this identifier in this network"


Outcome = dict[str, Any] | DomainError  # a use's result, or why it was refused (the field named within the use)


def _moment_of(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            "occurred_at is a moment with its offset, such as 2026-03-10T14:00:00+03:00", field="occurred_at"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput("occurred_at needs a time zone offset, such as Z or +03:00", field="occurred_at")
    return moment


def _use_hash(use: OfflineUseInput, moment: datetime) -> str:
    """The use's identity besides its key: the same use sent again (the moment with any offset) matches it."""
    body = {"customer": use.customer, "product": use.product, "minutes": use.minutes, "at": moment.timestamp()}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def use_price(prices: DevicePrices, product: str | None, minutes: int | None) -> int:
    """A use's price by the list then: a product's (slot's), the price per use, or minutes × the price per minute
    (a timed table's use names its minutes)."""
    if minutes is not None:
        if product is not None:
            raise InvalidInput("name a product or minutes, not both", field="minutes")
        if prices.per_minute_minor is None:
            raise InvalidInput("the device had no price per minute then", field="minutes")
        most = min(prices.max_minutes or MAX_SESSION_MINUTES, MAX_SESSION_MINUTES)
        if not 1 <= minutes <= most:
            raise InvalidInput(f"a use here lasted 1 to {most} minutes", field="minutes")
        return minutes * prices.per_minute_minor
    if product is None and prices.per_use_minor is None and prices.per_minute_minor is not None:
        raise InvalidInput("a use of a timed device names its minutes", field="minutes")
    return price_of(prices, product)


class OfflineUseService:
    def __init__(self, pos: PosParts, uses: DeviceUseService, charges: DeviceChargeService, rules_at: RulesAt) -> None:
        self.pos = pos
        self.uses = uses
        self.charges = charges
        self.rules_at = rules_at

    # --- the whole upload's idempotency key (optional: each use has its own) ----------------------------------

    async def stored_upload(self, ctx: TerminalContext, key: str, request_hash: str) -> CommandResult[Any] | None:
        async with self.pos.unit_of_work() as uow:
            stored = await uow.stored_response(ctx.terminal_id, key)
        return None if stored is None else replay(stored, request_hash)

    async def remember_upload(self, ctx: TerminalContext, key: str, request_hash: str, body: dict[str, Any]) -> None:
        try:
            async with self.pos.unit_of_work() as uow:
                await uow.store_response(
                    ctx.terminal_id, key, StoredResponse(request_hash, 200, body), self.pos.clock.now()
                )
        except DuplicateKey:  # the same upload answered concurrently: its uses' results are these anyway
            return

    # --- the upload ------------------------------------------------------------------------------------------

    async def upload(self, ctx: TerminalContext, uses: Sequence[OfflineUseInput]) -> list[Outcome]:
        """Each use's outcome, in order. The device itself must be able to take wallet money (an active device's key,
        the matrix's `spend` at its outlet): else the whole upload is refused and nothing is written."""
        uploader = await self._uploader(ctx)
        card_totals: dict[int, int] = {}  # member → the priced uses of this upload so far (the offline limit)
        outcomes: list[Outcome] = []
        for use in uses:
            try:
                outcomes.append(await self._one(ctx, uploader, use, card_totals))
            except DomainError as refusal:  # its field named within the use (the caller knows where it was)
                outcomes.append(refusal)
        return outcomes

    async def _uploader(self, ctx: TerminalContext) -> Uploader:
        async with self.pos.unit_of_work() as uow:
            device = device_of_key(await uow.device_of_terminal(ctx.terminal_id))
            pc = await self.pos.program_context(uow, ctx.network_id)
            currency = pc.program.currency
            matrix = await self.pos.matrix(uow, ctx.network_id)
            matrix.require(ctx.outlet_id, ctx.outlet_name, wallet_counter(currency), Operation.SPEND)
            terms = await uow.device_offline_terms(device.id)
        return Uploader(device, terms.offline_limit_minor, terms.created_at, currency)

    async def _one(
        self, ctx: TerminalContext, uploader: Uploader, use: OfflineUseInput, card_totals: dict[int, int]
    ) -> dict[str, Any]:
        moment = _moment_of(use.occurred_at)
        candidates = customer_candidates(use.customer, region=ctx.phone_region)
        use_hash = _use_hash(use, moment)
        now = self.pos.clock.now()
        try:
            use_moment(moment, now, uploader.created_at)
            too_late: InvalidInput | None = None
        except InvalidInput as refusal:  # refused only if the use was not written before (a re-upload replays)
            too_late = refusal
        rules = None if too_late else await self.rules_at(ctx.network_id, moment)  # before the unit of work
        try:
            async with self.pos.unit_of_work() as uow:
                first = await uow.offline_use(uploader.device.id, use.key)
                if first is not None:
                    return self._replayed(first, use_hash, card_totals)
                if too_late is not None:
                    raise too_late
                try:
                    member = await usable_member_locked(uow, ctx, use.customer, candidates)
                except MemberNotFound as unknown:  # the upload's own input, like its product: a 422 of the use
                    raise UnknownCard(unknown.detail, field="customer") from None
                return await self._charge(uow, ctx, uploader, use, use_hash, member, moment, now, rules, card_totals)
        except DuplicateKey:  # a concurrent upload wrote this use first: its result stands
            async with self.pos.unit_of_work() as uow:
                first = await uow.offline_use(uploader.device.id, use.key)
            if first is None:
                raise Conflict("this use's key collided with another write; upload it again", field="key") from None
            return self._replayed(first, use_hash, card_totals)

    def _replayed(self, first: OfflineUseRecord, use_hash: str, card_totals: dict[int, int]) -> dict[str, Any]:
        if first.request_hash != use_hash:
            raise Conflict("this key was uploaded before with another use; each use needs its own key", field="key")
        card_totals[first.member_id] = card_totals.get(first.member_id, 0) + first.amount_minor
        return {"key": first.key, "result": "replayed", "first": first.result}

    async def _charge(
        self,
        uow: PosUnitOfWork,
        ctx: TerminalContext,
        uploader: Uploader,
        use: OfflineUseInput,
        use_hash: str,
        member: MemberRef,
        moment: datetime,
        now: datetime,
        rules: CompiledRuleSet | None,
        card_totals: dict[int, int],
    ) -> dict[str, Any]:
        device, currency = uploader.device, uploader.currency
        await self.charges.release_expired_of(uow, ctx.network_id, member.member_id, now)  # what a crash left held
        price_list = await uow.price_list_at(device.id, moment)
        price = use_price(parse_prices(price_list or device.price_list, currency), use.product, use.minutes)
        card_total = card_totals.get(member.member_id, 0) + price
        wallet = await uow.wallet(member.member_id, currency)
        view = await self._view(uow, ctx, member.member_id, wallet, currency, now)
        paid = payment(price, view.available_minor)  # balance + credit, the daily limit, a closed wallet pays 0
        tx_id: int | None = None
        if paid.paid_minor and wallet is not None:
            await uow.add_to_wallet(wallet.account_id, -paid.paid_minor)  # the CHECK still guards a race
            prepaid = await self.pos.prepaid_account(uow, ctx, currency)
            tx = plan_offline_charge(wallet.account_id, prepaid, currency, paid.paid_minor)
            tx_id = await uow.post(ctx.network_id, tx, ctx.outlet_id, moment, now)
            view = await self._view(
                uow, ctx, member.member_id, await uow.wallet(member.member_id, currency), currency, now
            )
        status = "short" if paid.short else "charged"
        result = {
            "key": use.key,
            "result": status,
            "member": member.member_id,
            "product": use.product,
            "minutes": use.minutes,
            "occurred_at": moment.isoformat(),
            "currency": currency,
            "amount": format_minor(price, currency),
            "paid": format_minor(paid.paid_minor, currency),
            "unpaid": format_minor(paid.unpaid_minor, currency),
            "over_offline_limit": over_offline_limit(card_total, uploader.offline_limit_minor),
            "transaction": tx_id,
            "recorded_at": now.isoformat(),
            "wallet": view.json(),
            "rewards": await self._rewards(uow, ctx, member, now, moment, rules),
        }
        record = OfflineUseRecord(
            device_id=device.id,
            key=use.key,
            request_hash=use_hash,
            status=status,
            member_id=member.member_id,
            amount_minor=price,
            unpaid_minor=paid.unpaid_minor,
            minutes=use.minutes,
            occurred_at=moment,
            result=result,
            charge_tx_id=tx_id,
        )
        await uow.insert_offline_use(record, now)
        if paid.paid_minor:  # the wallet paid (some of) it: a charge, as a one-shot one is
            charge_id = f"offline:{device.id}:{use.key}"
            data = device_charged(
                charge_id, "offline", device.id, ctx.outlet_id, member.member_id, currency, paid.paid_minor,
                use.product, tx_id, now, unpaid_minor=paid.unpaid_minor,
            )  # fmt: skip
            event_id = f"device_offline:{device.id}:{use.key}"  # at most 99 characters: the column holds 100
            await self.pos.emit(uow, ctx.network_id, DEVICE_CHARGED, event_id, data, now)
        card_totals[member.member_id] = card_total  # counted once the use is written
        return result

    async def _view(
        self,
        uow: PosUnitOfWork,
        ctx: TerminalContext,
        member_id: int,
        wallet: Wallet | None,
        currency: str,
        now: datetime,
    ) -> wallets_pos.WalletView:
        spent = 0
        if wallet is not None and wallet.daily_spend_limit_minor is not None:
            spent = await uow.wallet_spent_since(wallet.account_id, start_of_local_day(now, ctx.timezone))
        return wallets_pos.WalletView.of(member_id, currency, wallet, spent)

    async def _rewards(
        self,
        uow: PosUnitOfWork,
        ctx: TerminalContext,
        member: MemberRef,
        now: datetime,
        moment: datetime,
        rules: CompiledRuleSet | None,
    ) -> dict[str, Any]:
        """The device_use rules in force when the use happened, judged at its time, written now."""
        used = await self.uses.reward_use(uow, ctx, member, rules, now, occurred_at=moment)
        body = self.pos.answered(201, used).body
        return {
            name: body[name] for name in ("points_balance", "applied_rules", "bonus", "coupons_issued") if name in body
        }
