"""A partner's catalogue read (docs/files.md "Products and categories"): products and categories in pages by id
(GET /v1/admin/products, /v1/admin/product-categories, the console's Catalogue), and written back as the files the
import reads (`coalition export products|categories`, GET /v1/admin/exports/products|categories), so an export
imports into the same catalogue with every row unchanged."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from coalition.application.catalogue_files import (
    CATEGORY_HEADER,
    PRODUCT_HEADER,
    CatalogueKind,
    StoredCategory,
    StoredProduct,
    category_row,
    product_row,
)
from coalition.application.file_exchange.table import FileFormat
from coalition.application.file_exchange.writing import table_bytes
from coalition.domain.errors import NotFound

MAX_QUERY = 100
EXPORT_PAGE = 1000


@dataclass(frozen=True, slots=True)
class CatalogueFilter:
    network_id: int
    partner_id: int | None = None
    category: str | None = None  # products: of this category code; categories: children of this code
    q: str | None = None  # a part of the SKU (code) or the name, any case
    after_id: int | None = None
    limit: int = 50


class CatalogueReadPort(Protocol):
    async def partner_in_network(self, network_id: int, partner_id: int) -> bool: ...
    async def products_page(self, query: CatalogueFilter) -> list[StoredProduct]: ...
    async def categories_page(self, query: CatalogueFilter) -> list[StoredCategory]: ...


class CatalogueReadFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[CatalogueReadPort]: ...


class Catalogue:
    def __init__(self, unit_of_work: CatalogueReadFactory) -> None:
        self.unit_of_work = unit_of_work

    async def products(self, query: CatalogueFilter) -> list[StoredProduct]:
        async with self.unit_of_work() as uow:
            return await uow.products_page(query)

    async def categories(self, query: CatalogueFilter) -> list[StoredCategory]:
        async with self.unit_of_work() as uow:
            return await uow.categories_page(query)

    async def file(self, network_id: int, partner_id: int, kind: CatalogueKind, file_format: FileFormat) -> bytes:
        """The partner's products or categories as the import's file, in id order."""
        rows: list[list[object]] = []
        after: int | None = None
        async with self.unit_of_work() as uow:
            if not await uow.partner_in_network(network_id, partner_id):
                raise NotFound(f"no partner {partner_id} in this network", field="partner_id")
            while True:
                query = CatalogueFilter(network_id, partner_id, after_id=after, limit=EXPORT_PAGE)
                page: Sequence[StoredProduct | StoredCategory]
                if kind is CatalogueKind.PRODUCTS:
                    products = await uow.products_page(query)
                    rows.extend(product_row(item.record) for item in products)
                    page = products
                else:
                    categories = await uow.categories_page(query)
                    rows.extend(category_row(item.record) for item in categories)
                    page = categories
                if len(page) < EXPORT_PAGE:
                    break
                after = page[-1].id
        header = PRODUCT_HEADER if kind is CatalogueKind.PRODUCTS else CATEGORY_HEADER
        return table_bytes(file_format, header, rows)
