"""The network's partners, outlets, terminals and cashiers for the administrator, in pages (issue 17, point 5;
docs/api.md "Conventions"): keyset by id, ascending, so a page never repeats or skips a record however long a client
takes between pages; outlets filtered by partner, terminals and cashiers by outlet. A filter naming a partner or an
outlet the network does not have (another network's included) is an empty page, as the transactions' outlet filter.

`summary` is GET /v1/admin/network: the network with the first `SUMMARY_ITEMS` of each list and, for a list with
more, where its paged route goes on (`partners_next`, …), so the answer is bounded however large the network."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from coalition.application.network_ref import NetworkRef

SUMMARY_ITEMS = 100  # of each list in GET /v1/admin/network; the rest through the paged routes


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A page of a list: the network's records after `after_id` (None: from the first), at most `limit`, and the
    filter (`partner_id` for outlets, `outlet_id` for terminals and cashiers; None: all)."""

    network_id: int
    after_id: int | None = None
    limit: int = 50
    partner_id: int | None = None
    outlet_id: int | None = None


@dataclass(frozen=True, slots=True)
class ListedPartner:
    id: int
    name: str

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name}


@dataclass(frozen=True, slots=True)
class ListedOutlet:
    id: int
    partner_id: int
    name: str
    timezone: str

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "partner_id": self.partner_id, "name": self.name, "timezone": self.timezone}


@dataclass(frozen=True, slots=True)
class PreviousKey:
    """A replaced key still in its grace period: its first characters only, never the key."""

    key_prefix: str
    valid_until: datetime


@dataclass(frozen=True, slots=True)
class ListedTerminal:
    id: int
    outlet_id: int
    name: str
    key_prefix: str  # the key's first characters, to recognise it; the key itself is shown once, at creation
    active: bool
    key_expires_at: datetime | None
    previous_keys: tuple[PreviousKey, ...]  # an active terminal's replaced keys still in their grace period

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "outlet_id": self.outlet_id,
            "name": self.name,
            "key_prefix": self.key_prefix,
            "active": self.active,
            "key_expires_at": self.key_expires_at,
            "previous_keys": [{"key_prefix": k.key_prefix, "valid_until": k.valid_until} for k in self.previous_keys],
        }


@dataclass(frozen=True, slots=True)
class ListedCashier:
    id: int
    outlet_id: int
    login: str
    name: str
    active: bool

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "outlet_id": self.outlet_id,
            "login": self.login,
            "name": self.name,
            "active": self.active,
        }


class NetworkListStore(Protocol):
    """Each reads at most `query.limit` of the network's records matching the query, in id order after `after_id`."""

    async def partners(self, query: ListQuery) -> list[ListedPartner]: ...
    async def outlets(self, query: ListQuery) -> list[ListedOutlet]: ...
    async def terminals(self, query: ListQuery) -> list[ListedTerminal]: ...
    async def cashiers(self, query: ListQuery) -> list[ListedCashier]: ...


LISTS = ("partners", "outlets", "terminals", "cashiers")


class NetworkLists:
    def __init__(self, store: NetworkListStore) -> None:
        self.store = store

    async def partners(self, query: ListQuery) -> list[ListedPartner]:
        return await self.store.partners(query)

    async def outlets(self, query: ListQuery) -> list[ListedOutlet]:
        return await self.store.outlets(query)

    async def terminals(self, query: ListQuery) -> list[ListedTerminal]:
        return await self.store.terminals(query)

    async def cashiers(self, query: ListQuery) -> list[ListedCashier]:
        return await self.store.cashiers(query)

    async def summary(self, network: NetworkRef, items: int = SUMMARY_ITEMS) -> dict[str, Any]:
        """The network and the first `items` of each list, each list read with one more to know whether it goes
        on: `{"network": …, "partners": [...], "partners_more": bool, …}` (the route writes the `*_next` links)."""
        query = ListQuery(network.id, limit=items + 1)
        found: dict[str, Any] = {
            "network": {"id": network.id, "code": network.code, "name": network.name, "currency": network.currency}
        }
        lists: dict[str, list[Any]] = {
            "partners": await self.store.partners(query),
            "outlets": await self.store.outlets(query),
            "terminals": await self.store.terminals(query),
            "cashiers": await self.store.cashiers(query),
        }
        for name, records in lists.items():
            found[name] = records[:items]
            found[f"{name}_more"] = len(records) > items
        return found
