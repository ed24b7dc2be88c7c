"""Issue 12, hole 4: a change of who may act made outside this server (the command line, another host on the same
database) reaches no worker's memory, so the purchase's own write refuses a revoked terminal or a blocked cashier.

The change is made here by another admin service with its own change counter: this server's caches still hold the
terminal key and the cashier as they were, as a worker on another host would.
"""

from __future__ import annotations

import pytest

from coalition.adapters.storage.admin_store import SqlAdminStore
from coalition.application.admin import AdminService
from coalition.application.cache import AccessChanges
from coalition.wiring import Services
from tests.support import assert_problem, auth, client, enrol, make_network, new_key, table_counts

pytestmark = pytest.mark.anyio


def _elsewhere(services: Services) -> AdminService:
    """An administrator in another process: same database, a counter this server's caches do not read."""
    return AdminService(SqlAdminStore(services.engine, services.pos.clock).unit_of_work, AccessChanges())


def _sale(cashier: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {"customer": "5000-0001", "amount": "100.00", "receipt": new_key()}
    return body | ({"cashier": cashier} if cashier else {})


async def test_a_terminal_revoked_elsewhere_is_refused_by_the_purchase_write(services: Services) -> None:
    net = await make_network(services)
    terminal_id = (await services.admin.listing(net.ref))["terminals"][0]["id"]
    async with client(services) as http:
        await enrol(http, net.shop_key, "5000-0001")
        bought = await http.post("/v1/purchases", json=_sale(), headers=auth(net.shop_key, new_key()))
        assert bought.status_code == 201, bought.text  # the key is in this server's cache now
        await _elsewhere(services).deactivate_terminal(net.ref, terminal_id)
        before = await table_counts(services)

        refused = await http.post("/v1/purchases", json=_sale(), headers=auth(net.shop_key, new_key()))
        assert_problem(refused, 401, "unauthorized")
        assert await table_counts(services) == before


async def test_a_cashier_blocked_elsewhere_is_refused_by_the_purchase_write(services: Services) -> None:
    net = await make_network(services)
    listing = await services.admin.listing(net.ref)
    cashier = await services.admin.create_cashier(net.ref, listing["outlets"][0]["id"], "anna", "Anna", "anna-pass-1")
    async with client(services) as http:
        await enrol(http, net.shop_key, "5000-0001")
        bought = await http.post("/v1/purchases", json=_sale("anna"), headers=auth(net.shop_key, new_key()))
        assert bought.status_code == 201, bought.text  # anna is "active" in this server's cache now
        await _elsewhere(services).set_cashier_active(net.ref, cashier["id"], False)
        before = await table_counts(services)

        refused = await http.post("/v1/purchases", json=_sale("anna"), headers=auth(net.shop_key, new_key()))
        assert_problem(refused, 422, "invalid-input", "cashier")
        assert await table_counts(services) == before
        # a purchase naming no cashier still goes through: only anna was blocked
        anonymous = await http.post("/v1/purchases", json=_sale(), headers=auth(net.shop_key, new_key()))
        assert anonymous.status_code == 201, anonymous.text
