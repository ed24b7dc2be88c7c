"""The console's Catalogue page (issue 17; docs/files.md "Products and categories"): a partner's products in pages
(by a part of the SKU or the name, by category) and its categories, the form that imports a products or categories
file into the partner's catalogue (every refused row with its row and column), and the catalogue downloaded as the
same files. The same commands as POST /v1/admin/imports/products|categories and GET /v1/admin/products; the import
is audited there."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.file_routes import read_upload
from coalition.adapters.http.pagination import decode_cursor, encode_cursor
from coalition.adapters.web.console_files import DELIMITERS, ENCODINGS, SHOWN_ERRORS, Administrator
from coalition.adapters.web.console_staff import network_of
from coalition.adapters.web.sessions import checked_form, services_of
from coalition.adapters.web.templating import error_text, gettext, render
from coalition.application.catalogue import MAX_QUERY, CatalogueFilter
from coalition.application.catalogue_files import CatalogueKind
from coalition.application.catalogue_import import CatalogueImportResult
from coalition.application.file_exchange.table import FileFormat, FileRefused, RowError
from coalition.application.file_exchange.writing import MEDIA_TYPES
from coalition.application.member_import import ImportOptions
from coalition.application.web_sessions import WebIdentity
from coalition.domain.errors import DomainError, InvalidInput, NotFound
from coalition.domain.input_text import parse_whole_number

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)
PAGE = 50


def _partner(text: str, partners: dict[int, str]) -> int | None:
    if not text.strip():
        return next(iter(partners), None)
    chosen = parse_whole_number(text, field="partner_id", message="choose a partner from the list")
    if chosen not in partners:
        raise InvalidInput("choose a partner from the list", field="partner_id")
    return chosen


async def _page(
    request: Request,
    me: WebIdentity,
    partner_text: str,
    *,
    values: dict[str, Any] | None = None,
    result: CatalogueImportResult | None = None,
    errors: tuple[RowError, ...] | list[RowError] = (),
    refused: bool = False,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    services = services_of(request)
    partners: dict[int, str] = (await services.admin.staff(network_of(me)))["partners"]
    params = request.query_params
    q = (params.get("q") or "").strip()[:MAX_QUERY] or None
    category = (params.get("category") or "").strip()[:100] or None
    try:
        partner_id = _partner(partner_text, partners)
        after = decode_cursor(params["cursor"]) if params.get("cursor") else None
    except DomainError as caught:
        partner_id, after, error = next(iter(partners), None), None, error_text(request, caught.detail)
        status_code = max(status_code, 422)
    products: list[Any] = []
    categories: list[Any] = []
    next_cursor = None
    if partner_id is not None:
        found = await services.catalogue.products(
            CatalogueFilter(me.network_id, partner_id, category, q, after, PAGE + 1)
        )
        products = found[:PAGE]
        next_cursor = encode_cursor(products[-1].id) if len(found) > PAGE else None
        categories = await services.catalogue.categories(CatalogueFilter(me.network_id, partner_id, limit=500))
    context = {
        "me": me,
        "partners": partners,
        "partner_id": partner_id,
        "q": q or "",
        "category": category or "",
        "products": products,
        "categories": categories,
        "next_cursor": next_cursor,
        "values": values or {"kind": "products", "encoding": "", "delimiter": "", "partial": False},
        "encodings": ENCODINGS,
        "delimiters": DELIMITERS,
        "result": result,
        "refused": refused,
        "errors": [(e.row, e.column, error_text(request, e.reason)) for e in list(errors)[:SHOWN_ERRORS]],
        "more_errors": max(0, len(errors) - SHOWN_ERRORS),
        "error": error,
    }
    return render(request, "console/catalogue.html", context, currency=me.currency, status_code=status_code)


@router.get("/catalogue")
async def catalogue_page(request: Request, me: Administrator) -> Response:
    return await _page(request, me, request.query_params.get("partner_id") or "")


@router.post("/catalogue/import")
async def import_catalogue(request: Request, me: Administrator) -> Response:
    form = await checked_form(request, me)
    partner_text = str(form.get("partner_id") or "")
    kind_text = str(form.get("kind") or "products")
    encoding, delimiter = str(form.get("encoding") or ""), str(form.get("delimiter") or "")
    values: dict[str, Any] = {
        "kind": kind_text,
        "encoding": encoding,
        "delimiter": delimiter,
        "partial": form.get("partial") == "yes",
    }
    if kind_text not in ("products", "categories"):
        message = gettext(request, "Choose products or categories.")
        return await _page(request, me, partner_text, values=values, error=message, status_code=422)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename or not partner_text.strip():
        message = gettext(request, "Choose a partner and a CSV or XLSX file to import.")
        return await _page(request, me, partner_text, values=values, error=message, status_code=422)
    services = services_of(request)
    data = await read_upload(upload, services.settings.import_max_bytes)
    options = ImportOptions(upload.filename[:255], encoding or None, delimiter or None, values["partial"])
    try:
        partner_id = parse_whole_number(partner_text, field="partner_id", message="choose a partner from the list")
        result = await services.catalogue_import.run(me.network_id, partner_id, CatalogueKind(kind_text), data, options)
    except FileRefused as refusal:
        status = 413 if refusal.too_large else 422
        return await _page(
            request, me, partner_text, values=values, errors=refusal.errors, refused=True, status_code=status
        )
    except DomainError as caught:
        message = error_text(request, caught.detail)
        return await _page(request, me, partner_text, values=values, error=message, status_code=422)
    return await _page(request, me, partner_text, values=values, result=result, errors=result.errors)


async def _export(request: Request, me: WebIdentity, kind: CatalogueKind, file_format: FileFormat) -> Response:
    """The partner's file (`partner_id`; without it the first partner's, as the page shows it)."""
    services = services_of(request)
    partners: dict[int, str] = (await services.admin.staff(network_of(me)))["partners"]
    partner_id = _partner(request.query_params.get("partner_id") or "", partners)
    if partner_id is None:
        raise NotFound("the network has no partner yet", field="partner_id")
    data = await services.catalogue.file(me.network_id, partner_id, kind, file_format)
    return Response(
        data,
        media_type=MEDIA_TYPES[file_format],
        headers={"Content-Disposition": f'attachment; filename="{kind.value}-{partner_id}.{file_format.value}"'},
    )


@router.get("/catalogue/products.csv")
async def export_products_csv(request: Request, me: Administrator) -> Response:
    return await _export(request, me, CatalogueKind.PRODUCTS, FileFormat.CSV)


@router.get("/catalogue/products.xlsx")
async def export_products_xlsx(request: Request, me: Administrator) -> Response:
    return await _export(request, me, CatalogueKind.PRODUCTS, FileFormat.XLSX)


@router.get("/catalogue/categories.csv")
async def export_categories_csv(request: Request, me: Administrator) -> Response:
    return await _export(request, me, CatalogueKind.CATEGORIES, FileFormat.CSV)
