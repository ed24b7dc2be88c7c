"""Periods and settlement in the console: close a period, fees and breakage policies, statements e-mailed to the
partners (the administrator); the statements themselves, each reader seeing only what is theirs (administrator and
owners)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from coalition.adapters.documents.pdf import statement_pdf
from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.web.sessions import checked_form, services_of, signed_in
from coalition.adapters.web.templating import error_text, render
from coalition.application.csv_text import csv_text
from coalition.application.settlement import CLOSE_DELAY, PartnerStatement, entries_csv_rows
from coalition.application.statement_views import StatementView, statement_view, statement_view_csv_rows
from coalition.application.web_sessions import WebIdentity
from coalition.domain.errors import DomainError, Forbidden, InvalidInput, NotFound
from coalition.domain.rules.parsing import format_percent, parse_percent_bp

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)
Administrator = Annotated[WebIdentity, Depends(signed_in("console", "administrator"))]
Reader = Annotated[WebIdentity, Depends(signed_in("console", "administrator", "owner"))]
POINTS_POLICIES = ("kept", "returned", "shared")
GIFT_POLICIES = ("kept", "released")
MAX_STORED_INTEGER = 2**31 - 1


async def _statement_summaries(request: Request, network_id: int) -> list[dict[str, Any]]:
    found = await services_of(request).settlement.statements(network_id)
    return [
        {"number": s.number, "start": s.period_start, "end": s.period_end, "closed_at": s.closed_at}
        for s in reversed(found)  # newest first
    ]


async def settlement_page(
    request: Request, identity: WebIdentity, *, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    svc = services_of(request)
    network_id = identity.network_id
    statements = await _statement_summaries(request, network_id)
    fees = await svc.settlement.fees(network_id)
    points = await svc.breakage.points(network_id)
    latest_end = svc.settlement.clock.now().astimezone(UTC) - CLOSE_DELAY - timedelta(seconds=1)
    suggested_end = latest_end.replace(microsecond=0, tzinfo=None)
    context: dict[str, Any] = {
        "me": identity,
        "statements": statements,
        "open_since": statements[0]["end"] if statements else None,
        "fees": fees,
        "points": points | {"share": "" if points["share_bp"] is None else format_percent(points["share_bp"])},
        "gifts": (await svc.gifts.breakage(network_id))["gifts"],
        "points_policies": POINTS_POLICIES,
        "gift_policies": GIFT_POLICIES,
        "end_value": suggested_end.isoformat(),
        "errors": {},
        "notice": request.query_params.get("done"),
    }
    context |= extra
    return render(request, "console/settlement.html", context, status_code=status_code, currency=identity.currency)


def _saved(what: str) -> RedirectResponse:
    return RedirectResponse(f"/console/settlement?done={what}", status_code=303)


@router.get("/settlement")
async def settlement_home(request: Request, identity: Administrator) -> HTMLResponse:
    return await settlement_page(request, identity)


def _period_end(value: str) -> datetime:
    """The end typed in a datetime-local field, read as UTC (the page says so)."""
    try:
        end = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput("expected a date and time such as 2026-11-01T00:00", field="end") from None
    return end.replace(tzinfo=UTC) if end.tzinfo is None else end


@router.post("/settlement/close")
async def close_period(request: Request, identity: Administrator) -> Response:
    form = await checked_form(request, identity)
    value = str(form.get("end", ""))
    try:
        closed = await services_of(request).settlement.close(identity.network_id, _period_end(value))
    except DomainError as error:
        return await settlement_page(
            request, identity, status_code=422, end_value=value, errors={"end": error_text(request, error.detail)}
        )
    return RedirectResponse(f"/console/statements/{closed['number']}?closed=1", status_code=303)


@router.post("/settlement/fees")
async def set_fees(request: Request, identity: Administrator) -> Response:
    form = await checked_form(request, identity)
    per_transaction, percent = str(form.get("per_transaction", "")), str(form.get("percent_of_granted", ""))
    try:
        await services_of(request).settlement.set_fees(identity.network_id, per_transaction, percent)
    except DomainError as error:
        entered = {"per_transaction": per_transaction, "percent_of_granted": percent, "currency": identity.currency}
        field = error.field if error.field in ("per_transaction", "percent_of_granted") else "per_transaction"
        return await settlement_page(
            request, identity, status_code=422, fees=entered, errors={field: error_text(request, error.detail)}
        )
    return _saved("fees")


@router.post("/settlement/points-breakage")
async def set_points_breakage(request: Request, identity: Administrator) -> Response:
    form = await checked_form(request, identity)
    policy, share = str(form.get("policy", "")), str(form.get("share", "")).strip()
    try:
        share_bp = parse_percent_bp(share, field="share") if share and policy == "shared" else None
        await services_of(request).breakage.set_points(identity.network_id, policy, share_bp)
    except DomainError as error:
        entered = {"policy": policy, "share": share}
        field = "share" if error.field in ("share", "share_bp") else "policy"
        return await settlement_page(
            request,
            identity,
            status_code=422,
            points=entered,
            errors={f"points_{field}": error_text(request, error.detail)},
        )
    return _saved("points")


@router.post("/settlement/gift-breakage")
async def set_gift_breakage(request: Request, identity: Administrator) -> Response:
    form = await checked_form(request, identity)
    policy = str(form.get("gifts", ""))
    try:
        await services_of(request).gifts.set_breakage(identity.network_id, policy)
    except DomainError as error:
        return await settlement_page(
            request, identity, status_code=422, errors={"gifts": error_text(request, error.detail)}
        )
    return _saved("gifts")


@router.post("/settlement/statements/{number}/send")
async def send_statement(request: Request, identity: Administrator, number: int) -> HTMLResponse:
    await checked_form(request, identity)
    try:
        sent = await services_of(request).settlement.send(identity.network_id, _stored_number(number, "number"))
    except DomainError as error:
        return await settlement_page(request, identity, status_code=409, send_error=error_text(request, error.detail))
    return await settlement_page(request, identity, sent=sent)


# --- statements: the administrator sees all of one, an owner only its partner's part -----------------------------


def _partner_scope(identity: WebIdentity) -> int | None:
    """None for the administrator (everything); the owner's partner otherwise."""
    if identity.role == "administrator":
        return None
    if identity.partner_id is None:
        raise Forbidden("this console user belongs to no partner", field="role")
    return identity.partner_id


