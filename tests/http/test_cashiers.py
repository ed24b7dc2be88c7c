"""A purchase may name its cashier; the name must be an active cashier of the terminal's outlet."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.support import auth, client, enrol, make_network, new_key

pytestmark = pytest.mark.anyio


async def test_a_purchase_records_its_cashier_and_refuses_a_stranger(services):
    net = await make_network(services)
    listing = await services.admin.listing(net.ref)
    shop_outlet, cafe_outlet = (outlet["id"] for outlet in listing["outlets"])
    await services.admin.create_cashier(net.ref, shop_outlet, "anna", "Anna", "anna-secret")
    await services.admin.create_cashier(net.ref, cafe_outlet, "boris", "Boris", "boris-secret")
    async with client(services) as http:
        await enrol(http, net.shop_key, "6001")

        def purchase(cashier: str, receipt: str) -> dict[str, str]:
            return {"customer": "6001", "amount": "100.00", "receipt": receipt, "cashier": cashier}

        ok = await http.post("/v1/purchases", json=purchase("anna", "C-1"), headers=auth(net.shop_key, new_key()))
        assert ok.status_code == 201, ok.text
        for stranger in ("nobody", "boris"):  # unknown, and a cashier of another outlet
            refused = await http.post(
                "/v1/purchases", json=purchase(stranger, f"C-{stranger}"), headers=auth(net.shop_key, new_key())
            )
            assert refused.status_code == 422
            assert refused.json()["field"] == "cashier"
    async with services.engine.connect() as connection:
        recorded = (await connection.execute(sa.text("SELECT receipt, cashier_login FROM purchases"))).all()
    assert [tuple(row) for row in recorded] == [("C-1", "anna")]
