"""The client's typed calls for the network's lists and its country against a real `coalition serve` on both engines
(the drift check holds their fields against /openapi.json): partners, outlets, terminals and cashiers a page at a
time and filtered, every page walked by `pages()`; the country set, its refusal a typed InvalidInput naming the
field, and a phone in the new country's national form found at the till."""

from __future__ import annotations

import asyncio

import pytest

from coalition_client import AsyncClient, Client, InvalidInput, routes
from coalition_client.models import Enrol, Profile
from coalition_client.network_models import ListedPartner, ListedTerminal

from .conftest import Demo


def test_the_network_lists_a_page_at_a_time(demo: Demo) -> None:
    with Client(demo.url, demo.admin_key) as admin:
        first = admin.partners(limit=1)
        assert isinstance(first.partners[0], ListedPartner) and first.next_cursor is not None
        partners = [p for page in admin.pages(routes.PARTNERS, "partners", limit=1) for p in page]
        assert [p.name for p in partners][:3] == ["Corner Shop", "Blue Cup Café", "Aqua Park"]
        assert [p.id for p in partners] == sorted(p.id for p in partners)
        corner = next(p for p in partners if p.name == "Corner Shop")
        outlets = admin.outlets(partner_id=corner.id).outlets
        assert [o.name for o in outlets] == ["Corner Shop till"] and outlets[0].partner_id == corner.id
        terminals = admin.terminals(outlet_id=outlets[0].id).terminals
        assert terminals and all(isinstance(t, ListedTerminal) for t in terminals)
        assert all(t.outlet_id == outlets[0].id and not hasattr(t, "key") for t in terminals)
        cashiers = admin.cashiers(outlet_id=outlets[0].id).cashiers
        assert "anna" in [c.login for c in cashiers]
        everyone = [c for page in admin.pages(routes.CASHIERS, "cashiers", limit=2) for c in page]
        assert len({c.id for c in everyone}) == len(everyone) >= 3
        summary = admin.network()
        assert summary["partners_next"] is None and len(summary["partners"]) == len(partners)


def test_the_country_is_set_and_phones_follow_it(demo: Demo) -> None:
    with Client(demo.url, demo.admin_key) as admin, Client(demo.url, demo.till_key) as till:
        assert admin.network_country().country == "RU"
        with pytest.raises(InvalidInput) as refused:
            admin.set_network_country("XX")
        assert refused.value.field == "country"
        assert admin.set_network_country("de").country == "DE"
        assert admin.set_network_country("DE").country == "DE"  # again: the same
        profile = Profile(name="Jonas", phone="01512 3456789", consent_data_processing=True)
        enrolled = till.enrol(Enrol(kind="personal", card_number="4600-0001", profile=profile))
        assert till.member("+49 1512 3456789").member.id == enrolled.member.id

    async def asynchronous() -> None:
        async with AsyncClient(demo.url, demo.admin_key) as admin:
            assert (await admin.set_network_country("KZ")).country == "KZ"
            assert (await admin.network_country()).country == "KZ"
            assert (await admin.partners(limit=500)).next_cursor is None
            pages = [page async for page in admin.pages(routes.TERMINALS, "terminals", limit=1)]
            assert len(pages) >= 3 and all(len(page) == 1 for page in pages)

    asyncio.run(asynchronous())