def _stored_number(value: int, field: str) -> int:
    """A number the database's integer columns can hold; any other cannot name a statement or a partner."""
    if not 1 <= value <= MAX_STORED_INTEGER:
        raise NotFound(f"there is no {'partner' if field == 'partner_id' else 'statement'} {value}", field=field)
    return value


async def _view(request: Request, identity: WebIdentity, number: int) -> StatementView:
    _stored_number(number, "number")
    statement = await services_of(request).settlement.statement(identity.network_id, number)
    return statement_view(statement, _partner_scope(identity))


@router.get("/statements")
async def statements(request: Request, identity: Reader) -> HTMLResponse:
    context = {"me": identity, "statements": await _statement_summaries(request, identity.network_id)}
    return render(request, "console/statements.html", context, currency=identity.currency)


@router.get("/statements/{number}")
async def statement(request: Request, identity: Reader, number: int) -> HTMLResponse:
    view = await _view(request, identity, number)
    context = {"me": identity, "view": view, "closed": request.query_params.get("closed") == "1"}
    return render(request, "console/statements_one.html", context, currency=view.currency)


@router.get("/statements/{number}/statement.csv")
async def statement_csv_download(request: Request, identity: Reader, number: int) -> Response:
    view = await _view(request, identity, number)
    headers = {"Content-Disposition": f'attachment; filename="{_filename(view)}.csv"'}
    return PlainTextResponse(csv_text(statement_view_csv_rows(view)), media_type="text/csv", headers=headers)


@router.get("/statements/{number}/statement.pdf")
async def statement_pdf_download(request: Request, identity: Reader, number: int) -> Response:
    view = await _view(request, identity, number)
    headers = {"Content-Disposition": f'attachment; filename="{_filename(view)}.pdf"'}
    document = statement_pdf(view.statement, statement_view_csv_rows(view))
    return Response(document, media_type="application/pdf", headers=headers)


@router.get("/statements/{number}/partners/{partner_id}")
async def partner_entries(request: Request, identity: Reader, number: int, partner_id: int) -> HTMLResponse:
    entries = await _entries(request, identity, number, partner_id)
    context = {"me": identity, "own": entries, "number": number, "partner_id": partner_id}
    return render(request, "console/statements_entries.html", context, currency=identity.currency)


@router.get("/statements/{number}/partners/{partner_id}/entries.csv")
async def partner_entries_csv_download(request: Request, identity: Reader, number: int, partner_id: int) -> Response:
    own = await _entries(request, identity, number, partner_id)
    headers = {"Content-Disposition": f'attachment; filename="statement-{number}-partner-{partner_id}.csv"'}
    return PlainTextResponse(csv_text(entries_csv_rows(own.json())), media_type="text/csv", headers=headers)


async def _entries(request: Request, identity: WebIdentity, number: int, partner_id: int) -> PartnerStatement:
    _stored_number(number, "number")
    _stored_number(partner_id, "partner_id")
    scope = _partner_scope(identity)
    if scope is not None and scope != partner_id:  # another partner's entries: as if there were none
        raise NotFound(f"statement {number} has no partner {partner_id}", field="partner_id")
    return await services_of(request).settlement.partner_part(identity.network_id, number, partner_id)


def _filename(view: StatementView) -> str:
    return f"statement-{view.number}" + ("" if view.partner_id is None else f"-partner-{view.partner_id}")
