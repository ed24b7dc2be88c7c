"""The administrator's network pages: partners and their owners' logins, terminals and their keys (with the
network's settings for tills: the limits on one purchase, the country phones are read in), gifts, the permissions
matrix. Every page and form here is for the network's administrator only (an owner gets 403)."""

from __future__ import annotations

from typing import Annotated, Any

from babel import Locale
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.problems import status_of
from coalition.adapters.web.sessions import checked_form, services_of, signed_in
from coalition.adapters.web.templating import error_text, gettext, language_of, render
from coalition.application.admin import WEB_TERMINAL_KEY_PREFIX, NetworkRef
from coalition.application.gifts import GiftTypeRequest
from coalition.application.key_life import KeyCaller
from coalition.application.keys import RotatedTerminalKey
from coalition.application.network_lists import ListQuery
from coalition.application.permissions import MatrixEntry
from coalition.application.web_sessions import WebIdentity
from coalition.domain.errors import DomainError, NotFound
from coalition.domain.identifiers import COUNTRIES
from coalition.domain.input_text import parse_whole_number
from coalition.domain.permissions import POINTS, Operation, gift_counter

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)
Administrator = Annotated[WebIdentity, Depends(signed_in("console", "administrator"))]

# What a redirect after a successful form says (?done=…): English source, translated when shown.
NOTICES = {
    "partner-created": "The partner was added.",
    "email-saved": "The statement e-mail was saved.",
    "owner-created": "The owner's login was created; they can sign in now.",
    "administrator-created": "The administrator's login was created.",
    "user-blocked": "The login was blocked and signed out everywhere.",
    "user-unblocked": "The login was unblocked.",
    "password-reset": "The password was changed; the old sessions were signed out.",
    "terminal-revoked": "The terminal was revoked: its key no longer works.",
    "previous-keys-ended": "The old key no longer works; the terminal's new key does.",
    "gift-type-created": "The gift type was added.",
    "breakage-saved": "The gift breakage policy was saved.",
    "permissions-saved": "The permissions matrix was saved.",
    "limits-saved": "The limits were saved; tills apply them within seconds.",
    "country-saved": "The country was saved: phones typed without their country code are read as its numbers now.",
}


def network_of(identity: WebIdentity) -> NetworkRef:
    return NetworkRef(identity.network_id, identity.network_code, identity.network_name, identity.currency)


def notice_of(request: Request) -> str | None:
    message = NOTICES.get(request.query_params.get("done", ""))
    return gettext(request, message) if message else None


