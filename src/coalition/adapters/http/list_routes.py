"""Lists of the network's records for the administrator, in pages and filtered (issue 17, point 5; docs/api.md
"Conventions"): the ledger's transactions by recorded time (`since`, `until`), outlet, member and kind; the members
by a part of the name or an identifier, tier, segment and enrolment time."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, Field

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import NetworkAdmin, Svc
from coalition.adapters.http.pagination import NEXT_CURSOR_DOC, PAGE_RESPONSES, Paging, announce, next_cursor_of
from coalition.adapters.http.schemas import MAX_RECORD_ID
from coalition.application.member_list import MAX_QUERY, ListedMember, MemberFilter
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


class MemberCardOut(BaseModel):
    number: str
    state: str = Field(description="issued, active, blocked, lost or replaced")


class MemberOut(BaseModel):
    id: int
    kind: str = Field(description="personal or anonymous")
    name: str | None
    phone: str | None
    tier: str = Field(description="empty: none set")
    segments: list[str]
    enrolled_at: AwareDatetime
    cards: list[MemberCardOut]

    @classmethod
    def of(cls, member: ListedMember) -> MemberOut:
        cards = [MemberCardOut(number=card.number, state=card.state) for card in member.cards]
        return cls(
            id=member.id,
            kind=member.kind,
            name=member.name,
            phone=member.phone,
            tier=member.tier,
            segments=list(member.segments),
            enrolled_at=member.enrolled_at,
            cards=cards,
        )


class MemberPage(BaseModel):
    members: list[MemberOut]
    next_cursor: str | None = Field(description=NEXT_CURSOR_DOC)


Label = Annotated[str | None, Query(max_length=32)]


@router.get(
    "/members",
    response_model=MemberPage,
    summary="The network's members, newest first, in pages, by a part of the name or identifier, tier, segment and "
    "enrolment time",
    responses=PAGE_RESPONSES,
)
async def members(
    request: Request,
    response: Response,
    svc: Svc,
    admin: NetworkAdmin,
    page: Paging,
    q: Annotated[
        str | None, Query(max_length=MAX_QUERY, description="a part of the name, card number, phone or other code")
    ] = None,
    tier: Label = None,
    segment: Label = None,
    enrolled_since: Annotated[AwareDatetime | None, Query(description="enrolled at or after")] = None,
    enrolled_until: Annotated[AwareDatetime | None, Query(description="enrolled before")] = None,
) -> MemberPage:
    query = MemberFilter(admin.id, q, tier, segment, enrolled_since, enrolled_until, page.after, page.limit + 1)
    found, cursor = next_cursor_of(await svc.members.page(query), page, lambda member: member.id)
    return MemberPage(members=[MemberOut.of(m) for m in found], next_cursor=announce(request, response, cursor))
