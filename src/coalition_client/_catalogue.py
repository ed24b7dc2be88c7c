"""The clients' calls for a partner's catalogue (docs/files.md "Products and categories"): its products and
categories a page at a time, imported from a file (upserted: rows equal to what is stored are `unchanged`, so an
upload may be retried) and exported as the same files. Mixed into `Client` and `AsyncClient`, whose `call`,
`_upload` and `_download` they use."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from coalition_client import admin_models as admin
from coalition_client import routes as r
from coalition_client._core import AsyncCalls, Calls
from coalition_client._files import IMPORT_TIMEOUT_SECONDS, Destination, Source

A = TypeVar("A")


def _for_partner(route: r.Route[A], partner_id: int) -> r.Route[A]:
    """The import's route with its partner in the query (an upload's request carries no other query)."""
    return dataclasses.replace(route, path=f"{route.path}?partner_id={int(partner_id)}")


def _list_query(
    partner_id: int | None, category: str | None, q: str | None, limit: int | None, cursor: str | None
) -> dict[str, Any]:
    return {"partner_id": partner_id, "category": category, "q": q, "limit": limit, "cursor": cursor}


class CatalogueCalls(Calls):
    def _upload(self, route: r.Route[A], source: Source, options: Any, filename: Any, timeout_seconds: float) -> A:
        raise NotImplementedError  # the Client's

    def _download(
        self, route: r.Route[Any], destination: Destination, path: dict[str, Any], query: dict[str, Any]
    ) -> admin.Download:
        raise NotImplementedError  # the Client's

    def products(
        self,
        *,
        partner_id: int | None = None,
        category: str | None = None,
        q: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> admin.ProductList:
        """A page of the partners' products in id order: one partner's, one category's, by a part of SKU or name."""
        return self.call(r.PRODUCTS, query=_list_query(partner_id, category, q, limit, cursor))

    def product_categories(
        self,
        *,
        partner_id: int | None = None,
        category: str | None = None,
        q: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> admin.ProductCategoryList:
        """A page of the partners' categories in id order (`category`: the children of that code)."""
        return self.call(r.PRODUCT_CATEGORIES, query=_list_query(partner_id, category, q, limit, cursor))

    def import_products(
        self,
        partner_id: int,
        source: Source,
        options: admin.ImportOptions | None = None,
        *,
        filename: str | None = None,
        timeout_seconds: float = IMPORT_TIMEOUT_SECONDS,
    ) -> admin.CatalogueImport:
        """The partner's products file (sku, name, category, price, active), upserted by SKU."""
        return self._upload(_for_partner(r.IMPORT_PRODUCTS, partner_id), source, options, filename, timeout_seconds)

    def import_categories(
        self,
        partner_id: int,
        source: Source,
        options: admin.ImportOptions | None = None,
        *,
        filename: str | None = None,
        timeout_seconds: float = IMPORT_TIMEOUT_SECONDS,
    ) -> admin.CatalogueImport:
        """The partner's categories file (code, name, parent), upserted by code."""
        route = _for_partner(r.IMPORT_CATEGORIES, partner_id)
        return self._upload(route, source, options, filename, timeout_seconds)

    def export_products(
        self, destination: Destination, partner_id: int, *, output: admin.ExportFormat | None = None
    ) -> admin.Download:
        query = {"partner_id": partner_id, "format": (output or admin.ExportFormat()).format}
        return self._download(r.EXPORT_PRODUCTS, destination, {}, query)

    def export_categories(
        self, destination: Destination, partner_id: int, *, output: admin.ExportFormat | None = None
    ) -> admin.Download:
        query = {"partner_id": partner_id, "format": (output or admin.ExportFormat()).format}
        return self._download(r.EXPORT_CATEGORIES, destination, {}, query)


class AsyncCatalogueCalls(AsyncCalls):
    async def _upload(
        self, route: r.Route[A], source: Source, options: Any, filename: Any, timeout_seconds: float
    ) -> A:
        raise NotImplementedError  # the AsyncClient's

    async def _download(
        self, route: r.Route[Any], destination: Destination, path: dict[str, Any], query: dict[str, Any]
    ) -> admin.Download:
        raise NotImplementedError  # the AsyncClient's

    async def products(
        self,
        *,
        partner_id: int | None = None,
        category: str | None = None,
        q: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> admin.ProductList:
        """A page of the partners' products in id order: one partner's, one category's, by a part of SKU or name."""
        return await self.call(r.PRODUCTS, query=_list_query(partner_id, category, q, limit, cursor))

    async def product_categories(
        self,
        *,
        partner_id: int | None = None,
        category: str | None = None,
        q: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> admin.ProductCategoryList:
        """A page of the partners' categories in id order (`category`: the children of that code)."""
        return await self.call(r.PRODUCT_CATEGORIES, query=_list_query(partner_id, category, q, limit, cursor))

    async def import_products(
        self,
        partner_id: int,
        source: Source,
        options: admin.ImportOptions | None = None,
        *,
        filename: str | None = None,
        timeout_seconds: float = IMPORT_TIMEOUT_SECONDS,
    ) -> admin.CatalogueImport:
        """The partner's products file (sku, name, category, price, active), upserted by SKU."""
        route = _for_partner(r.IMPORT_PRODUCTS, partner_id)
        return await self._upload(route, source, options, filename, timeout_seconds)

    async def import_categories(
        self,
        partner_id: int,
        source: Source,
        options: admin.ImportOptions | None = None,
        *,
        filename: str | None = None,
        timeout_seconds: float = IMPORT_TIMEOUT_SECONDS,
    ) -> admin.CatalogueImport:
        """The partner's categories file (code, name, parent), upserted by code."""
        route = _for_partner(r.IMPORT_CATEGORIES, partner_id)
        return await self._upload(route, source, options, filename, timeout_seconds)

    async def export_products(
        self, destination: Destination, partner_id: int, *, output: admin.ExportFormat | None = None
    ) -> admin.Download:
        query = {"partner_id": partner_id, "format": (output or admin.ExportFormat()).format}
        return await self._download(r.EXPORT_PRODUCTS, destination, {}, query)

    async def export_categories(
        self, destination: Destination, partner_id: int, *, output: admin.ExportFormat | None = None
    ) -> admin.Download:
        query = {"partner_id": partner_id, "format": (output or admin.ExportFormat()).format}
        return await self._download(r.EXPORT_CATEGORIES, destination, {}, query)
