"""Migration 0056 on both engines: the catalogue's tables (`product_categories`, `products`) come with their keys
and the price check, go with the downgrade, and come back empty with the upgrade."""

from __future__ import annotations

import anyio
import pytest
import sqlalchemy as sa

from coalition.adapters.storage import migrate
from coalition.application.catalogue_files import CatalogueKind
from coalition.application.member_import import ImportOptions
from coalition.wiring import build_services
from tests.support import make_network

pytestmark = pytest.mark.anyio


async def _tables(settings) -> set[str]:
    services = build_services(settings)
    try:
        async with services.engine.connect() as connection:
            names = await connection.run_sync(lambda sync: set(sa.inspect(sync).get_table_names()))
            return {name for name in names if name in ("products", "product_categories")}
    finally:
        await services.close()


async def test_the_catalogue_tables_come_and_go(settings) -> None:
    services = build_services(settings)
    try:
        net = await make_network(services, "mig")
        partner = (await services.pos.authenticate(net.shop_key)).partner_id
        data = b"sku,name,price\nlatte,Latte,1.00\n"
        result = await services.catalogue_import.run(
            net.ref.id, partner, CatalogueKind.PRODUCTS, data, ImportOptions("p.csv")
        )
        assert result.created == 1
        with pytest.raises(sa.exc.IntegrityError):  # the database refuses a negative price too
            async with services.engine.begin() as connection:
                await connection.execute(sa.text("UPDATE products SET price_minor = -1"))
    finally:
        await services.close()
    assert await _tables(settings) == {"products", "product_categories"}
    await anyio.to_thread.run_sync(migrate.downgrade, settings.database_url, "0055")
    assert await _tables(settings) == set()
    await anyio.to_thread.run_sync(migrate.upgrade, settings.database_url)
    assert await _tables(settings) == {"products", "product_categories"}
