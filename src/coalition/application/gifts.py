"""The administrator's gift catalogue: gift types with an agreed settlement price and the partners that hand them
over. Rules grant gifts (`grant_gift`); tills hand them over (`PosService.honour_gift`)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from coalition.application.audit import AuditTrail, entry
from coalition.application.ports import Clock, GiftsPort, ReferencePort
from coalition.domain.errors import Conflict, InvalidInput
from coalition.domain.gifts import GiftBreakage, GiftType, parse_gift_type
from coalition.domain.money import format_minor, parse_amount_minor


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
