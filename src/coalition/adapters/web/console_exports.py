"""Downloads in the console (issue 17): every report, the period's transactions, balances and a statement as CSV or
XLSX, through the same exports as the API (application/report_tables.py) and the same writer.

An owner's downloads are their partner's: the partner of the session, whatever the address asks (an outlet or a
member is looked for inside it, so another partner's outlet is a 404); the node's tables (members' balances, the
wallets' and gift cards' liability) are the administrator's alone, as on the pages.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from coalition.adapters.documents.tables import csv_options, export_format, file_name, media_type, table_bytes
from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.web.console_reports import typed_date
from coalition.adapters.web.console_staff import partner_scope
from coalition.adapters.web.sessions import services_of, signed_in
from coalition.application.exports import ExportScope
from coalition.application.program_tables import threshold_input
from coalition.application.report_tables import ExportRequest, export_table
from coalition.application.web_sessions import WebIdentity
from coalition.domain.errors import Forbidden
from coalition.domain.input_text import parse_whole_number

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)
ConsoleUser = Annotated[WebIdentity, Depends(signed_in("console"))]
NODE_TABLES = frozenset({"balances", "wallet-liability", "gift-card-liability"})  # the administrator's alone


def _whole(text: str | None, field: str) -> int | None:
    if text is None or not text.strip():
        return None
    return parse_whole_number(text, field=field, message="choose one from the list")


@router.get("/exports/{what}")
async def download(request: Request, user: ConsoleUser, what: str) -> Response:
    query = request.query_params
    fmt = export_format(query.get("format", "csv"))
    options = csv_options(query.get("delimiter", "comma"), query.get("encoding", "utf-8"), query.get("bom") == "1")
    owner = partner_scope(user)
    if owner is not None and what in NODE_TABLES:
        raise Forbidden("only the network's administrator may download this", field="what")
    partner = owner if owner is not None else _whole(query.get("partner"), "partner")
    scope = ExportScope(
        user.network_id, partner, _whole(query.get("outlet"), "outlet"), _whole(query.get("member"), "member")
    )
    services = services_of(request)
    first = typed_date(query.get("from", "") or query.get("day", ""), "from")
    last = typed_date(query.get("to", ""), "to")
    if first is None and what != "statement":
        first = await services.reports.today(user.network_id, partner)
    number = _whole(query.get("number"), "number")
    helper = threshold_input(
        _whole(query.get("threshold"), "threshold"),
        typed_date(query.get("base_from", ""), "base_from"),
        typed_date(query.get("base_to", ""), "base_to"),
    )
    asked = ExportRequest(what, scope, first, last or first, number, helper)
    table = await export_table(services.report_tables, asked)
    headers = {"Content-Disposition": f'attachment; filename="{file_name(table, fmt)}"'}
    return StreamingResponse(table_bytes(table, fmt, options), media_type=media_type(fmt, options), headers=headers)
