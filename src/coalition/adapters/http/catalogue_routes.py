"""A partner's catalogue over the admin API (issue 17, docs/files.md "Products and categories"): products and
product categories imported from an uploaded CSV or XLSX file (the partner named by the query's `partner_id`),
listed in pages, and exported as the same files.

An import answers its typed result (rows read, created, updated, unchanged, rejected, every error with its row,
column and reason; in partial mode the rejected rows as a file, base64). A refused file is a 422 problem+json naming
the first error's row and column and listing every one (file_routes.file_refused); above the size limit a 413.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from pydantic import AwareDatetime, BaseModel, Field

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import NetworkAdmin, Svc
from coalition.adapters.http.file_routes import FileErrorOut, RejectsOut, file_refused, read_upload
from coalition.adapters.http.pagination import NEXT_CURSOR_DOC, PAGE_RESPONSES, Paging, announce, next_cursor_of
from coalition.adapters.http.sales_file_routes import DelimiterForm, EncodingForm, PartialForm
from coalition.adapters.http.schemas import MAX_RECORD_ID
from coalition.application.catalogue import MAX_QUERY, CatalogueFilter
from coalition.application.catalogue_files import CatalogueKind, StoredCategory, StoredProduct
from coalition.application.catalogue_import import CatalogueImportResult
from coalition.application.file_exchange.table import FileFormat, FileRefused
from coalition.application.file_exchange.writing import MEDIA_TYPES, rejects_media_type
from coalition.application.member_import import ImportOptions
from coalition.domain.money import format_minor

router = APIRouter(prefix="/v1/admin", tags=["Files"], route_class=CheckedRoute)

PartnerId = Annotated[int, Query(ge=1, le=MAX_RECORD_ID, description="the partner whose catalogue this is")]
PartnerFilter = Annotated[int | None, Query(ge=1, le=MAX_RECORD_ID, description="of this partner's catalogue")]
Text = Annotated[str | None, Query(min_length=1, max_length=MAX_QUERY, description="a part of the code or the name")]
Code = Annotated[str | None, Query(min_length=1, max_length=100)]


class CatalogueImportOut(BaseModel):
    network_id: int
    partner_id: int
    kind: str = Field(description="products or categories")
    filename: str
    format: str = Field(description="csv or xlsx")
    encoding: str
    delimiter: str
    rows_read: int
    created: int
    updated: int
    unchanged: int = Field(description="rows equal to what is stored: not written (the same file again: every row)")
    rejected: int
    errors: list[FileErrorOut]
    rejects: RejectsOut | None = None


class ProductOut(BaseModel):
    id: int
    partner_id: int
    sku: str
    name: str
    category: str | None
    price: str | None = Field(description="the list price, a decimal string; null: none")
    currency: str
    active: bool
    updated_at: AwareDatetime

    @classmethod
    def of(cls, product: StoredProduct) -> ProductOut:
        r = product.record
        price = None if r.price_minor is None else format_minor(r.price_minor, r.currency)
        return cls(
            id=product.id,
            partner_id=product.partner_id,
            sku=r.sku,
            name=r.name,
            category=r.category_code,
            price=price,
            currency=r.currency,
            active=r.active,
            updated_at=product.updated_at,
        )


class CategoryOut(BaseModel):
    id: int
    partner_id: int
    code: str
    name: str
    parent: str | None
    updated_at: AwareDatetime

    @classmethod
    def of(cls, category: StoredCategory) -> CategoryOut:
        r = category.record
        return cls(
            id=category.id,
            partner_id=category.partner_id,
            code=r.code,
            name=r.name,
            parent=r.parent_code,
            updated_at=category.updated_at,
        )


class ProductPage(BaseModel):
    products: list[ProductOut]
    next_cursor: str | None = Field(description=NEXT_CURSOR_DOC)


class CategoryPage(BaseModel):
    categories: list[CategoryOut]
    next_cursor: str | None = Field(description=NEXT_CURSOR_DOC)


def catalogue_answer(result: CatalogueImportResult) -> dict[str, Any]:
    answer = result.json()
    answer["errors"] = answer["errors"][:1000]
    if result.rejects is not None:
        answer["rejects"] = {
            "filename": f"rejected-{result.kind.value}.{result.file_format.value}",
            "media_type": rejects_media_type(result.file_format, result.encoding),
            "content_base64": base64.b64encode(result.rejects).decode("ascii"),
        }
    return answer


def _import_route(kind: CatalogueKind, summary: str) -> None:
    """POST /v1/admin/imports/{products|categories}: the two differ only in the kind and their words."""

    async def endpoint(
        svc: Svc,
        admin: NetworkAdmin,
        partner_id: PartnerId,
        file: UploadFile = File(description=f"the {kind.value} file, CSV or XLSX (docs/files.md)"),
        encoding: EncodingForm = None,
        delimiter: DelimiterForm = None,
        partial: PartialForm = False,
    ) -> Any:
        data = await read_upload(file, svc.settings.import_max_bytes)
        options = ImportOptions((file.filename or "upload")[:255], encoding, delimiter, partial)
        try:
            result = await svc.catalogue_import.run(admin.id, partner_id, kind, data, options)
        except FileRefused as refusal:
            return file_refused(refusal)
        return catalogue_answer(result)

    name = f"import_{kind.value}"
    endpoint.__name__ = endpoint.__qualname__ = name
    router.post(f"/imports/{kind.value}", summary=summary, response_model=CatalogueImportOut, name=name)(endpoint)


_import_route(CatalogueKind.PRODUCTS, "Import a partner's products (SKU, name, category, list price) from a file")
_import_route(CatalogueKind.CATEGORIES, "Import a partner's product categories (code, name, parent) from a file")


@router.get("/products", summary="The partners' products in id order, in pages", responses=PAGE_RESPONSES)
async def products(
    request: Request,
    response: Response,
    svc: Svc,
    admin: NetworkAdmin,
    page: Paging,
    partner_id: PartnerFilter = None,
    category: Annotated[str | None, Query(min_length=1, max_length=100, description="of this category code")] = None,
    q: Text = None,
) -> ProductPage:
    query = CatalogueFilter(admin.id, partner_id, category, q, page.after, page.limit + 1)
    found, cursor = next_cursor_of(await svc.catalogue.products(query), page, lambda product: product.id)
    return ProductPage(products=[ProductOut.of(p) for p in found], next_cursor=announce(request, response, cursor))


@router.get(
    "/product-categories", summary="The partners' product categories in id order, in pages", responses=PAGE_RESPONSES
)
async def product_categories(
    request: Request,
    response: Response,
    svc: Svc,
    admin: NetworkAdmin,
    page: Paging,
    partner_id: PartnerFilter = None,
    category: Annotated[str | None, Query(min_length=1, max_length=100, description="children of this code")] = None,
    q: Text = None,
) -> CategoryPage:
    query = CatalogueFilter(admin.id, partner_id, category, q, page.after, page.limit + 1)
    found, cursor = next_cursor_of(await svc.catalogue.categories(query), page, lambda category: category.id)
    return CategoryPage(categories=[CategoryOut.of(c) for c in found], next_cursor=announce(request, response, cursor))


def _export_route(kind: CatalogueKind, summary: str) -> None:
    async def endpoint(
        svc: Svc,
        admin: NetworkAdmin,
        partner_id: PartnerId,
        format: Annotated[FileFormat, Query(description="csv or xlsx")] = FileFormat.CSV,
    ) -> Response:
        data = await svc.catalogue.file(admin.id, partner_id, kind, format)
        filename = f"{kind.value}-{admin.code}-{partner_id}.{format.value}"
        return Response(
            data,
            media_type=MEDIA_TYPES[format],
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    name = f"export_{kind.value}"
    endpoint.__name__ = endpoint.__qualname__ = name
    router.get(
        f"/exports/{kind.value}",
        summary=summary,
        name=name,
        response_class=Response,
        responses={200: {"content": {MEDIA_TYPES[FileFormat.CSV]: {}, MEDIA_TYPES[FileFormat.XLSX]: {}}}},
    )(endpoint)


_export_route(CatalogueKind.PRODUCTS, "A partner's products as the products file (the columns the import reads)")
_export_route(CatalogueKind.CATEGORIES, "A partner's categories as the categories file (the columns the import reads)")
