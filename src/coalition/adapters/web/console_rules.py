"""Rule sets in the console: the draft edited with its conflicts beside it, simulated, published; the history.

The draft is edited as the CLI's document (YAML, of which the API's JSON is a subset: either may be pasted). An
error names its field as the API does (`rules[1].effects[0].accrue_percent.percent`) and, found in the text, its line.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.web.sessions import checked_form, services_of, signed_in
from coalition.adapters.web.templating import error_text, gettext, render
from coalition.application.admin import NetworkRef
from coalition.application.web_sessions import WebIdentity
from coalition.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from coalition.domain.input_text import parse_whole_number
from coalition.domain.money import format_minor, parse_amount_minor
from coalition.domain.rules.documents import load_yaml
from coalition.domain.rules.parsing import parse_rule_set, rule_set_to_data

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)
Administrator = Annotated[WebIdentity, Depends(signed_in("console", "administrator"))]
SIMULATION_DAYS = 30
MAX_STORED_INTEGER = 2**31 - 1
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def network_of(identity: WebIdentity) -> NetworkRef:
    return NetworkRef(identity.network_id, identity.network_code, identity.network_name, identity.currency)


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]  # PyYAML ships no types here
    """Indents a list under its key (`rules:` then `  - code: …`), as docs/rules.md writes rule sets."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def as_yaml(document: dict[str, Any]) -> str:
    return str(yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110))


def editable(rules: list[dict[str, Any]], currency: str) -> str:
    """The rules as a person would write them: without the fields a rule leaves at their defaults. The stored form
    spells every field out; the short one parses to the same rule set (checked, else the full form is shown)."""
    full = {"rules": rules}
    baseline = _default_rule(currency)
    short = {"rules": [_without_defaults(rule, baseline) for rule in rules]}
    try:
        same = rule_set_to_data(parse_rule_set(short, currency), currency) == full
    except DomainError:
        same = False
    return as_yaml(short if same else full)


def _default_rule(currency: str) -> dict[str, Any]:
    minimal = {"rules": [{"code": "x", "effects": [{"accrue_fixed": {"points": 1}}]}]}
    rule: dict[str, Any] = rule_set_to_data(parse_rule_set(minimal, currency), currency)["rules"][0]
    return rule


def _without_defaults(rule: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    kept = {}
    for name, value in rule.items():
        if name in ("code", "effects") or value != baseline.get(name):
            kept[name] = _pruned(value) if name == "effects" else value
    return kept


def _pruned(value: Any) -> Any:
    """Empty fields dropped from the effects (`lines: {}`)."""
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items() if v not in ({}, [], None, "")}
    if isinstance(value, list):
        return [_pruned(item) for item in value]
    return value


