"""The SQL side of the partners' catalogues (docs/files.md "Products and categories"): the import's unit of work
(the admin one, with the audit trail) reading what is stored and upserting the rows that changed, and the pages of
products and categories the lists, the console and the exports read (keyset by id)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.admin_store import SqlAdminUnitOfWork
from coalition.application.catalogue import CatalogueFilter
from coalition.application.catalogue_files import CategoryRecord, ProductRecord, StoredCategory, StoredProduct
from coalition.application.catalogue_import import CataloguePricing
from coalition.application.ports import Clock
from coalition.domain.errors import Conflict

_SKU_CHUNK = 500  # SKUs per IN list (SQLite's parameters)


def _product(row: Any) -> ProductRecord:
    price = None if row.price_minor is None else int(row.price_minor)
    return ProductRecord(row.sku, row.name, row.category_code, price, row.currency, bool(row.active))


def _category(row: Any) -> CategoryRecord:
    return CategoryRecord(row.code, row.name, row.parent_code)


def _contains(column: Any, text: str) -> Any:
    return func.lower(column).contains(text.lower(), autoescape=True)


async def _written(connection: AsyncConnection, statement: Any, rows: list[dict[str, Any]]) -> None:
    """Rows written; a key another import wrote meanwhile (a unique constraint) is a Conflict, nothing written."""
    try:
        await connection.execute(statement, rows)
    except IntegrityError:
        raise Conflict(
            "another import wrote some of these rows meanwhile; import the file again", field="file"
        ) from None


class SqlCatalogueUnitOfWork(SqlAdminUnitOfWork):
    async def partner_in_network(self, network_id: int, partner_id: int) -> bool:
        p = t.partners
        found = await self.connection.execute(select(p.c.id).where(p.c.id == partner_id, p.c.network_id == network_id))
        return found.first() is not None

    async def catalogue_pricing(self, network_id: int) -> CataloguePricing:
        n = t.networks
        row = (
            await self.connection.execute(select(n.c.currency, n.c.max_amount_minor).where(n.c.id == network_id))
        ).one()
        return CataloguePricing(row.currency, int(row.max_amount_minor))

    async def stored_categories(self, network_id: int, partner_id: int) -> dict[str, CategoryRecord]:
        c = t.product_categories
        rows = await self.connection.execute(
            select(c.c.code, c.c.name, c.c.parent_code).where(
                c.c.network_id == network_id, c.c.partner_id == partner_id
            )
        )
        return {row.code: _category(row) for row in rows}

    async def stored_products(self, network_id: int, partner_id: int, skus: Sequence[str]) -> dict[str, ProductRecord]:
        p = t.products
        found: dict[str, ProductRecord] = {}
        for start in range(0, len(skus), _SKU_CHUNK):
            rows = await self.connection.execute(
                select(p).where(
                    p.c.network_id == network_id,
                    p.c.partner_id == partner_id,
                    p.c.sku.in_(skus[start : start + _SKU_CHUNK]),
                )
            )
            found.update((row.sku, _product(row)) for row in rows)
        return found

    async def upsert_categories(
        self,
        network_id: int,
        partner_id: int,
        new: Sequence[CategoryRecord],
        changed: Sequence[CategoryRecord],
        now: datetime,
    ) -> None:
        c = t.product_categories
        moment = now.astimezone(UTC)
        if new:
            await _written(
                self.connection,
                insert(c),
                [
                    {
                        "network_id": network_id,
                        "partner_id": partner_id,
                        "code": record.code,
                        "name": record.name,
                        "parent_code": record.parent_code,
                        "updated_at": moment,
                    }
                    for record in new
                ],
            )
        if changed:
            await self.connection.execute(
                update(c)
                .where(c.c.network_id == network_id, c.c.partner_id == partner_id, c.c.code == bindparam("b_code"))
                .values(name=bindparam("b_name"), parent_code=bindparam("b_parent"), updated_at=moment),
                [{"b_code": r.code, "b_name": r.name, "b_parent": r.parent_code} for r in changed],
            )

    async def upsert_products(
        self,
        network_id: int,
        partner_id: int,
        new: Sequence[ProductRecord],
        changed: Sequence[ProductRecord],
        now: datetime,
    ) -> None:
        p = t.products
        moment = now.astimezone(UTC)
        if new:
            await _written(
                self.connection,
                insert(p),
                [
                    {
                        "network_id": network_id,
                        "partner_id": partner_id,
                        "sku": record.sku,
                        "name": record.name,
                        "category_code": record.category_code,
                        "price_minor": record.price_minor,
                        "currency": record.currency,
                        "active": record.active,
                        "updated_at": moment,
                    }
                    for record in new
                ],
            )
        if changed:
            await self.connection.execute(
                update(p)
                .where(p.c.network_id == network_id, p.c.partner_id == partner_id, p.c.sku == bindparam("b_sku"))
                .values(
                    name=bindparam("b_name"),
                    category_code=bindparam("b_category"),
                    price_minor=bindparam("b_price"),
                    currency=bindparam("b_currency"),
                    active=bindparam("b_active"),
                    updated_at=moment,
                ),
                [
                    {
                        "b_sku": r.sku,
                        "b_name": r.name,
                        "b_category": r.category_code,
                        "b_price": r.price_minor,
                        "b_currency": r.currency,
                        "b_active": r.active,
                    }
                    for r in changed
                ],
            )

    async def products_page(self, query: CatalogueFilter) -> list[StoredProduct]:
        p = t.products
        conditions = [p.c.network_id == query.network_id]
        if query.partner_id is not None:
            conditions.append(p.c.partner_id == query.partner_id)
        if query.category is not None:
            conditions.append(p.c.category_code == query.category)
        if query.q:
            conditions.append(or_(_contains(p.c.sku, query.q), _contains(p.c.name, query.q)))
        if query.after_id is not None:
            conditions.append(p.c.id > query.after_id)
        rows = await self.connection.execute(select(p).where(and_(*conditions)).order_by(p.c.id).limit(query.limit))
        return [StoredProduct(row.id, row.partner_id, _product(row), t.as_utc(row.updated_at)) for row in rows]

    async def categories_page(self, query: CatalogueFilter) -> list[StoredCategory]:
        c = t.product_categories
        conditions = [c.c.network_id == query.network_id]
        if query.partner_id is not None:
            conditions.append(c.c.partner_id == query.partner_id)
        if query.category is not None:
            conditions.append(c.c.parent_code == query.category)
        if query.q:
            conditions.append(or_(_contains(c.c.code, query.q), _contains(c.c.name, query.q)))
        if query.after_id is not None:
            conditions.append(c.c.id > query.after_id)
        rows = await self.connection.execute(select(c).where(and_(*conditions)).order_by(c.c.id).limit(query.limit))
        return [StoredCategory(row.id, row.partner_id, _category(row), t.as_utc(row.updated_at)) for row in rows]


class SqlCatalogueStore:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqlCatalogueUnitOfWork]:
        async with self.engine.begin() as connection:
            yield SqlCatalogueUnitOfWork(connection, self.clock)
