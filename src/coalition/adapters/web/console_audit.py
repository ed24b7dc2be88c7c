"""The audit log in the console: the network administrator reads who changed what, filters it and downloads it.

Administrators only. Owners see no entries: an entry names other people's logins and addresses, and many actions
(rules, fees, permissions) concern the whole network rather than one partner.
Days in the filters are the reader's days (their time zone), and times are shown in it.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from coalition.adapters.http.audit_routes import csv_download
from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.problems import status_of
from coalition.adapters.web.sessions import services_of, signed_in
from coalition.adapters.web.templating import error_text, render
from coalition.application.audit import AuditQuery, StoredAuditEntry
from coalition.application.web_sessions import WebIdentity
from coalition.domain.errors import DomainError, InvalidInput

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)
Administrator = Annotated[WebIdentity, Depends(signed_in("console", "administrator"))]
FILTERS = ("from", "to", "actor", "action", "object", "cursor")
PAGE_SIZE = 50


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("expected a date such as 2026-11-01", field=field) from None


def _start_of(day: date | None, zone: str) -> datetime | None:
    return None if day is None else datetime.combine(day, time(0), tzinfo=ZoneInfo(zone))


def _text(value: str, field: str, longest: int) -> str | None:
    if len(value) > longest or any(ord(c) < 32 for c in value):
        raise InvalidInput(f"at most {longest} characters, no control characters", field=field)
    return value or None


def _query(me: WebIdentity, values: dict[str, str], limit: int) -> AuditQuery:
    first, last = _day(values["from"], "from"), _day(values["to"], "to")
    cursor = values["cursor"]
    if cursor and not (cursor.isdigit() and len(cursor) <= 18):
        raise InvalidInput("this page's link is broken; start again from the first page", field="cursor")
    return AuditQuery(
        network_id=me.network_id,
        since=_start_of(first, me.timezone),
        until=_start_of(last + timedelta(days=1) if last and last < date.max else None, me.timezone),  # all of it
        actor=_text(values["actor"], "actor", 200),
        action=_text(values["action"], "action", 64),
        object_type=_text(values["object"], "object", 32),
        before_id=int(cursor) if cursor else None,
        limit=limit,
    )


def _values(request: Request) -> dict[str, str]:
    return {name: request.query_params.get(name, "").strip() for name in FILTERS}


def _changes(values: dict[str, Any] | None) -> str:
    return "" if values is None else json.dumps(values, ensure_ascii=False, sort_keys=True)


@router.get("/audit")
async def audit_page(request: Request, me: Administrator) -> HTMLResponse:
    values = _values(request)
    error: dict[str, str] | None = None
    found: list[StoredAuditEntry] = []
    try:
        found = await services_of(request).audit.entries(_query(me, values, PAGE_SIZE + 1))
    except DomainError as caught:
        error = {"field": caught.field or "", "message": error_text(request, caught.detail)}
    kept = {name: value for name, value in values.items() if value and name != "cursor"}
    older = None
    if len(found) > PAGE_SIZE:
        found = found[:PAGE_SIZE]
        older = "/console/audit?" + urlencode(kept | {"cursor": str(found[-1].id)})
    context = {
        "me": me,
        "values": values,
        "error": error,
        "entries": [(entry, _changes(entry.before), _changes(entry.after)) for entry in found],
        "older": older,
        "download": "/console/audit.csv" + ("?" + urlencode(kept) if kept else ""),
    }
    status = 422 if error else 200
    return render(request, "console/audit.html", context, timezone=me.timezone, status_code=status)


@router.get("/audit.csv")
async def audit_csv(request: Request, me: Administrator) -> Response:
    values = _values(request) | {"cursor": ""}
    try:
        query = _query(me, values, 1000)
    except DomainError as caught:
        return PlainTextResponse(error_text(request, caught.detail), status_code=status_of(caught))
    return csv_download(services_of(request).audit.pages(query))
