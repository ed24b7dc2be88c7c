"""Purchases and refunds made elsewhere, imported from an uploaded CSV or XLSX file (issue 17, docs/files.md).

Each answers its typed result (rows read, recorded now, already recorded, rejected, the sums in minor units and
points, every error with its row, column and reason; in partial mode the rejected rows as a file, base64). A refused
file is a 422 problem+json naming the first error's row and column and listing every one; above the size limit 413.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel, Field

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import NetworkAdmin, Svc
from coalition.adapters.http.file_routes import FileErrorOut, RejectsOut, file_refused, read_upload
from coalition.application.file_exchange.table import FileRefused
from coalition.application.file_exchange.writing import rejects_media_type
from coalition.application.sales_files import SalesImportResult, SalesKind
from coalition.application.sales_import import SalesImportOptions

router = APIRouter(prefix="/v1/admin", tags=["Files"], route_class=CheckedRoute)


class SalesImportOut(BaseModel):
    network_id: int
    kind: str = Field(description="purchases or refunds")
    filename: str
    digest: str = Field(
        description="SHA-256 of the file (and of the encoding and delimiter declared with it, if any): the same file "
        "with the same options again is answered from the first import"
    )
    format: str = Field(description="csv or xlsx")
    encoding: str
    delimiter: str
    currency: str
    rows_read: int
    recorded: int = Field(description="rows written now")
    already_recorded: int = Field(description="rows recorded before: by an earlier import or by the till itself")
    rejected: int
    amount_minor: int = Field(description="purchases: the checks recorded now; refunds: the amounts given back")
    points_earned: int
    points_redeemed: int
    points_clawed_back: int
    points_returned: int
    errors: list[FileErrorOut]
    replayed: bool = Field(description="true when this file was imported before: nothing was written now")
    rejects: RejectsOut | None = None


def sales_answer(result: SalesImportResult) -> dict[str, Any]:
    answer = result.json()
    answer["errors"] = answer["errors"][:1000]
    if result.rejects is not None:
        answer["rejects"] = {
            "filename": f"rejected-{result.kind.value}.{result.file_format.value}",
            "media_type": rejects_media_type(result.file_format, result.encoding),
            "content_base64": base64.b64encode(result.rejects).decode("ascii"),
        }
    return answer


EncodingForm = Annotated[str | None, Form(max_length=16, description="utf-8, cp1251, cp1252 or cp866")]
DelimiterForm = Annotated[str | None, Form(max_length=9, description="comma, semicolon or tab")]
PartialForm = Annotated[bool, Form(description="record the valid rows and answer the rejected ones as a file")]


def _import_route(kind: SalesKind, summary: str) -> None:
    """POST /v1/admin/imports/{purchases|refunds}: the two differ only in the kind and their words."""

    async def endpoint(
        svc: Svc,
        admin: NetworkAdmin,
        file: UploadFile = File(description=f"the {kind.value} file, CSV or XLSX (docs/files.md)"),
        encoding: EncodingForm = None,
        delimiter: DelimiterForm = None,
        partial: PartialForm = False,
    ) -> Any:
        data = await read_upload(file, svc.settings.import_max_bytes)
        options = SalesImportOptions((file.filename or "upload")[:255], encoding, delimiter, partial)
        try:
            result = await svc.sales_import.run(admin.id, kind, data, options)
        except FileRefused as refusal:
            return file_refused(refusal)
        return sales_answer(result)

    name = f"import_{kind.value}"
    endpoint.__name__ = endpoint.__qualname__ = name
    router.post(f"/imports/{kind.value}", summary=summary, response_model=SalesImportOut, name=name)(endpoint)


_import_route(
    SalesKind.PURCHASES,
    "Import purchases made elsewhere (an offline till, the shop's own software) from a CSV or XLSX file",
)
_import_route(
    SalesKind.REFUNDS,
    "Import refunds of recorded purchases, each naming its purchase's receipt, from a CSV or XLSX file",
)
