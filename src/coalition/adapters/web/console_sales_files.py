"""Purchases and refunds files in the console's Files page (issue 17; docs/files.md "Purchases and refunds"): the
administrator uploads a file of purchases or refunds made elsewhere and sees what it recorded, or every refused row
and column. The same command as POST /v1/admin/imports/purchases and /refunds; the import is audited there."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.file_routes import read_upload
from coalition.adapters.web.console_files import Administrator, _page
from coalition.adapters.web.sessions import checked_form, services_of
from coalition.adapters.web.templating import error_text, gettext
from coalition.application.file_exchange.table import FileRefused
from coalition.application.sales_files import SalesKind
from coalition.application.sales_import import SalesImportOptions
from coalition.domain.errors import DomainError

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)


@router.post("/imports/sales")
async def import_sales(request: Request, me: Administrator) -> Response:
    form = await checked_form(request, me)
    encoding, delimiter = str(form.get("encoding") or ""), str(form.get("delimiter") or "")
    kind_text = str(form.get("kind") or "purchases")
    values: dict[str, Any] = {"encoding": encoding, "delimiter": delimiter, "partial": form.get("partial") == "yes"}
    sales: dict[str, Any] = {"values": values | {"kind": kind_text}}
    if kind_text not in ("purchases", "refunds"):
        sales["error"] = gettext(request, "Choose purchases or refunds.")
        return _page(request, me, sales=sales, status_code=422)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        sales["error"] = gettext(request, "Choose a CSV or XLSX file to import.")
        return _page(request, me, sales=sales, status_code=422)
    services = services_of(request)
    data = await read_upload(upload, services.settings.import_max_bytes)
    options = SalesImportOptions(upload.filename[:255], encoding or None, delimiter or None, values["partial"])
    try:
        result = await services.sales_import.run(me.network_id, SalesKind(kind_text), data, options)
    except FileRefused as refusal:
        sales |= {"refused": True, "too_large": refusal.too_large, "errors": refusal.errors}
        return _page(request, me, sales=sales, status_code=413 if refusal.too_large else 422)
    except DomainError as caught:
        sales["error"] = error_text(request, caught.detail)
        return _page(request, me, sales=sales, status_code=409)
    sales |= {"result": result, "errors": result.errors}
    return _page(request, me, sales=sales)
