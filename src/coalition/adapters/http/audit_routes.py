"""The audit log over the API: the network administrator reads (and exports) who changed what, newest first.

There is no route that changes or deletes an entry: the log is kept (the database refuses UPDATE and DELETE).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic import AwareDatetime, BaseModel, Field

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import NetworkAdmin, Svc
from coalition.adapters.http.pagination import MAX_LIMIT
from coalition.application.audit import MAX_PAGE, AuditQuery, StoredAuditEntry, csv_chunks
from coalition.application.csv_text import csv_text

router = APIRouter(prefix="/v1/admin", tags=["Audit"], route_class=CheckedRoute)


class AuditActor(BaseModel):
    kind: str = Field(description="admin_key, operator, console_user, cli, registrant or system")
    id: str | None = Field(description="a console user's number, or an admin key's fingerprint (never the key)")
    name: str | None = Field(description="a console user's name, the CLI's OS user")
    role: str | None = Field(description="a console user's role: administrator or owner")
    address: str | None = Field(description="where the request came from")
    request_id: str | None = Field(description="the request's X-Request-ID, when it carried one")


class AuditEntryOut(BaseModel):
    id: int
    recorded_at: datetime
    actor: AuditActor
    action: str = Field(description="a stable dotted code, e.g. terminal.revoke, cashier.password_reset")
    object_type: str
    object_id: str | None
    partner_id: int | None = Field(description="the partner the entry is about, when there is one")
    before: dict[str, Any] | None = Field(description="the changed fields before (secrets redacted)")
    after: dict[str, Any] | None = Field(description="the changed fields after (secrets redacted)")


class AuditPage(BaseModel):
    entries: list[AuditEntryOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next (older) page; null on the last")


def _out(entry: StoredAuditEntry) -> AuditEntryOut:
    a = entry.actor
    return AuditEntryOut(
        id=entry.id,
        recorded_at=entry.recorded_at,
        actor=AuditActor(kind=a.kind, id=a.id, name=a.name, role=a.role, address=a.address, request_id=a.request_id),
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        partner_id=entry.partner_id,
        before=entry.before,
        after=entry.after,
    )


Since = Annotated[AwareDatetime | None, Query(description="entries recorded at or after (ISO 8601 with offset)")]
Until = Annotated[AwareDatetime | None, Query(description="entries recorded before")]
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # a NUL would reach PostgreSQL and fail there: refused here, naming the field
ActorFilter = Annotated[
    str | None,
    Query(max_length=200, pattern=_PRINTABLE, description="an actor's kind (admin_key, console_user…), id or name"),
]
ActionFilter = Annotated[
    str | None,
    Query(max_length=64, pattern=r"^[a-z_]+(\.[a-z_]*)?$", description="an action, or a prefix such as `terminal.`"),
]
ObjectType = Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$")]
ObjectId = Annotated[str | None, Query(max_length=100, pattern=_PRINTABLE)]
Cursor = Annotated[str | None, Query(pattern=r"^[1-9][0-9]{0,17}$", description="the previous page's next_cursor")]


async def filtered(
    admin: NetworkAdmin,
    since: Since = None,
    until: Until = None,
    actor: ActorFilter = None,
    action: ActionFilter = None,
    object_type: ObjectType = None,
    object_id: ObjectId = None,
) -> AuditQuery:
    """The filters both the page of entries and the CSV take, on the admin key's own network."""
    return AuditQuery(
        network_id=admin.id,
        since=since,
        until=until,
        actor=actor or None,
        action=action or None,
        object_type=object_type or None,
        object_id=object_id or None,
    )


Filtered = Annotated[AuditQuery, Depends(filtered)]


@router.get("/audit", summary="The audit log, newest first, filtered and paged", response_model=AuditPage)
async def audit(
    svc: Svc,
    filters: Filtered,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"at most {MAX_LIMIT}, as every list")] = 100,
) -> AuditPage:
    query = replace(filters, before_id=int(cursor) if cursor else None, limit=limit)
    found = await svc.audit.entries(query)
    next_cursor = str(found[-1].id) if len(found) == limit else None
    return AuditPage(entries=[_out(entry) for entry in found], next_cursor=next_cursor)


@router.get(
    "/audit.csv",
    summary="The audit log as CSV (every entry matching the filters, newest first)",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def audit_csv(svc: Svc, filters: Filtered) -> StreamingResponse:
    return csv_download(svc.audit.pages(replace(filters, limit=MAX_PAGE)))


def csv_download(pages: AsyncIterator[list[StoredAuditEntry]]) -> StreamingResponse:
    """The export streamed a page at a time (a long log is never held whole), through csv_text like every CSV."""

    async def body() -> AsyncIterator[str]:
        async for rows in csv_chunks(pages):
            yield csv_text(rows)

    headers = {"Content-Disposition": 'attachment; filename="audit.csv"'}
    return StreamingResponse(body(), media_type="text/csv; charset=utf-8", headers=headers)
