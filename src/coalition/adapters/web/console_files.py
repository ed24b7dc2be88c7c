"""Files in the console (issue 17; docs/files.md): the administrator uploads a members file (CSV or XLSX) and sees
what it did, row by row for the refused ones, and downloads the network's members as the same file. The same
commands as POST /v1/admin/imports/members and GET /v1/admin/exports/members; the import is audited there."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.file_routes import read_upload
from coalition.adapters.web.sessions import checked_form, services_of, signed_in
from coalition.adapters.web.templating import error_text, gettext, render
from coalition.application.file_exchange.table import FileFormat, FileRefused
from coalition.application.file_exchange.writing import MEDIA_TYPES, rejects_media_type
from coalition.application.member_import import ImportOptions, ImportResult
from coalition.application.web_sessions import WebIdentity
from coalition.domain.errors import DomainError

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)
Administrator = Annotated[WebIdentity, Depends(signed_in("console", "administrator"))]
ENCODINGS = ("", "utf-8", "cp1251", "cp1252", "cp866")
DELIMITERS = ("", "comma", "semicolon", "tab")
SHOWN_ERRORS = 200


def _page(
    request: Request,
    me: WebIdentity,
    *,
    values: dict[str, Any] | None = None,
    result: ImportResult | None = None,
    refusal: FileRefused | None = None,
    error: str | None = None,
    status_code: int = 200,
    sales: dict[str, Any] | None = None,
) -> Response:
    errors = list(result.errors if result else refusal.errors if refusal else ())
    sales = sales or {}  # the purchases and refunds form (console_sales_files.py): its values, result and errors
    if "errors" in sales:
        errors = list(sales["errors"])
    rejects = rejects_download(result) or rejects_download(sales.get("result"))
    context = {
        "sales": sales,
        "sales_kinds": ("purchases", "refunds"),
        "me": me,
        "values": values or {"encoding": "", "delimiter": "", "partial": False},
        "encodings": ENCODINGS,
        "delimiters": DELIMITERS,
        "result": result,
        "refused": refusal is not None,
        "too_large": refusal is not None and refusal.too_large,
        "errors": [(e.row, e.column, error_text(request, e.reason)) for e in errors[:SHOWN_ERRORS]],
        "more_errors": max(0, len(errors) - SHOWN_ERRORS),
        "error": error,
        "rejects": rejects,
    }
    return render(request, "console/files.html", context, status_code=status_code)


def rejects_download(result: Any) -> dict[str, str] | None:
    """Partial mode's rejected rows as a link the browser saves (a data: address: nothing is kept on the server), in
    the uploaded format with an `error` column, as the API's `rejects` and the CLI's --rejects give them."""
    data = getattr(result, "rejects", None)
    if not data:
        return None
    file_format: FileFormat = result.file_format
    encoded = base64.b64encode(data).decode("ascii")
    return {
        "filename": f"rejected-rows.{file_format.value}",
        "href": f"data:{rejects_media_type(file_format, result.encoding).replace(' ', '')};base64,{encoded}",
    }


@router.get("/files")
async def files_page(request: Request, me: Administrator) -> Response:
    return _page(request, me)


@router.post("/imports/members")
async def import_members(request: Request, me: Administrator) -> Response:
    form = await checked_form(request, me)
    encoding, delimiter = str(form.get("encoding") or ""), str(form.get("delimiter") or "")
    partial = form.get("partial") == "yes"
    values: dict[str, Any] = {"encoding": encoding, "delimiter": delimiter, "partial": partial}
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        message = gettext(request, "Choose a CSV or XLSX file to import.")
        return _page(request, me, values=values, error=message, status_code=422)
    services = services_of(request)
    data = await read_upload(upload, services.settings.import_max_bytes)
    options = ImportOptions(upload.filename[:255], encoding or None, delimiter or None, partial)
    try:
        result = await services.member_import.run(me.network_id, data, options)
    except FileRefused as refusal:
        return _page(request, me, values=values, refusal=refusal, status_code=413 if refusal.too_large else 422)
    except DomainError as caught:
        return _page(request, me, values=values, error=error_text(request, caught.detail), status_code=409)
    return _page(request, me, values=values, result=result)


async def _export(request: Request, me: WebIdentity, file_format: FileFormat) -> Response:
    data = await services_of(request).member_export.file(me.network_id, file_format)
    return Response(
        data,
        media_type=MEDIA_TYPES[file_format],
        headers={"Content-Disposition": f'attachment; filename="members.{file_format.value}"'},
    )


@router.get("/exports/members.csv")
async def export_members_csv(request: Request, me: Administrator) -> Response:
    return await _export(request, me, FileFormat.CSV)


@router.get("/exports/members.xlsx")
async def export_members_xlsx(request: Request, me: Administrator) -> Response:
    return await _export(request, me, FileFormat.XLSX)
