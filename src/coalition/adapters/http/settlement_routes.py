"""The settlement API: the network administrator closes a period and reads its statement and transfer plans."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from coalition.adapters.documents.pdf import statement_pdf
from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import NetworkAdmin, PathId, Svc
from coalition.adapters.http.pagination import MAX_LIMIT, PAGE_RESPONSES, PageRequest, Paging, paged, paging_of
from coalition.application.csv_text import csv_text
from coalition.application.settlement import statement_csv_rows, statement_json

router = APIRouter(prefix="/v1/admin/settlement", tags=["Settlement"], route_class=CheckedRoute)


class CloseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    end: AwareDatetime = Field(description="the period's end (exclusive), at least a few seconds ago")
    start: AwareDatetime | None = Field(
        default=None, description="only for the first period (default: when the network was created)"
    )


class FeesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    per_transaction: str = Field(default="0.00", max_length=32, description="per partner transaction, e.g. 0.50")
    percent_of_granted: str = Field(default="0", max_length=8, description="of the value granted, e.g. 1.5")


@router.get("/fees", summary="The network's settlement fees")
async def fees(svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.settlement.fees(admin.id)


@router.put("/fees", summary="Set the settlement fees charged from the next close on")
async def set_fees(body: FeesBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.settlement.set_fees(admin.id, body.per_transaction, body.percent_of_granted)


@router.post("/periods", status_code=201, summary="Close the open period up to `end`: its immutable statement")
async def close_period(body: CloseBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.settlement.close(admin.id, body.end, body.start)


@router.get("/statements", summary="The network's statements, oldest first, in pages", responses=PAGE_RESPONSES)
async def statements(
    request: Request, response: Response, svc: Svc, admin: NetworkAdmin, page: Paging
) -> dict[str, Any]:
    found = (await svc.settlement.listing(admin.id))["statements"]
    return paged(request, response, "statements", found, page, lambda statement: statement["number"])


@router.get(
    "/statements/{number}",
    summary="A statement with both transfer plans; `?format=csv` for a table, `?format=pdf` for a document",
    responses={
        200: {
            "content": {
                "application/json": {},
                "text/csv": {"schema": {"type": "string"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            }
        }
    },
)
async def statement(
    number: PathId,
    svc: Svc,
    admin: NetworkAdmin,
    output: Annotated[Literal["json", "csv", "pdf"], Query(alias="format")] = "json",
) -> Any:
    found = await svc.settlement.statement(admin.id, number)
    if output == "csv":
        return PlainTextResponse(csv_text(statement_csv_rows(found)), media_type="text/csv")
    if output == "pdf":
        headers = {"Content-Disposition": f'attachment; filename="statement-{number}.pdf"'}
        return Response(statement_pdf(found), media_type="application/pdf", headers=headers)
    return statement_json(found)


@router.post("/statements/{number}/send", summary="E-mail each partner its entries and the statement (CSV, PDF)")
async def send_statement(number: PathId, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return await svc.settlement.send(admin.id, number)


@router.get(
    "/statements/{number}/partners/{partner_id}",
    summary="A partner's obligation entries of the period, in pages (500 unless `limit` says otherwise)",
    responses=PAGE_RESPONSES,
)
async def partner_statement(
    request: Request,
    response: Response,
    number: PathId,
    partner_id: PathId,
    svc: Svc,
    admin: NetworkAdmin,
    page: Annotated[PageRequest, Depends(paging_of(MAX_LIMIT))],
) -> dict[str, Any]:
    """The period is closed, so its entries never change: the cursor is a position among them."""
    found = await svc.settlement.partner_statement(admin.id, number, partner_id)
    numbered = list(enumerate(found["entries"], 1))
    return found | paged(request, response, "entries", numbered, page, lambda entry: entry[0], lambda entry: entry[1])
