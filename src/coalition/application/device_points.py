"""A device's use paid with the member's points (issue 15: "from points where the rules allow").

The device's price becomes a purchase at the device's outlet through the one purchase pipeline
(application/purchases/): the check is the price, the receipt `device:<charge id>`, the points are the most the rules
allow (their cap as a share of the check, their minimum check, the matrix's `spend` on `points` at the outlet), and
the rest is paid by the member's wallet as a tender. If points and wallet together cannot pay the whole price, the
charge is refused naming `pay_with` and nothing is written. The answer has the shape of a wallet charge's, plus what
the points paid; it is stored under the request's Idempotency-Key, so a retry gets the first answer.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from coalition.application.commands import (
    PurchaseInput,
    TenderInput,
    customer_candidates,
    member_not_found,
    replay,
    require_usable_card,
    zone_named,
)
from coalition.application.device_charges import DeviceChargeService
from coalition.application.device_prices import is_open, parse_prices, price_of
from coalition.application.members_pos import usable_member_locked
from coalition.application.ports import PosUnitOfWork, TerminalContext
from coalition.application.pos_ports.device_charges import DeviceRow
from coalition.application.pos_results import CommandResult
from coalition.application.purchases.load import checkout_context
from coalition.application.purchases.record import MadeFor, PurchaseMade, Purchases
from coalition.application.tenders import parse_tenders
from coalition.domain.bonus import BonusProgram
from coalition.domain.checkout import CheckoutContext, Decision, Sale, decide
from coalition.domain.device_charges import DeviceClosed
from coalition.domain.errors import DomainError, InsufficientFunds, InvalidInput
from coalition.domain.money import format_minor
from coalition.domain.permissions import POINTS, Operation
from coalition.domain.purchase import points_balance

PAY_WITH = "pay_with"
WALLET_TENDER = (TenderInput("wallet"),)  # pays as much of what is left as the wallet can


@dataclass(frozen=True, slots=True)
class PointsPlan:
    """What points and the wallet would pay of a device's price."""

    price_minor: int
    points: int
    points_value_minor: int
    wallet_minor: int
    amount_due_minor: int


def most_points_then_wallet(context: CheckoutContext, sale: Sale) -> Decision:
    """The pipeline's `decide`, with the device's choices: the most points the rules allow, the rest from the
    wallet (the sale's tenders) when anything is left; refused naming `pay_with` when points cannot pay at all or
    points and wallet together fall short."""
    bare = replace(sale, redeem_points=None, tenders=())
    most = decide(context, bare).quote.max_redeemable_points
    if most <= 0:
        if points_balance(context.points, sale.moment) <= 0:
            raise InvalidInput("the member has no points to pay with", field=PAY_WITH)
        raise InvalidInput("the rules let no points pay this use here", field=PAY_WITH)
    decision = decide(context, replace(bare, redeem_points=most))
    if decision.to_collect_minor > 0 and sale.tenders:
        # a wallet that can pay nothing (empty, closed, its daily limit reached) refuses: the shortfall below says so
        with contextlib.suppress(InsufficientFunds):
            decision = decide(context, replace(sale, redeem_points=most))
    if decision.to_collect_minor > 0:
        raise InsufficientFunds(
            f"points and the wallet cannot pay {format_minor(decision.to_collect_minor, context.program.currency)} "
            f"{context.program.currency} of this use",
            field=PAY_WITH,
        )
    return decision


def plan_of(decision: Decision, price_minor: int, program: BonusProgram) -> PointsPlan:
    quote = decision.quote
    wallet = sum(tender.amount_minor for tender in decision.tenders)
    value = program.points_value_minor(quote.redeem_points)
    return PointsPlan(price_minor, quote.redeem_points, value, wallet, quote.amount_due_minor)


