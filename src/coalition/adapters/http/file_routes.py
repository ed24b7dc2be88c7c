"""File exchange over the admin API (issue 17, docs/files.md): members imported from an uploaded CSV or XLSX file,
and exported as the same file.

An import answers its typed result (rows read, created, unchanged, rejected, every error with its row, column and
reason; in partial mode the rejected rows as a file, base64). A refused file is a 422 problem+json whose `field`
names the first error's column and whose `file_errors` lists every one; a file above the size limit is a 413.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile as StarletteUpload

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import NetworkAdmin, Svc
from coalition.adapters.http.problems import problem
from coalition.application.file_exchange.table import FileFormat, FileRefused, RowError
from coalition.application.file_exchange.writing import MEDIA_TYPES, rejects_media_type
from coalition.application.member_import import ImportOptions, ImportResult

router = APIRouter(prefix="/v1/admin", tags=["Files"], route_class=CheckedRoute)
_READ_CHUNK = 1024 * 1024


class FileErrorOut(BaseModel):
    row: int = Field(description="the row as a spreadsheet numbers it (the header is row 1; 0: the whole file)")
    column: str = Field(description="the column's name as the header spells it; empty when no column is at fault")
    reason: str


class RejectsOut(BaseModel):
    filename: str
    media_type: str
    content_base64: str = Field(description="the rejected rows with an `error` column, in the uploaded format")


class ImportOut(BaseModel):
    network_id: int
    filename: str
    digest: str = Field(
        description="SHA-256 of the file (and of the encoding and delimiter declared with it, if any): the same file "
        "with the same options again is answered from the first import"
    )
    format: str = Field(description="csv or xlsx")
    encoding: str = Field(description="the CSV's encoding as read (declared or detected)")
    delimiter: str
    rows_read: int
    created: int
    unchanged: int = Field(description="rows whose card number the network already has: left as they are")
    rejected: int
    opening_points: int = Field(description="the opening balances written, summed")
    opening_transactions: int = Field(description="one `opening` ledger transaction per member with a balance")
    opening_wallet: str = Field(
        description="the wallets' opening balances written, summed: a decimal string in the network's currency"
    )
    errors: list[FileErrorOut]
    replayed: bool = Field(description="true when this file was imported before: nothing was written now")
    rejects: RejectsOut | None = None


def file_refused(refusal: FileRefused) -> JSONResponse:
    """422 (413 above the size limit) naming the first error's row and column, and listing every error."""
    first = refusal.errors[0] if refusal.errors else RowError(0, "", "the file cannot be read")
    where = f"row {first.row}" + (f", column {first.column}" if first.column else "")
    status, code = (413, "file-too-large") if refusal.too_large else (422, "file-refused")
    return problem(
        status,
        code,
        "The file was refused; nothing was written",
        f"{where}: {first.reason}" + (f" (and {len(refusal.errors) - 1} more)" if len(refusal.errors) > 1 else ""),
        first.column or "file",
        file_errors=[error.json() for error in refusal.errors[:1000]],
        file_error_count=len(refusal.errors),
    )


def import_answer(result: ImportResult) -> dict[str, Any]:
    answer = result.json()
    answer["errors"] = answer["errors"][:1000]
    if result.rejects is not None:
        extension = result.file_format.value
        answer["rejects"] = {
            "filename": f"rejected-rows.{extension}",
            "media_type": rejects_media_type(result.file_format, result.encoding),
            "content_base64": base64.b64encode(result.rejects).decode("ascii"),
        }
    return answer


async def read_upload(upload: StarletteUpload, max_bytes: int) -> bytes:
    """The uploaded file, read up to one byte above the limit (the service refuses it with a 413)."""
    data = bytearray()
    while len(data) <= max_bytes:
        chunk = await upload.read(_READ_CHUNK)
        if not chunk:
            break
        data += chunk
    return bytes(data[: max_bytes + 1])


@router.post(
    "/imports/members",
    summary="Import members with their cards, identifiers and opening balances from a CSV or XLSX file",
    response_model=ImportOut,
)
async def import_members(
    svc: Svc,
    admin: NetworkAdmin,
    file: Annotated[UploadFile, File(description="the members file, CSV or XLSX (docs/files.md)")],
    encoding: Annotated[str | None, Form(max_length=16, description="utf-8, cp1251, cp1252 or cp866")] = None,
    delimiter: Annotated[str | None, Form(max_length=9, description="comma, semicolon or tab")] = None,
    partial: Annotated[bool, Form(description="take the valid rows and answer the rejected ones as a file")] = False,
) -> Any:
    data = await read_upload(file, svc.settings.import_max_bytes)
    options = ImportOptions((file.filename or "upload")[:255], encoding, delimiter, partial)
    try:
        result = await svc.member_import.run(admin.id, data, options)
    except FileRefused as refusal:
        return file_refused(refusal)
    return import_answer(result)


@router.get(
    "/exports/members",
    summary="The network's members as the members file (the columns the import reads, balances included)",
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPES[FileFormat.CSV]: {}, MEDIA_TYPES[FileFormat.XLSX]: {}}}},
)
async def export_members(
    svc: Svc, admin: NetworkAdmin, format: Annotated[FileFormat, Query(description="csv or xlsx")] = FileFormat.CSV
) -> Response:
    data = await svc.member_export.file(admin.id, format)
    return Response(
        data,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="members-{admin.code}.{format.value}"'},
    )
