"""The administrator's gift catalogue: gift types with an agreed settlement price and the partners that hand them
over. Rules grant gifts (`grant_gift`); tills hand them over (`honour_gift`); unused ones expire (`expire_gifts`)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from coalition.application.audit import AuditTrail, entry
from coalition.application.events import GIFT_HONOURED
from coalition.application.ports import (
    Clock,
    GiftsPort,
    PosUnitOfWork,
    ReferencePort,
    TerminalContext,
)
from coalition.application.pos_parts import PosParts
from coalition.application.pos_results import CommandResult, GiftHonoured, GiftView
from coalition.domain.errors import Conflict, InvalidInput, NotFound
from coalition.domain.gifts import (
    GiftBreakage,
    GiftState,
    GiftType,
    honour_transaction,
    parse_gift_type,
    release_transaction,
    require_honourable,
)
from coalition.domain.money import format_minor, parse_amount_minor
from coalition.domain.permissions import Operation, gift_counter


@dataclass(frozen=True, slots=True)
class GiftTypeRequest:
    code: str
    name: str
    price: str  # decimal string in the network's currency
    valid_days: int
    partners: tuple[str, ...]  # names of the partners that hand it over


class GiftCatalogueUnitOfWork(GiftsPort, ReferencePort, AuditTrail, Protocol):
    """The gift types and the gift breakage policy, the partners named by a type, the audit log."""


class GiftCatalogueUnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[GiftCatalogueUnitOfWork]: ...


class GiftService:
    def __init__(self, unit_of_work: GiftCatalogueUnitOfWorkFactory, clock: Clock) -> None:
        self.unit_of_work = unit_of_work
        self.clock = clock

    async def create_type(self, network_id: int, currency: str, request: GiftTypeRequest) -> dict[str, Any]:
        price_minor = parse_amount_minor(request.price, currency, field="price")
        code, name = parse_gift_type(request.code, request.name, price_minor, request.valid_days)
        if not request.partners:
            raise InvalidInput("name the partners whose outlets hand the gift over", field="partners")
        async with self.unit_of_work() as uow:
            found = await uow.partner_ids(network_id, request.partners)
            unknown = [name for name in request.partners if name not in found]
            if unknown:
                raise InvalidInput(f"no partner of this network is called {', '.join(unknown)}", field="partners")
            if code in await uow.gift_types(network_id, [code]):
                raise Conflict(f"the gift type '{code}' exists already", field="code")
            gift_type = GiftType(0, code, name, price_minor, request.valid_days, frozenset(found.values()))
            gift_type_id = await uow.create_gift_type(network_id, gift_type, self.clock.now())
            made = {"code": code, "name": name, "price_minor": price_minor, "valid_days": request.valid_days}
            made |= {"partner_ids": sorted(gift_type.partner_ids)}
            await uow.audit(entry(network_id, "gift_type.create", "gift_type", gift_type_id, after=made))
        return _json(
            GiftType(gift_type_id, code, name, price_minor, request.valid_days, gift_type.partner_ids), currency
        )

    async def breakage(self, network_id: int) -> dict[str, Any]:
        async with self.unit_of_work() as uow:
            return {"gifts": (await uow.gift_breakage(network_id)).value}

    async def set_breakage(self, network_id: int, policy: str) -> dict[str, Any]:
        try:
            chosen = GiftBreakage(policy)
        except ValueError:
            raise InvalidInput(
                "expired gifts are 'kept' (by the node) or 'released' (to the partner)", field="gifts"
            ) from None
        async with self.unit_of_work() as uow:
            before = {"gifts": (await uow.gift_breakage(network_id)).value}
            await uow.set_gift_breakage(network_id, chosen)
            after = {"gifts": chosen.value}
            await uow.audit(entry(network_id, "gifts.breakage", "network", network_id, before=before, after=after))
        return {"gifts": chosen.value}

    async def listing(self, network_id: int, currency: str) -> dict[str, Any]:
        async with self.unit_of_work() as uow:
            found = await uow.gift_types(network_id)
        return {"gift_types": [_json(gift_type, currency) for gift_type in found.values()]}


def _json(gift_type: GiftType, currency: str) -> dict[str, Any]:
    return {
        "id": gift_type.id,
        "code": gift_type.code,
        "name": gift_type.name,
        "price": format_minor(gift_type.price_minor, currency),
        "valid_days": gift_type.valid_days,
        "partner_ids": sorted(gift_type.partner_ids),
    }


async def honour_gift(
    pos: PosParts, ctx: TerminalContext, gift_id: str, idempotency_key: str | None, request_hash: str
) -> CommandResult[GiftHonoured]:
    """Hand a gift over at this outlet: once, while valid, where allowed; the node then owes this partner its
    agreed price."""

    async def record(uow: PosUnitOfWork, _key: str) -> CommandResult[GiftHonoured]:
        now = pos.clock.now()
        gift = await uow.gift(ctx.network_id, gift_id.strip(), lock=True)
        if gift is None:
            raise NotFound(f"this network has no gift '{gift_id}'", field="gift_id")
        require_honourable(gift, ctx.outlet_name, ctx.partner_id, now)
        matrix = await pos.matrix(uow, ctx.network_id)
        matrix.require(ctx.outlet_id, ctx.outlet_name, gift_counter(gift.gift_type.code), Operation.HONOUR)
        pc = await pos.program_context(uow, ctx.network_id)
        partner_account = await pos.partner_account(uow, ctx.network_id, ctx.partner_id)
        memo = f"gift {gift.id} handed over: {gift.gift_type.name}"
        price_minor = gift.gift_type.price_minor
        tx = honour_transaction(partner_account, pc.node_obligations_account, pc.program.money_asset, price_minor, memo)
        tx_id = await uow.post(ctx.network_id, tx, ctx.outlet_id, now, now)
        if not await uow.mark_gift_honoured(gift.id, ctx.outlet_id, tx_id, now):
            raise Conflict(f"gift {gift.id} was handed over already", field="gift_id")
        honoured = GiftHonoured(GiftView.of(gift), now, ctx.outlet_name, price_minor, pc.program.currency)
        data = {
            "gift_id": gift.id,
            "gift_type": gift.gift_type.code,
            "member_id": gift.member_id,
            "outlet_id": ctx.outlet_id,
            "partner_id": ctx.partner_id,
            "currency": pc.program.currency,
            "price_minor": price_minor,
            "honoured_at": now.isoformat(),
        }
        await pos.emit(uow, ctx.network_id, GIFT_HONOURED, f"gift_honoured:{gift.id}", data, now)
        return pos.answered(200, honoured)

    result: CommandResult[GiftHonoured] = await pos.idempotent(ctx, idempotency_key, request_hash, record)
    return result


async def expire_gifts(pos: PosParts, network_id: int) -> dict[str, Any]:
    """Mark every gift whose validity ended unused as expired; where the network releases them, reverse the
    grant, so the granting partner owes nothing for it (settlement shows it as granted value taken back)."""
    now = pos.clock.now()
    async with pos.unit_of_work() as uow:
        due = await uow.gifts_due_to_expire(network_id, now)
        policy = await uow.gift_breakage(network_id)
    released = 0
    for gift_id, grant_tx_id in due:
        async with pos.unit_of_work() as uow:
            applied = await expire_gift(uow, network_id, gift_id, grant_tx_id, policy, now)
            released += applied is GiftBreakage.RELEASED
    return {"gifts": len(due), "released": released, "policy": policy.value}


async def expire_gift(
    uow: PosUnitOfWork,
    network_id: int,
    gift_id: str,
    grant_tx_id: int,
    policy: GiftBreakage,
    now: datetime,
    why: str = "expired",
) -> GiftBreakage | None:
    """Expire one gift not handed over, under its lock, releasing the grant where the network does; None when it
    was handed over or expired by someone else since it was listed."""
    gift = await uow.gift(network_id, gift_id, lock=True)
    if gift is None or gift.state is not GiftState.GRANTED:
        return None
    release_tx_id = None
    if policy is GiftBreakage.RELEASED:
        release = release_transaction(await uow.transaction(grant_tx_id), grant_tx_id, gift_id, why)
        release_tx_id = await uow.post(network_id, release, None, now, now)
    if not await uow.mark_gift_expired(gift_id, now, release_tx_id):
        raise RuntimeError(f"gift {gift_id} changed under its lock")
    return policy
