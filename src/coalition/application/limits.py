"""The administrator reads and sets the network's limits on one purchase (domain.limits), the least first purchase
for a card, and the network's country (the region a phone typed without its country code is read in)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

from coalition.application.audit import AuditEntry, entry
from coalition.application.pos import PosService
from coalition.domain.identifiers import checked_country, phone_region
from coalition.domain.limits import PurchaseLimits, checked_limits, require_postable
from coalition.domain.money import format_minor, parse_amount_minor, parse_quantity_milli


class LimitsStore(Protocol):
    async def limits(self, network_id: int) -> PurchaseLimits: ...

    async def set_limits(self, network_id: int, limits: PurchaseLimits, audited: AuditEntry) -> None: ...

    async def card_minimum(self, network_id: int) -> int: ...

    async def set_card_minimum(self, network_id: int, minimum_minor: int, audited: AuditEntry) -> None: ...

    async def country(self, network_id: int) -> str | None: ...

    async def set_country(self, network_id: int, country: str, audited: AuditEntry) -> None: ...


class LimitsService:
    def __init__(self, store: LimitsStore, pos: PosService) -> None:
        self.store = store
        self.pos = pos

    async def limits(self, network_id: int, currency: str) -> dict[str, Any]:
        return (await self.store.limits(network_id)).json(currency)

    async def card_minimum(self, network_id: int) -> int:
        """The least first purchase for a card issued at a till, in minor units (0: no minimum)."""
        return await self.store.card_minimum(network_id)

    async def set_card_minimum(self, network_id: int, currency: str, minimum: str) -> int:
        """Sets the least first purchase for a card issued at a till ("0.00": none); audited, at once in this
        process and within the program cache's few seconds in others."""
        minimum_minor = parse_amount_minor(minimum, currency, field="card_min_first_purchase")
        before = await self.store.card_minimum(network_id)
        change = entry(
            network_id,
            "network.card_minimum",
            "network",
            network_id,
            before={"card_min_first_purchase": format_minor(before, currency)},
            after={"card_min_first_purchase": format_minor(minimum_minor, currency)},
        )
        await self.store.set_card_minimum(network_id, minimum_minor, change)
        self.pos.forget_programs()
        return minimum_minor

    async def country(self, network_id: int, currency: str) -> str | None:
        """The region phones typed without their country code are read in: the network's country, else its
        currency's (RUB: RU), else None (a phone must then carry its country code)."""
        return phone_region(await self.store.country(network_id), currency)

    async def set_country(self, network_id: int, currency: str, country: str) -> str:
        """Sets the network's country (ISO 3166-1 alpha-2, one the phone library reads; refused naming `country`);
        audited. Phones typed from now on are read as its numbers: at once in this process, within the caches' few
        seconds in others. Phones already stored keep their E.164 form."""
        code = checked_country(country)
        before = await self.country(network_id, currency)
        change = entry(
            network_id, "network.country", "network", network_id, before={"country": before}, after={"country": code}
        )
        await self.store.set_country(network_id, code, change)
        self.pos.forget_programs()
        self.pos.forget_terminal_keys()  # a terminal's cached context carries the region too
        return code

    async def set_limits(
        self,
        network_id: int,
        currency: str,
        *,
        max_amount: str | None = None,
        max_quantity: str | int | None = None,
        max_lines_per_purchase: int | None = None,
        max_points_per_purchase: int | None = None,
    ) -> dict[str, Any]:
        """Changes the limits given (the others stay). Takes effect at once in this process, within the program
        cache's few seconds in others."""
        before = limits = await self.store.limits(network_id)
        if max_amount is not None:
            limits = replace(limits, max_amount_minor=parse_amount_minor(max_amount, currency, field="max_amount"))
        if max_quantity is not None:
            limits = replace(limits, max_quantity_milli=parse_quantity_milli(max_quantity, field="max_quantity"))
        if max_lines_per_purchase is not None:
            limits = replace(limits, max_lines_per_purchase=max_lines_per_purchase)
        if max_points_per_purchase is not None:
            limits = replace(limits, max_points_per_purchase=max_points_per_purchase)
        checked = checked_limits(limits, currency)
        async with self.pos.unit_of_work() as uow:
            program = (await self.pos.program_context(uow, network_id)).program
        require_postable(checked.max_points_per_purchase, program.point_value_minor, "max_points_per_purchase")
        change = entry(
            network_id, "limits.set", "network", network_id, before=before.json(currency), after=checked.json(currency)
        )
        await self.store.set_limits(network_id, checked, change)
        self.pos.forget_programs()
        return limits.json(currency)
