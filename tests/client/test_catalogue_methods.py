"""The client's typed calls for a partner's catalogue against a real `coalition serve` on both engines (the drift
check holds their fields against /openapi.json): categories and products imported (the same file again unchanged),
a refused file a typed FileRefused naming row and column, listed a page at a time, exported and imported back; the
async client the same."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from coalition_client import AsyncClient, Client, routes
from coalition_client.admin_models import CatalogueImport, ExportFormat, ImportOptions, Product
from coalition_client.errors import FileRefused

from .conftest import Demo

CATEGORIES = b"code,name,parent\ncoffee,Coffee,\n"
PRODUCTS = b"sku,name,category,price\nlatte,Latte,coffee,150.00\nflat-white,Flat white,coffee,170.00\n"


def test_a_catalogue_through_the_client(demo: Demo, tmp_path: Path) -> None:
    with Client(demo.url, demo.admin_key) as admin:
        partner = admin.partners(limit=1).partners[0].id
        first = admin.import_categories(partner, CATEGORIES, filename="categories.csv")
        assert isinstance(first, CatalogueImport) and first.created == 1
        products = admin.import_products(partner, PRODUCTS, filename="products.csv")
        assert (products.created, products.unchanged) == (2, 0)
        again = admin.import_products(partner, PRODUCTS, filename="products.csv")
        assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
        with pytest.raises(FileRefused) as refused:
            admin.import_products(partner, b"sku,name,price\ntea,Tea,x\n", filename="bad.csv")
        assert refused.value.field == "price"
        partial = admin.import_products(
            partner, b"sku,name,price\ntea,Tea,x\ncake,Cake,1.00\n", ImportOptions(partial=True), filename="p.csv"
        )
        assert partial.rejected == 1 and partial.rejects is not None
        page = admin.products(partner_id=partner, limit=2)
        assert isinstance(page.products[0], Product) and page.next_cursor is not None
        every = [p for chunk in admin.pages(routes.PRODUCTS, "products", limit=1) for p in chunk]
        assert {p.sku for p in every} >= {"latte", "flat-white", "cake"}
        assert [c.code for c in admin.product_categories(partner_id=partner).categories] == ["coffee"]
        target = tmp_path / "products.xlsx"
        admin.export_products(target, partner, output=ExportFormat(format="xlsx"))
        back = admin.import_products(partner, target)
        assert (back.created, back.updated) == (0, 0) and back.unchanged == 3

    async def asynchronous() -> None:
        async with AsyncClient(demo.url, demo.admin_key) as admin:
            partner = (await admin.partners(limit=1)).partners[0].id
            again = await admin.import_categories(partner, CATEGORIES, filename="categories.csv")
            assert again.unchanged == 1
            found = await admin.products(partner_id=partner, q="LATTE")
            assert [p.sku for p in found.products] == ["latte"]
            target = tmp_path / "categories.csv"
            await admin.export_categories(target, partner)
            assert target.read_bytes().decode("utf-8-sig").splitlines()[0] == "code,name,parent"

    asyncio.run(asynchronous())
