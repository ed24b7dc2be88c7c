"""Load: everything a purchase needs, read up front into a frozen `CheckoutContext` — the terminal's outlet, the
program, the rule set in force at the sale's moment, the member's points and lots, and only what the rule set says
it uses: the member's history, the open visit, the gift types it may grant. The permissions matrix and the accounts
come from the service's caches."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from coalition.application.commands import customer_candidates, member_history, member_not_found, zone_named
from coalition.application.gift_cards import GiftCardFunds
from coalition.application.ports import MemberRef, PayingWallet, PosUnitOfWork, ProgramContext, TerminalContext
from coalition.application.purchases.support import PurchaseSupport
from coalition.application.tenders import load_funds
from coalition.domain.checkout import CheckoutContext, Till, gift_codes, needs_open_visit
from coalition.domain.coupons import Coupon, accept_coupons
from coalition.domain.permissions import Matrix
from coalition.domain.purchase import MemberPoints, PointsAccounts
from coalition.domain.rules.context import MemberFacts
from coalition.domain.rules.engine import CompiledRuleSet
from coalition.domain.tenders import Funds, TenderRequest

WalletRead = tuple[str, datetime]  # a wallet read with the member: its currency and the start of the outlet's day


@functools.lru_cache(maxsize=1024)
def till_of(ctx: TerminalContext) -> Till:
    """The outlet as `decide` sees it (kept per terminal context: a batch asks for it once per purchase)."""
    return Till(ctx.outlet_id, ctx.outlet_name, ctx.partner_id, ctx.partner_name, zone_named(ctx.timezone))


async def checkout_context(
    support: PurchaseSupport,
    uow: PosUnitOfWork,
    ctx: TerminalContext,
    pc: ProgramContext,
    rules: CompiledRuleSet | None,
    member: MemberRef,
    points: MemberPoints,
    moment: datetime,
    coupons: tuple[Coupon, ...] = (),
    tier: str | None = None,
    tenders: tuple[TenderRequest, ...] = (),
    gift_cards: Sequence[GiftCardFunds] = (),
    paying: PayingWallet | None = None,
    *,
    accounts: PointsAccounts | None = None,
    matrix: Matrix | None = None,
) -> CheckoutContext:
    """The context of one purchase of `member` (their `points` read, locked or not, by the caller) at `moment`.
    `tier`: the member's tier when an earlier purchase of the same batch moved it. The funds its `tenders` name
    are read only when it has some (`paying`: the wallet, when the member's read returned it; its gift cards were
    read before the unit of work: `gift_cards`). A batch passes the member's `accounts` and the network's `matrix`,
    which it reads once for all its purchases."""
    history = visit = None
    codes: tuple[str, ...] = ()
    if rules is not None:  # what a rule set may read; most networks' purchases need none of it
        history = await history_facts(uow, rules, ctx, member, moment)
        if history is not None and tier is not None:
            history = replace(history, tier=tier)
        if needs_open_visit(rules, ctx.partner_name, ctx.outlet_name):
            visit = await uow.open_visit_of(member.member_id)
        codes = gift_codes(rules, ctx.partner_name, ctx.outlet_name)
    funds: tuple[Funds, ...] = ()
    prepaid: int | None = None
    if tenders:
        prepaid = await support.prepaid_account(uow, ctx, pc.program.currency)
        funds = await load_funds(
            uow,
            ctx,
            member.member_id,
            pc.program.currency,
            tenders,
            support.clock.now(),
            paying=paying,
            gift_cards=gift_cards,
        )
    return CheckoutContext(
        till=till_of(ctx),
        program=pc.program,
        accounts=accounts if accounts is not None else await support.points_accounts(uow, ctx, pc, member),
        member_id=member.member_id,
        points=points,
        rules=rules,
        limits=pc.limits,
        history=history,
        coupons=coupons,
        open_visit_id=visit.id if visit is not None else None,
        gift_types=await uow.gift_types(ctx.network_id, codes) if codes else {},
        matrix=matrix if matrix is not None else await support.matrix(uow, ctx.network_id),
        funds=funds,
        prepaid_account=prepaid,
    )


async def history_facts(
    uow: PosUnitOfWork, rules: CompiledRuleSet | None, ctx: TerminalContext, member: MemberRef, moment: datetime
) -> MemberFacts | None:
    """One more read, only when the rule set uses visits, period spends, the birthday, the tier or the kind; the
    periods are the calendar months of the sale's moment at the outlet."""
    history = await member_history(uow, rules, ctx, member, moment)
    if history is None:
        return None
    return MemberFacts(
        kind=history.kind,
        tier=history.tier,
        segments=history.segments,
        period_spend_minor=history.period_spend_minor,
        previous_period_spend_minor=history.previous_period_spend_minor,
        visit_count=history.visit_count,
        birth_date=history.birth_date,
        card_type=history.card_type,
    )


async def accepted_coupons(
    uow: PosUnitOfWork, ctx: TerminalContext, member: MemberRef, codes: Sequence[str], now: datetime, *, lock: bool
) -> tuple[Coupon, ...]:
    if not codes:
        return ()
    return accept_coupons(codes, await uow.coupons(ctx.network_id, codes, lock=lock), member.member_id, now)


async def find_member(uow: PosUnitOfWork, ctx: TerminalContext, identifier: str) -> MemberRef:
    member = await uow.find_member(ctx.network_id, customer_candidates(identifier, region=ctx.phone_region), lock=False)
    if member is None:
        raise member_not_found(identifier)
    return member


async def peek_member_points(
    uow: PosUnitOfWork, ctx: TerminalContext, identifier: str, wallet: WalletRead | None = None
) -> tuple[MemberRef, MemberPoints, int, PayingWallet | None]:
    """The first try of a purchase: the member's points with their version, no lock (two round trips in all);
    with `wallet` (currency, start of the day) their wallet too, in the same statement."""
    candidates = customer_candidates(identifier, region=ctx.phone_region)
    if wallet is None:
        found = await uow.peek_member_points(ctx.network_id, candidates)
        if found is None:
            raise member_not_found(identifier)
        return (*found, None)
    paying = await uow.peek_member_points_paying(ctx.network_id, candidates, *wallet)
    if paying is None:
        raise member_not_found(identifier)
    return paying


async def lock_member_points(
    uow: PosUnitOfWork, ctx: TerminalContext, identifier: str, wallet: WalletRead | None = None
) -> tuple[MemberRef, MemberPoints, PayingWallet | None]:
    """The retry: the member locked and their points (and with `wallet`, their wallet read after the lock), in one
    read."""
    candidates = customer_candidates(identifier, region=ctx.phone_region)
    if wallet is None:
        found = await uow.find_member_points(ctx.network_id, candidates)
        if found is None:
            raise member_not_found(identifier)
        return (*found, None)
    paying = await uow.find_member_points_paying(ctx.network_id, candidates, *wallet)
    if paying is None:
        raise member_not_found(identifier)
    return paying