def line_of_field(text: str, field: str) -> int | None:
    """The 1-based line of the text where the field's value (or its nearest existing parent) starts."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    for name, index in _PATH_PART.findall(field):
        child = _child(node, name, index)
        if child is None:
            break
        node = child
    return int(node.start_mark.line) + 1


def _child(node: yaml.Node, name: str, index: str) -> yaml.Node | None:
    if index and isinstance(node, yaml.SequenceNode):
        position = int(index)
        return node.value[position] if position < len(node.value) else None
    if name and isinstance(node, yaml.MappingNode):
        return next((value for key, value in node.value if key.value == name), None)
    return None


def read_document(text: str) -> object:
    """The draft typed in the text area, limited in size and nesting (documents.py); a syntax error names its line
    and column."""
    try:
        return load_yaml(text, "draft")
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        place = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise InvalidInput(f"{place}{error.problem or 'not valid YAML or JSON'}", field="draft") from None
    except yaml.YAMLError:
        raise InvalidInput("not valid YAML or JSON", field="draft") from None


async def _page_state(request: Request, identity: WebIdentity) -> dict[str, Any]:
    """What the rules page shows besides the form: the version in force, the history and the stored draft."""
    rules = services_of(request).rules
    network = network_of(identity)
    history = await rules.history(network)
    in_force = history.in_force_version
    try:
        draft: dict[str, Any] | None = await rules.draft(network)
    except NotFound:
        draft = None
    if draft is not None:
        text = editable(draft["rules"], identity.currency)
    elif in_force is not None:  # the next edit starts from the set in force
        document = await rules.version(network, in_force.version)
        text = editable(document["rules"], identity.currency)
    else:
        text = "rules: []\n"
    return {
        "in_force": in_force,
        "versions": history.versions,
        "draft": draft,
        "text": text,
    }


async def rules_page(request: Request, identity: WebIdentity, *, status_code: int = 200, **extra: Any) -> HTMLResponse:
    today = services_of(request).rules.clock.now().astimezone(UTC).date()  # the services' clock, as tests move it
    context = await _page_state(request, identity)
    context |= {
        "me": identity,
        "error": None,
        "error_field": None,
        "error_line": None,
        "published": request.query_params.get("published"),
        "simulate_from": (today - timedelta(days=SIMULATION_DAYS)).isoformat(),
        "simulate_to": today.isoformat(),
        "explain_values": {},
    }
    context |= extra
    return render(request, "console/rules.html", context, status_code=status_code, currency=identity.currency)


@router.get("/rules")
async def rules_home(request: Request, identity: Administrator) -> HTMLResponse:
    return await rules_page(request, identity)


@router.post("/rules/draft")
async def save_draft(request: Request, identity: Administrator) -> HTMLResponse:
    form = await checked_form(request, identity)
    text = str(form.get("draft", ""))
    try:
        document = await asyncio.to_thread(read_document, text)  # a large YAML takes a while to read
        saved = await services_of(request).rules.save_draft(network_of(identity), document)
    except DomainError as error:
        field = error.field or "draft"
        return await rules_page(
            request,
            identity,
            status_code=422,
            text=text,
            error=gettext(request, "The draft was not saved: %(detail)s", detail=error_text(request, error.detail)),
            error_field=field,
            error_line=None if field == "draft" else line_of_field(text, field),
        )
    notice = gettext(request, "Draft version %(version)s saved.", version=saved["version"])
    return await rules_page(request, identity, notice=notice)


def _utc_day(value: object, field: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput("expected a date such as 2026-11-01", field=field) from None


@router.post("/rules/simulate")
async def simulate(request: Request, identity: Administrator) -> HTMLResponse:
    form = await checked_form(request, identity)
    values: dict[str, Any] = {"simulate_from": str(form.get("from", "")), "simulate_to": str(form.get("to", ""))}
    try:
        first = _utc_day(values["simulate_from"], "from")
        last = _utc_day(values["simulate_to"], "to")
        start = datetime.combine(first, time(), UTC)
        end = datetime.combine(last, time(), UTC) + timedelta(days=1) if last < date.max else start  # included
        partial = await services_of(request).rules.simulate_part(network_of(identity), start, end)
    except DomainError as error:
        return await rules_page(
            request, identity, status_code=422, simulate_error=error_text(request, error.detail), **values
        )
    return await rules_page(request, identity, simulation=simulation_view(partial), **values)


def simulation_view(partial: dict[str, Any]) -> dict[str, Any]:
    """The recorded and the draft's totals side by side, in minor units and points, with their differences."""
    recorded, draft = partial["recorded"], partial["draft"]
    value = partial["point_value_minor"]
    measures = [
        ("purchases", "count", recorded["purchases"], draft["purchases"]),
        ("checks", "money", recorded["check_minor"], draft["check_minor"]),
        ("discounts", "money", recorded["discount_minor"], draft["discount_minor"]),
        ("points_issued", "count", recorded["points_issued"], draft["points_issued"]),
        ("points_value", "money", recorded["points_issued"] * value, draft["points_issued"] * value),
        ("points_redeemed", "count", recorded["points_redeemed"], draft["points_redeemed"]),
    ]
    partners = sorted(set(recorded["cost_by_partner_minor"]) | set(draft["cost_by_partner_minor"]))
    costs = [
        (name, recorded["cost_by_partner_minor"].get(name, 0), draft["cost_by_partner_minor"].get(name, 0))
        for name in partners
    ]
    return {
        "version": partial["rule_set_version"],
        "measures": measures,
        "costs": costs,
        "members": len(partial["members"]),
        "members_affected": len(partial["members_affected"]),
        "rules_applied": sorted(partial["rules_applied"].items()),
    }


