"""Lists of the network's records for the administrator, in pages and filtered (issue 17, point 5; docs/api.md
"Conventions"): the ledger's transactions by recorded time (`since`, `until`), outlet, member and kind."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import NetworkAdmin, Svc
from coalition.adapters.http.pagination import PAGE_RESPONSES, Paging, announce, next_cursor_of
from coalition.adapters.http.schemas import MAX_RECORD_ID
from coalition.application.transaction_list import TransactionFilter

router = APIRouter(prefix="/v1/admin", tags=["Admin"], route_class=CheckedRoute)

Since = Annotated[AwareDatetime | None, Query(description="recorded at or after (ISO 8601 with its offset)")]
Until = Annotated[AwareDatetime | None, Query(description="recorded before")]


@router.get(
    "/transactions",
    summary="The network's ledger transactions in id order, in pages, by recorded time, outlet, member and kind",
    responses=PAGE_RESPONSES,
)
async def transactions(
    request: Request,
    response: Response,
    svc: Svc,
    admin: NetworkAdmin,
    page: Paging,
    since: Since = None,
    until: Until = None,
    outlet_id: Annotated[int | None, Query(ge=1, le=MAX_RECORD_ID, description="at this outlet")] = None,
    member_id: Annotated[
        int | None, Query(ge=1, le=MAX_RECORD_ID, description="moving this member's points or money")
    ] = None,
    kind: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$", description="purchase, refund, …")] = None,
) -> dict[str, Any]:
    query = TransactionFilter(
        admin.id, since, until, outlet_id, member_id, kind, after_id=page.after, limit=page.limit + 1
    )
    found, cursor = next_cursor_of(await svc.transactions.page(query), page, lambda tx: tx.id)
    return {"transactions": [tx.json() for tx in found], "next_cursor": announce(request, response, cursor)}