class DevicePointsCharges:
    def __init__(self, charges: DeviceChargeService, purchases: Purchases) -> None:
        self.charges = charges
        self.purchases = purchases
        self.pos = charges.pos

    async def _open_device(self, uow: PosUnitOfWork, ctx: TerminalContext, now: datetime) -> DeviceRow:
        """The device, active, open now by its hours, where the matrix lets its outlet take points (`spend`)."""
        device = await self.charges.device_of(uow, ctx)
        if not is_open(device.opening_hours, now.astimezone(zone_named(ctx.timezone))):
            raise DeviceClosed(f"'{ctx.outlet_name}' is closed now (its opening hours)", field="device")
        matrix = await self.pos.matrix(uow, ctx.network_id)
        matrix.require(ctx.outlet_id, ctx.outlet_name, POINTS, Operation.SPEND)
        return device

    # --- authorize: what points could pay, writing nothing --------------------------------------------------

    async def authorize(self, ctx: TerminalContext, customer: str, product: str | None) -> dict[str, Any]:
        found = await self.charges.authorize(ctx, customer, product)  # the wallet's figures and refusals
        now = self.pos.clock.now()
        rules = await self.pos.rule_set_in_force(ctx.network_id)
        plan: PointsPlan | None = None
        why_not: str | None = None
        balance = 0
        async with self.pos.unit_of_work() as uow:
            pc = await self.pos.program_context(uow, ctx.network_id)
            candidates = customer_candidates(customer, region=ctx.phone_region)
            member = await uow.find_member(ctx.network_id, candidates, lock=False)
            if member is None:
                raise member_not_found(customer)
            points = await uow.member_points(member)
            balance = points_balance(points, now)
            try:
                device = await self._open_device(uow, ctx, now)
                require_usable_card(member)
                price = price_of(parse_prices(device.price_list, pc.program.currency), product)
                tenders = parse_tenders(WALLET_TENDER, pc.program.currency, pc.limits.max_amount_minor)
                context = await checkout_context(
                    self.purchases.support, uow, ctx, pc, rules, member, points, now, tenders=tenders
                )
                decision = most_points_then_wallet(context, Sale(price, (), None, now, tenders))
                plan = plan_of(decision, price, pc.program)
            except InvalidInput as refusal:
                if refusal.field == "product":
                    raise
                why_not = refusal.detail
            except DomainError as refusal:
                why_not = refusal.detail
        currency = found["currency"]
        return found | {
            "pay_with": "points",
            "allowed": plan is not None,
            "reason": why_not,
            "points_balance": balance,
            "points_usable": 0 if plan is None else plan.points,
            "points_value": format_minor(0 if plan is None else plan.points_value_minor, currency),
            "wallet_pays": None if plan is None else format_minor(plan.wallet_minor, currency),
        }

    # --- the charge -----------------------------------------------------------------------------------------

    async def charge(
        self, ctx: TerminalContext, customer: str, product: str | None, key: str | None, request_hash: str
    ) -> CommandResult[Any]:
        """One use as a purchase paid by points (and the wallet for the rest), idempotent by the request's key."""
        if key:
            stored = await self.purchases.support.stored_answer(ctx, key)
            if stored is not None:  # a retry: the first answer, whatever has changed since
                return replay(stored, request_hash)
        now = self.pos.clock.now()
        async with self.pos.unit_of_work() as uow:
            device = await self._open_device(uow, ctx, now)
            pc = await self.pos.program_context(uow, ctx.network_id)
            currency = pc.program.currency
            price = price_of(parse_prices(device.price_list, currency), product)
        async with self.pos.unit_of_work() as uow:  # a crashed device's holds give the member their money back first
            candidates = customer_candidates(customer, region=ctx.phone_region)
            member = await usable_member_locked(uow, ctx, customer, candidates)
            await self.charges.release_expired_of(uow, ctx.network_id, member.member_id, now)
        rules = await self.pos.rule_set_in_force(ctx.network_id)
        charge_id = str(uuid.uuid4())

        async def answer(uow: PosUnitOfWork, made: PurchaseMade) -> dict[str, Any]:
            stored = await uow.purchase_for_refund(ctx.network_id, made.purchase.id)  # its ledger transaction
            rewards = await self.charges.rewards(uow, ctx, made.member, made.recorded_at, rules)
            view = await self.charges.wallet_view(uow, ctx, made.member.member_id, currency, made.recorded_at)
            plan = plan_of(made.decision, price, pc.program)
            return {
                "charge": charge_id,
                "member": made.member.member_id,
                "device": ctx.outlet_name,
                "product": product,
                "currency": currency,
                "amount": format_minor(price, currency),
                "transaction": None if stored is None else stored.tx_id,
                "recorded_at": made.recorded_at.isoformat(),
                "wallet": view.json(),
                "rewards": rewards,
                "pay_with": "points",
                "purchase": made.purchase.id,
                "receipt": made.purchase.receipt,
                "amount_due": format_minor(plan.amount_due_minor, currency),
                "points_redeemed": plan.points,
                "paid_with_points": format_minor(plan.points_value_minor, currency),
                "paid_from_wallet": format_minor(plan.wallet_minor, currency),
                "points_earned": made.body.get("points_earned", 0),
                "points_balance": rewards.get("points_balance", made.body.get("points_balance")),
            }

        made_for = MadeFor(most_points_then_wallet, answer, _purchase_key(key))
        purchase = PurchaseInput(
            customer,
            amount=format_minor(price, currency),
            receipt=f"device:{charge_id}",
            tenders=WALLET_TENDER,
        )
        try:
            result: CommandResult[Any] = await self.purchases.purchase(ctx, purchase, key, request_hash, made_for)
        except DomainError as refusal:  # the wallet's tender or the points, as the device asked them: `pay_with`
            if refusal.field is not None and refusal.field.startswith(("tenders", "redeem_points")):
                raise type(refusal)(refusal.detail, field=PAY_WITH) from refusal
            raise
        return result


def _purchase_key(key: str | None) -> str:
    """The purchase's own idempotency record: a key of its own, derived from the request's (which keeps the
    device's answer)."""
    return "device-points:" + hashlib.sha256((key or "").encode()).hexdigest()