def done(path: str, what: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?done={what}", 303)


def text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def whole_number(value: str, field: str) -> int:
    return parse_whole_number(value, field=field, message=f"{field} is a whole number")


class Failure:
    """A refused form: which form, the message beside it and what was typed, so the page shows it again. A form
    about something the network does not have (NotFound) has no place on the page: its message goes to the top."""

    def __init__(self, request: Request, form: str, error: DomainError, values: dict[str, str]) -> None:
        self.form = "page" if isinstance(error, NotFound) else form
        self.message, self.values, self.field = error_text(request, error.detail), values, error.field
        self.status = status_of(error)


# --- partners and console logins -----------------------------------------------------------------------------


@router.get("/partners")
async def partners_page(request: Request, me: Administrator) -> Response:
    return await _partners(request, me)


async def _partners(request: Request, me: WebIdentity, failure: Failure | None = None) -> Response:
    services = services_of(request)
    partners = await services.admin.partners(network_of(me))
    users = await services.web_sessions.console_users(me.network_id)
    context = {
        "me": me,
        "partners": partners,
        "owners": {p["id"]: [u for u in users if u.partner_id == p["id"]] for p in partners},
        "administrators": [u for u in users if u.role == "administrator"],
        "notice": notice_of(request),
        "failure": failure,
    }
    return render(
        request,
        "console/partners.html",
        context,
        currency=me.currency,
        status_code=failure.status if failure else 200,
    )


@router.post("/partners")
async def create_partner(request: Request, me: Administrator) -> Response:
    form = await checked_form(request, me)
    name = text(form, "name")
    try:
        await services_of(request).admin.create_partner(network_of(me), name)
    except DomainError as error:
        return await _partners(request, me, Failure(request, "new-partner", error, {"name": name}))
    return done("/console/partners", "partner-created")


@router.post("/partners/{partner_id}/email")
async def set_partner_email(request: Request, me: Administrator, partner_id: int) -> Response:
    form = await checked_form(request, me)
    email = text(form, "email")
    try:
        await services_of(request).admin.set_partner_email(network_of(me), partner_id, email)
    except DomainError as error:
        return await _partners(request, me, Failure(request, f"email-{partner_id}", error, {"email": email}))
    return done("/console/partners", "email-saved")


@router.post("/partners/{partner_id}/owners")
async def add_owner(request: Request, me: Administrator, partner_id: int) -> Response:
    form = await checked_form(request, me)
    login, name = text(form, "login"), text(form, "name")
    try:
        await services_of(request).web_sessions.add_console_user(
            me.network_id, "owner", partner_id, login.strip(), name, text(form, "password")
        )
    except DomainError as error:
        values = {"login": login, "name": name}
        return await _partners(request, me, Failure(request, f"owner-{partner_id}", error, values))
    return done("/console/partners", "owner-created")


@router.post("/administrators")
async def add_administrator(request: Request, me: Administrator) -> Response:
    form = await checked_form(request, me)
    login, name = text(form, "login"), text(form, "name")
    try:
        await services_of(request).web_sessions.add_console_user(
            me.network_id, "administrator", None, login.strip(), name, text(form, "password")
        )
    except DomainError as error:
        values = {"login": login, "name": name}
        return await _partners(request, me, Failure(request, "new-administrator", error, values))
    return done("/console/partners", "administrator-created")


@router.post("/users/{user_id}/block")
async def block_user(request: Request, me: Administrator, user_id: int) -> Response:
    return await _set_user_active(request, me, user_id, False)


@router.post("/users/{user_id}/unblock")
async def unblock_user(request: Request, me: Administrator, user_id: int) -> Response:
    return await _set_user_active(request, me, user_id, True)


async def _set_user_active(request: Request, me: WebIdentity, user_id: int, active: bool) -> Response:
    await checked_form(request, me)
    try:
        await services_of(request).web_sessions.set_console_user_active(
            me.network_id, user_id, active, me.console_user_id
        )
    except DomainError as error:
        return await _partners(request, me, Failure(request, f"user-{user_id}", error, {}))
    return done("/console/partners", "user-unblocked" if active else "user-blocked")


@router.post("/users/{user_id}/password")
async def reset_password(request: Request, me: Administrator, user_id: int) -> Response:
    form = await checked_form(request, me)
    try:
        await services_of(request).web_sessions.reset_console_user_password(
            me.network_id, user_id, text(form, "password")
        )
    except DomainError as error:
        return await _partners(request, me, Failure(request, f"user-{user_id}", error, {}))
    return done("/console/partners", "password-reset")


# --- terminals -----------------------------------------------------------------------------------------------


@router.get("/terminals")
async def terminals_page(request: Request, me: Administrator) -> Response:
    return await _terminals(request, me)


async def _terminals(
    request: Request,
    me: WebIdentity,
    failure: Failure | None = None,
    created: dict[str, Any] | None = None,
    rotated: RotatedTerminalKey | None = None,
    rotated_name: str = "",
) -> Response:
    listing = await services_of(request).admin.listing(network_of(me))
    partners = {partner["id"]: partner["name"] for partner in listing["partners"]}
    outlets = {
        outlet["id"]: outlet | {"partner": partners.get(outlet["partner_id"], "")} for outlet in listing["outlets"]
    }
    terminals = [
        terminal
        | {"web": terminal["key_prefix"] == WEB_TERMINAL_KEY_PREFIX, "outlet": outlets.get(terminal["outlet_id"])}
        for terminal in listing["terminals"]
    ]
    context = {
        "me": me,
        "terminals": terminals,
        "limits": await services_of(request).limits.limits(me.network_id, me.currency),
        "country": await services_of(request).limits.country(me.network_id, me.currency),
        "countries": country_choices(language_of(request)),
        "outlets": list(outlets.values()),
        "notice": notice_of(request),
        "failure": failure,
        "created": created,
        "rotated": rotated,
        "rotated_name": rotated_name,
        "grace_choices": GRACE_CHOICES,
    }
    status = failure.status if failure else (201 if created else 200)
    return render(
        request, "console/terminals.html", context, currency=me.currency, timezone=me.timezone, status_code=status
    )


@router.post("/terminals")
async def create_terminal(request: Request, me: Administrator) -> Response:
    form = await checked_form(request, me)
    values = {"outlet": text(form, "outlet"), "name": text(form, "name")}
    try:
        outlet_id = whole_number(values["outlet"], "outlet_id")
        created = await services_of(request).admin.create_terminal(network_of(me), outlet_id, values["name"])
    except DomainError as error:
        return await _terminals(request, me, Failure(request, "new-terminal", error, values))
    return await _terminals(request, me, created=created)


LIMIT_FIELDS = ("max_amount", "max_quantity", "max_lines_per_purchase", "max_points_per_purchase")


@router.post("/terminals/limits")
async def set_limits(request: Request, me: Administrator) -> Response:
    """The network's limits on one purchase (README, "Limits"): what a till may send in one purchase."""
    form = await checked_form(request, me)
    values = {name: text(form, name).strip() for name in LIMIT_FIELDS}
    try:
        await services_of(request).limits.set_limits(
            me.network_id,
            me.currency,
            max_amount=values["max_amount"],
            max_quantity=values["max_quantity"],
            max_lines_per_purchase=whole_number(values["max_lines_per_purchase"], "max_lines_per_purchase"),
            max_points_per_purchase=whole_number(values["max_points_per_purchase"], "max_points_per_purchase"),
        )
    except DomainError as error:
        return await _terminals(request, me, Failure(request, "limits", error, values))
    return done("/console/terminals", "limits-saved")


def country_choices(language: str) -> list[tuple[str, str]]:
    """Every country a network may have, (code, name in the reader's language), by name."""
    names = Locale.parse(language).territories
    return sorted(((code, names.get(code, code)) for code in COUNTRIES), key=lambda choice: choice[1].casefold())


@router.post("/terminals/country")
async def set_country(request: Request, me: Administrator) -> Response:
    """The network's country (issue 18, point 4): phones typed without their country code are read as its numbers."""
    form = await checked_form(request, me)
    typed = text(form, "country")
    try:
        await services_of(request).limits.set_country(me.network_id, me.currency, typed)
    except DomainError as error:
        return await _terminals(request, me, Failure(request, "country", error, {"country": typed}))
    return done("/console/terminals", "country-saved")


@router.post("/terminals/{terminal_id}/revoke")
async def revoke_terminal(request: Request, me: Administrator, terminal_id: int) -> Response:
    await checked_form(request, me)
    services = services_of(request)
    try:
        await services.admin.deactivate_terminal(network_of(me), terminal_id)
    except DomainError as error:
        return await _terminals(request, me, Failure(request, f"terminal-{terminal_id}", error, {}))
    services.pos.forget_terminal_keys()
    return done("/console/terminals", "terminal-revoked")


# How long a rotated terminal's old key keeps working, as the form offers it (seconds, label); the API takes any.
GRACE_CHOICES = (
    (0, "no time: it stops at once"),
    (3600, "1 hour"),
    (86400, "1 day"),
    (7 * 86400, "7 days"),
    (30 * 86400, "30 days"),
)


def key_caller(me: WebIdentity) -> KeyCaller:
    return KeyCaller(network_of(me), console_user_id=me.console_user_id)


@router.post("/terminals/{terminal_id}/rotate")
async def rotate_terminal_key(request: Request, me: Administrator, terminal_id: int) -> Response:
    """A new key for the terminal, shown once; the old one serves on for the chosen grace."""
    form = await checked_form(request, me)
    services = services_of(request)
    try:
        grace_seconds = whole_number(text(form, "grace_seconds"), "grace_seconds")
        rotated = await services.keys.rotate_terminal_key(key_caller(me), network_of(me), terminal_id, grace_seconds)
    except DomainError as error:
        return await _terminals(request, me, Failure(request, f"terminal-{terminal_id}", error, {}))
    # the one terminal, not the network's every list: the first of the network's terminals from its id on
    found = await services.network_lists.terminals(ListQuery(me.network_id, after_id=terminal_id - 1, limit=1))
    name = found[0].name if found and found[0].id == terminal_id else ""
    return await _terminals(request, me, rotated=rotated, rotated_name=name)


@router.post("/terminals/{terminal_id}/end-previous")
async def end_previous_terminal_keys(request: Request, me: Administrator, terminal_id: int) -> Response:
    await checked_form(request, me)
    try:
        await services_of(request).keys.end_previous_terminal_keys(key_caller(me), network_of(me), terminal_id)
    except DomainError as error:
        return await _terminals(request, me, Failure(request, f"terminal-{terminal_id}", error, {}))
    return done("/console/terminals", "previous-keys-ended")


# --- gifts ---------------------------------------------------------------------------------------------------


@router.get("/gifts")
async def gifts_page(request: Request, me: Administrator) -> Response:
    return await _gifts(request, me)


async def _gifts(request: Request, me: WebIdentity, failure: Failure | None = None) -> Response:
    services = services_of(request)
    partners = await services.admin.partners(network_of(me))
    catalogue = await services.gifts.listing(me.network_id, me.currency)
    names = {partner["id"]: partner["name"] for partner in partners}
    gift_types = [
        gift | {"partners": [names.get(partner_id, str(partner_id)) for partner_id in gift["partner_ids"]]}
        for gift in catalogue["gift_types"]
    ]
    context = {
        "me": me,
        "gift_types": gift_types,
        "partners": partners,
        "breakage": (await services.gifts.breakage(me.network_id))["gifts"],
        "notice": notice_of(request),
        "failure": failure,
    }
    status = failure.status if failure else 200
    return render(request, "console/gifts.html", context, currency=me.currency, status_code=status)


@router.post("/gifts")
async def create_gift_type(request: Request, me: Administrator) -> Response:
    form = await checked_form(request, me)
    chosen = [value for value in form.getlist("partners") if isinstance(value, str)]
    values = {name: text(form, name) for name in ("code", "name", "price", "valid_days")}
    try:
        gift_request = GiftTypeRequest(
            code=values["code"].strip(),
            name=values["name"],
            price=values["price"].strip(),
            valid_days=whole_number(values["valid_days"], "valid_days"),
            partners=tuple(chosen),
        )
        await services_of(request).gifts.create_type(me.network_id, me.currency, gift_request)
    except DomainError as error:
        failure = Failure(request, "new-gift-type", error, values | {"partners": "\n".join(chosen)})
        return await _gifts(request, me, failure)
    return done("/console/gifts", "gift-type-created")


@router.post("/gifts/breakage")
async def set_gift_breakage(request: Request, me: Administrator) -> Response:
    form = await checked_form(request, me)
    try:
        await services_of(request).gifts.set_breakage(me.network_id, text(form, "gifts"))
    except DomainError as error:
        return await _gifts(request, me, Failure(request, "breakage", error, {}))
    return done("/console/gifts", "breakage-saved")


# --- the permissions matrix ----------------------------------------------------------------------------------

POINT_OPERATIONS = (Operation.ACCRUE, Operation.SPEND)
GIFT_OPERATIONS = (Operation.GRANT, Operation.HONOUR)


@router.get("/permissions")
async def permissions_page(request: Request, me: Administrator) -> Response:
    return await _permissions(request, me)


async def _permissions(request: Request, me: WebIdentity, failure: Failure | None = None) -> Response:
    services = services_of(request)
    listing = await services.admin.listing(network_of(me))
    matrix = await services.permissions.matrix(me.network_id)
    catalogue = await services.gifts.listing(me.network_id, me.currency)
    columns = [(POINTS, operation) for operation in POINT_OPERATIONS] + [
        (gift_counter(gift["code"]), operation) for gift in catalogue["gift_types"] for operation in GIFT_OPERATIONS
    ]
    allowed = {
        (entry["outlet"], entry["counter"], operation)
        for entry in matrix["entries"]
        for operation in entry["operations"]
    }
    shown_counters = {counter for counter, _ in columns}
    # entries this table has no column for (a wallet's top-ups) are kept as they are when the form is saved
    kept = sorted(
        f"{outlet}\t{counter}\t{operation}" for outlet, counter, operation in allowed if counter not in shown_counters
    )
    gift_names = {gift_counter(gift["code"]): gift["name"] for gift in catalogue["gift_types"]}
    context = {
        "me": me,
        "outlets": listing["outlets"],
        "columns": columns,
        "counters": [(POINTS, len(POINT_OPERATIONS))]
        + [(gift_counter(gift["code"]), len(GIFT_OPERATIONS)) for gift in catalogue["gift_types"]],
        "gift_names": gift_names,
        "allowed": allowed,
        "kept": kept,
        "defined": matrix["defined"],
        "notice": notice_of(request),
        "failure": failure,
    }
    status = failure.status if failure else 200
    return render(request, "console/permissions.html", context, currency=me.currency, status_code=status)


@router.post("/permissions")
async def save_permissions(request: Request, me: Administrator) -> Response:
    form = await checked_form(request, me)
    chosen: dict[tuple[str, str], list[str]] = {}
    for value in form.getlist("allow"):
        outlet, _, rest = str(value).partition("\t")
        counter, _, operation = rest.partition("\t")
        chosen.setdefault((outlet, counter), []).append(operation)
    entries = [MatrixEntry(outlet, counter, tuple(ops)) for (outlet, counter), ops in sorted(chosen.items())]
    try:
        await services_of(request).permissions.replace(me.network_id, entries)
    except DomainError as error:
        return await _permissions(request, me, Failure(request, "matrix", error, {}))
    return done("/console/permissions", "permissions-saved")
