"""Exports over the API (issue 17; docs/exports.md): the network administrator downloads the ledger's transactions,
members' balances, a settlement statement or any console report as CSV or XLSX, for a period and a scope.

The parameters and the scope are checked before the first byte (a bad one: 422 naming it; a partner, outlet or
member of another network: 404 naming it); the rows then stream as they are read, so a long period never sits in
the server's memory.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse

from coalition.adapters.documents.tables import (
    FORMATS,
    XLSX_MEDIA_TYPE,
    csv_options,
    export_format,
    file_name,
    media_type,
    table_bytes,
)
from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import NetworkAdmin, Svc
from coalition.adapters.http.schemas import MAX_RECORD_ID
from coalition.application.exports import ExportScope
from coalition.application.program_tables import threshold_input
from coalition.application.report_tables import EXPORTS, ExportRequest, export_table

router = APIRouter(prefix="/v1/admin/exports", tags=["Exports"], route_class=CheckedRoute)

RecordId = Annotated[int | None, Query(ge=1, le=MAX_RECORD_ID)]
Name = Annotated[str, Query(max_length=16, pattern=r"^[a-z0-9-]*$")]


@router.get(
    "/{what}",
    summary="Transactions, balances, a statement or a report as CSV or XLSX, streamed",
    description=(
        f"`what`: one of {', '.join(EXPORTS)}. `from`/`to`: the period's first and last days (YYYY-MM-DD, in the "
        "scope's time zone); balances are at the end of `to`; a statement takes `number`. Scope: `partner`, "
        "`outlet`, `member`. The threshold helper takes `threshold` (minor units), `base_from`, `base_to`. "
        "CSV: `delimiter` comma|semicolon, `encoding` utf-8|cp1251, `bom` for Excel."
    ),
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            }
        }
    },
)
async def export(
    what: Annotated[str, Path(max_length=32)],
    svc: Svc,
    admin: NetworkAdmin,
    first_day: Annotated[date | None, Query(alias="from")] = None,
    last_day: Annotated[date | None, Query(alias="to")] = None,
    output: Annotated[str, Query(alias="format", max_length=8, description=" or ".join(FORMATS))] = "csv",
    partner: RecordId = None,
    outlet: RecordId = None,
    member: RecordId = None,
    number: RecordId = None,
    delimiter: Name = "comma",
    encoding: Name = "utf-8",
    bom: bool = False,
    threshold: Annotated[int | None, Query(ge=1, le=10**12, description="threshold: old, minor units")] = None,
    base_first: Annotated[date | None, Query(alias="base_from")] = None,
    base_last: Annotated[date | None, Query(alias="base_to")] = None,
) -> StreamingResponse:
    fmt = export_format(output)
    options = csv_options(delimiter, encoding, bom)
    scope = ExportScope(admin.id, partner, outlet, member)
    helper = threshold_input(threshold, base_first, base_last)
    request = ExportRequest(what, scope, first_day, last_day, number, helper)
    table = await export_table(svc.report_tables, request)
    headers = {"Content-Disposition": f'attachment; filename="{file_name(table, fmt)}"'}
    return StreamingResponse(table_bytes(table, fmt, options), media_type=media_type(fmt, options), headers=headers)
