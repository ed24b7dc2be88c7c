"""The program editor in the console (docs/program-editor.md): the program described by forms, saved as the draft
rule set the engine runs (the same draft → conflicts → publish flow as the rules page), its YAML shown; a sample
purchase explained and last month's purchases priced again before publishing.

The forms are read and written by application/program_form.py and program_editor.py (pure, typed); a bad field
re-shows the form with the message beside it (422).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.web.console_rules import Administrator, editable, network_of, simulation_view
from coalition.adapters.web.sessions import checked_form, refuse_control_characters, services_of
from coalition.adapters.web.templating import error_text, gettext, render
from coalition.application.program_editor import program_document, program_yaml
from coalition.application.program_form import form_fields, parse_program_form
from coalition.application.web_sessions import WebIdentity
from coalition.domain.errors import DomainError, InvalidInput, NotFound
from coalition.domain.input_text import without_control_characters
from coalition.domain.members import parse_label
from coalition.domain.money import format_minor, parse_amount_minor

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)
PAGE = "/console/rules/editor"
EXPLAIN_FIELDS = ("amount", "at", "lifetime_spend", "previous_period_spend", "segment", "tier")


def last_month(today: date) -> tuple[datetime, datetime]:
    """The calendar month before `today`'s, in UTC: [its first day, the first day of today's month)."""
    end = datetime(today.year, today.month, 1, tzinfo=UTC)
    start_day = (end - timedelta(days=1)).replace(day=1)
    return start_day, end


async def editor_page(request: Request, identity: WebIdentity, *, status_code: int = 200, **extra: Any) -> HTMLResponse:
    rules = services_of(request).rules
    try:
        draft: dict[str, Any] | None = await rules.draft(network_of(identity))
    except NotFound:
        draft = None
    today = rules.clock.now().astimezone(UTC).date()
    start, end = last_month(today)
    card_minimum = await services_of(request).limits.card_minimum(identity.network_id)
    opening = await rules.editor_start(network_of(identity))
    context: dict[str, Any] = {
        "me": identity,
        "fields": form_fields(opening.form, identity.currency),
        "start": opening,
        "error": None,
        "error_field": None,
        "draft": draft,
        "yaml": editable(draft["rules"], identity.currency) if draft else None,
        "explain_values": {},
        "month_start": start.date(),
        "month_end": (end - timedelta(days=1)).date(),
        "card_minimum": format_minor(card_minimum, identity.currency),
    }
    context |= extra
    return render(request, "console/program_editor.html", context, status_code=status_code, currency=identity.currency)


@router.get("/rules/editor")
async def editor_home(request: Request, identity: Administrator) -> HTMLResponse:
    return await editor_page(request, identity)


@router.post("/rules/editor")
async def save_program(request: Request, identity: Administrator) -> HTMLResponse:
    form = await checked_form(request, identity, clean=False)  # a control character re-shows the form, named
    fields = {name: without_control_characters(str(value)) for name, value in form.items() if name != "csrf_token"}
    try:
        refuse_control_characters(form)
        program = parse_program_form(fields, identity.currency)
        document = program_document(program, identity.currency)
        saved = await services_of(request).rules.save_draft(network_of(identity), document, program)
    except DomainError as error:
        return await editor_page(
            request,
            identity,
            status_code=422,
            fields=fields,
            error=gettext(request, "The program was not saved: %(detail)s", detail=error_text(request, error.detail)),
            error_field=without_control_characters(error.field or "") or None,
        )
    notice = gettext(request, "Draft version %(version)s saved.", version=saved["version"])
    return await editor_page(
        request, identity, fields=fields, notice=notice, yaml=program_yaml(document), draft=saved, yaml_open=True
    )


def explain_document(values: dict[str, str], currency: str) -> dict[str, Any]:
    """The sample purchase typed on the editor page as the explain request of the API (docs/rules.md)."""
    amount = parse_amount_minor(values["amount"], currency, field="amount")
    document: dict[str, Any] = {"amount": format_minor(amount, currency)}
    if values["at"]:
        try:
            moment = datetime.fromisoformat(values["at"])
        except ValueError:
            raise InvalidInput("expected a date and time such as 2026-12-01T11:30", field="at") from None
        document["at"] = moment.replace(tzinfo=UTC).isoformat() if moment.tzinfo is None else moment.isoformat()
    member: dict[str, Any] = {}
    for name in ("lifetime_spend", "previous_period_spend"):
        if values[name]:
            member[name] = format_minor(parse_amount_minor(values[name], currency, field=name), currency)
    if values["segment"]:
        label = parse_label(values["segment"], field="segment")
        member["segments"] = [label]
        member["card_type"] = label
    if values["tier"]:
        member["tier"] = parse_label(values["tier"], field="tier")
    if member:
        document["member"] = member
    return document


@router.post("/rules/editor/explain")
async def explain_sample(request: Request, identity: Administrator) -> HTMLResponse:
    form = await checked_form(request, identity, clean=False)
    values = {name: without_control_characters(str(form.get(name, ""))).strip() for name in EXPLAIN_FIELDS}
    try:
        refuse_control_characters(form)
        document = explain_document(values, identity.currency)
        explanation = await services_of(request).rules.explanation(network_of(identity), document)
    except DomainError as error:
        return await editor_page(
            request,
            identity,
            status_code=422,
            explain_values=values,
            explain_error=error_text(request, error.detail),
            explain_field=without_control_characters(error.field or "") or None,
        )
    return await editor_page(request, identity, explain_values=values, explanation=explanation)


@router.post("/rules/editor/simulate")
async def simulate_last_month(request: Request, identity: Administrator) -> HTMLResponse:
    await checked_form(request, identity)
    rules = services_of(request).rules
    start, end = last_month(rules.clock.now().astimezone(UTC).date())
    try:
        partial = await rules.simulate_part(network_of(identity), start, end)
    except DomainError as error:
        return await editor_page(request, identity, status_code=422, simulate_error=error_text(request, error.detail))
    view = simulation_view(partial)
    recorded = partial["recorded"]
    drafted = partial["draft"]
    value = partial["point_value_minor"]
    cost = drafted["discount_minor"] + drafted["points_issued"] * value
    cost_before = recorded["discount_minor"] + recorded["points_issued"] * value
    return await editor_page(request, identity, simulation=view, cost=cost, cost_before=cost_before)


@router.post("/rules/editor/card-minimum")
async def set_card_minimum(request: Request, identity: Administrator) -> HTMLResponse:
    """The network's least first purchase for a card issued at a till: applies at once, not with the draft."""
    form = await checked_form(request, identity, clean=False)
    typed = without_control_characters(str(form.get("card_min_first_purchase", ""))).strip() or "0"
    try:
        refuse_control_characters(form)
        await services_of(request).limits.set_card_minimum(identity.network_id, identity.currency, typed)
    except DomainError as error:
        return await editor_page(
            request, identity, status_code=422, card_error=error_text(request, error.detail), card_minimum=typed
        )
    notice = gettext(request, "Cards are now issued from a first purchase of %(amount)s.", amount=typed)
    return await editor_page(request, identity, notice=notice)
