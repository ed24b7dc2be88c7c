"""Expired points: a member's expired lots posted to breakage under the network's policy (part or all of their value
back to the partners that granted them), at the member's next operation or for the whole network at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from coalition.application.events import POINTS_EXPIRED
from coalition.application.ports import MemberRef, PosUnitOfWork, ProgramContext
from coalition.application.pos_parts import PosParts
from coalition.domain.breakage import BreakagePolicy, PointsBreakage
from coalition.domain.lots import Lot
from coalition.domain.money import format_minor
from coalition.domain.purchase import (
    ExpiryAccounts,
    MemberPoints,
    after_expiry,
    expired_grantors,
    has_expired_lots,
    plan_expiry,
)


def breakage_json(policy: BreakagePolicy) -> dict[str, Any]:
    return {"policy": policy.kind.value, "share_bp": policy.share_bp}


async def expiry_accounts(
    pos: PosParts,
    uow: PosUnitOfWork,
    network_id: int,
    pc: ProgramContext,
    member: MemberRef,
    lots: tuple[Lot, ...],
    now: datetime,
) -> tuple[ExpiryAccounts, BreakagePolicy]:
    """What a member's sweep posts to under the network's policy: the obligations accounts of the partners that
    granted the expired points are looked up only when the policy returns value to them."""
    policy = await pos.breakage_policy(uow, network_id)
    partner_accounts = {}
    if policy.kind is not PointsBreakage.KEPT:
        for partner_id in expired_grantors(lots, now):
            partner_accounts[partner_id] = await pos.partner_account(uow, network_id, partner_id)
    accounts = ExpiryAccounts(
        member.points_account_id, pc.points_breakage_account, pc.node_obligations_account, partner_accounts
    )
    return accounts, policy


async def sweep(
    pos: PosParts,
    uow: PosUnitOfWork,
    network_id: int,
    pc: ProgramContext,
    member: MemberRef,
    state: MemberPoints,
    now: datetime,
) -> tuple[MemberPoints, int]:
    """Post the member's expired lots to breakage (the member is locked): the points left, and the value
    returned to granting partners (minor units)."""
    if not has_expired_lots(state, now):
        return state, 0
    accounts, policy = await pos.expiry_accounts(uow, network_id, pc, member, state.lots, now)
    swept, returned_minor = state, 0
    # one transaction per so many granting partners (a transaction's postings are bounded): all of them, now
    while (expiry := plan_expiry(pc.program, accounts, swept.lots, now, policy)) is not None:
        tx_id = await uow.post(network_id, expiry.transaction, None, now, now)
        await uow.apply_lots(tx_id, member.points_account_id, expiry.takes, ())
        swept, returned_minor = after_expiry(swept, expiry), returned_minor + expiry.returned_minor
    await uow.set_member_points(member.member_id, member.points_account_id, swept.balance, swept.lifetime_spend_minor)
    data = {"member_id": member.member_id, "points": state.balance - swept.balance, "points_balance": swept.balance}
    # one sweep per member and moment: a second sweep at the same moment finds nothing expired
    event_id = f"expiry:{member.member_id}:{now.isoformat()}"
    await pos.emit(uow, network_id, POINTS_EXPIRED, event_id, data, now)
    return swept, returned_minor


async def expire_points(
    pos: PosParts, network_id: int, progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """Post every expired lot of the network to breakage, one member (and one transaction) at a time, so the
    node's breakage account is current without waiting for each member's next purchase; under the network's
    policy, part or all of the expired points' value goes back to the partners that granted them."""
    now = pos.clock.now()
    async with pos.unit_of_work() as uow:
        pc = await pos.program_context(uow, network_id)
        due = await uow.members_with_expired_lots(network_id, now)
        policy = await pos.breakage_policy(uow, network_id)
    points = returned_minor = 0
    for done, (member_id, account_id) in enumerate(due, start=1):
        member = MemberRef(member_id, "", account_id, None, None, None)
        async with pos.unit_of_work() as uow:
            await uow.lock_member(member_id)
            state = await uow.member_points(member)
            swept, returned = await sweep(pos, uow, network_id, pc, member, state, now)
            points += state.balance - swept.balance
            returned_minor += returned
        if progress is not None:
            progress(done, len(due))
    return {
        "members": len(due),
        "points": points,
        "policy": breakage_json(policy),
        "returned_to_partners": format_minor(returned_minor, pc.program.currency),
    }
