"""The clients' calls for the network's lists, a page at a time (GET /v1/admin/partners, …/outlets, …/terminals,
…/cashiers: `limit` up to 500, `cursor` the previous page's `next_cursor`; `pages()` walks them all), and for its
country. Mixed into `Client` and `AsyncClient`, whose `call` they use."""

from __future__ import annotations

from coalition_client import network_models as n
from coalition_client import routes as r
from coalition_client._core import AsyncCalls, Calls


class NetworkCalls(Calls):
    def partners(self, *, limit: int | None = None, cursor: str | None = None) -> n.PartnerList:
        """A page of the network's partners, in id order."""
        return self.call(r.PARTNERS, query={"limit": limit, "cursor": cursor})

    def outlets(
        self, *, partner_id: int | None = None, limit: int | None = None, cursor: str | None = None
    ) -> n.OutletList:
        """A page of the network's outlets (one partner's with `partner_id`), in id order."""
        return self.call(r.OUTLETS, query={"partner_id": partner_id, "limit": limit, "cursor": cursor})

    def terminals(
        self, *, outlet_id: int | None = None, limit: int | None = None, cursor: str | None = None
    ) -> n.TerminalList:
        """A page of the network's terminals (one outlet's with `outlet_id`), in id order: keys' prefixes only."""
        return self.call(r.TERMINALS, query={"outlet_id": outlet_id, "limit": limit, "cursor": cursor})

    def cashiers(
        self, *, outlet_id: int | None = None, limit: int | None = None, cursor: str | None = None
    ) -> n.CashierList:
        """A page of the network's cashiers (one outlet's with `outlet_id`), in id order."""
        return self.call(r.CASHIERS, query={"outlet_id": outlet_id, "limit": limit, "cursor": cursor})

    def network_country(self) -> n.CountryAnswer:
        """The region phones typed without their country code are read in."""
        return self.call(r.NETWORK_COUNTRY)

    def set_network_country(self, country: str, *, if_match: str | None = None) -> n.CountryAnswer:
        """Phones typed from now on without their country code are read as numbers of `country` (ISO 3166-1
        alpha-2); setting the same country again changes nothing, so the call is safe to resend."""
        return self.call(r.SET_NETWORK_COUNTRY, n.Country(country=country), if_match=if_match)


class AsyncNetworkCalls(AsyncCalls):
    async def partners(self, *, limit: int | None = None, cursor: str | None = None) -> n.PartnerList:
        """A page of the network's partners, in id order."""
        return await self.call(r.PARTNERS, query={"limit": limit, "cursor": cursor})

    async def outlets(
        self, *, partner_id: int | None = None, limit: int | None = None, cursor: str | None = None
    ) -> n.OutletList:
        """A page of the network's outlets (one partner's with `partner_id`), in id order."""
        return await self.call(r.OUTLETS, query={"partner_id": partner_id, "limit": limit, "cursor": cursor})

    async def terminals(
        self, *, outlet_id: int | None = None, limit: int | None = None, cursor: str | None = None
    ) -> n.TerminalList:
        """A page of the network's terminals (one outlet's with `outlet_id`), in id order: keys' prefixes only."""
        return await self.call(r.TERMINALS, query={"outlet_id": outlet_id, "limit": limit, "cursor": cursor})

    async def cashiers(
        self, *, outlet_id: int | None = None, limit: int | None = None, cursor: str | None = None
    ) -> n.CashierList:
        """A page of the network's cashiers (one outlet's with `outlet_id`), in id order."""
        return await self.call(r.CASHIERS, query={"outlet_id": outlet_id, "limit": limit, "cursor": cursor})

    async def network_country(self) -> n.CountryAnswer:
        """The region phones typed without their country code are read in."""
        return await self.call(r.NETWORK_COUNTRY)

    async def set_network_country(self, country: str, *, if_match: str | None = None) -> n.CountryAnswer:
        """Phones typed from now on without their country code are read as numbers of `country` (ISO 3166-1
        alpha-2); setting the same country again changes nothing, so the call is safe to resend."""
        return await self.call(r.SET_NETWORK_COUNTRY, n.Country(country=country), if_match=if_match)