@router.post("/rules/explain")
async def explain(request: Request, identity: Administrator) -> HTMLResponse:
    form = await checked_form(request, identity)
    values = {name: str(form.get(name, "")).strip() for name in ("amount", "outlet", "lifetime_spend", "redeem")}
    currency = identity.currency
    try:
        document: dict[str, Any] = {
            "amount": format_minor(parse_amount_minor(values["amount"], currency, field="amount"), currency)
        }
        if values["outlet"]:
            document["outlet"] = values["outlet"]
        if values["lifetime_spend"]:
            spent = parse_amount_minor(values["lifetime_spend"], currency, field="lifetime_spend")
            document["member"] = {"lifetime_spend": format_minor(spent, currency)}
        if values["redeem"]:
            document["redeem_points"] = parse_whole_number(
                values["redeem"], field="redeem", message="points are a whole number"
            )
        explanation = await services_of(request).rules.explanation(network_of(identity), document)
    except DomainError as error:
        return await rules_page(
            request, identity, status_code=422, explain_values=values, explain_error=error_text(request, error.detail)
        )
    return await rules_page(request, identity, explain_values=values, explanation=explanation)


@router.get("/rules/publish")
async def confirm_publish(request: Request, identity: Administrator) -> HTMLResponse:
    draft = await services_of(request).rules.draft(network_of(identity))
    return render(request, "console/rules_publish.html", {"me": identity, "draft": draft}, currency=identity.currency)


@router.post("/rules/publish")
async def publish(request: Request, identity: Administrator) -> Response:
    form = await checked_form(request, identity)
    typed = str(form.get("effective_from", "")).strip()
    try:
        published = await services_of(request).rules.publish(network_of(identity), _effective_from(typed))
    except DomainError as error:
        status_code = 422 if isinstance(error, InvalidInput) else 409
        refusal = await _publish_refusal(request, identity, error)
        return await rules_page(request, identity, status_code=status_code, publish_error=refusal)
    return RedirectResponse(f"/console/rules?published={published['version']}", status_code=303)


async def _publish_refusal(request: Request, identity: WebIdentity, error: DomainError) -> str:
    """Why the draft was not published, in the reader's language. A draft with conflicts that are errors is refused
    with their messages run together in one text, which no catalog pattern can take apart (a finding's own pattern
    would match the whole): the refusal is said again from the draft's findings, each translated."""
    if isinstance(error, Conflict) and error.field == "draft":
        try:
            draft = await services_of(request).rules.draft(network_of(identity))
        except NotFound:
            draft = None
        errors = [finding for finding in (draft or {}).get("findings", []) if finding["severity"] == "error"]
        if errors:
            conflicts = "; ".join(error_text(request, finding["message"]) for finding in errors[:5])
            return gettext(
                request,
                "the draft has %(count)s conflict(s) that are errors: %(conflicts)s",
                count=len(errors),
                conflicts=conflicts,
            )
    return error_text(request, error.detail)


def _effective_from(typed: str) -> datetime | None:
    """When the published set takes effect, typed in a datetime-local field read as UTC; now when left empty."""
    if not typed:
        return None
    try:
        moment = datetime.fromisoformat(typed)
    except ValueError:
        raise InvalidInput("expected a date and time such as 2026-12-01T00:00", field="effective_from") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@router.get("/rules/versions/{version}")
async def version_page(request: Request, identity: Administrator, version: int) -> HTMLResponse:
    if not 1 <= version <= MAX_STORED_INTEGER:  # the database's integer column could not even be asked
        raise NotFound(f"this network has no rule set version {version}", field="version")
    rules = services_of(request).rules
    network = network_of(identity)
    document = await rules.version(network, version)
    history = await rules.history(network)
    meta = next(v for v in history.versions if v.version == version)
    context = {
        "me": identity,
        "version": meta,
        "in_force": history.in_force == version,
        "text": editable(document["rules"], identity.currency),
    }
    return render(request, "console/rules_version.html", context, currency=identity.currency)
