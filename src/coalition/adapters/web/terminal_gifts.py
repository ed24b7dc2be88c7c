"""The terminal's gifts: a member's gift handed over from the list on their screen.

The button posts the customer and an attempt key made when the list was shown; the hand-over is the POS API's own
command (POST /v1/gifts/{gift_id}/honour: once, while valid, where the gift and the permissions matrix allow it), so a
double tap or a retry hands it over once. The answer is the member's screen again, the list refreshed, with what was
handed over or why it was refused.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.problems import status_of
from coalition.adapters.web.sessions import checked_form, services_of
from coalition.adapters.web.terminal import (
    Cashier,
    FieldError,
    Till,
    _answered,
    _hash,
    _member,
    _refused,
    _till,
    explain,
    read_key,
    text_of,
)
from coalition.domain import errors

router = APIRouter(prefix="/terminal", include_in_schema=False, route_class=CheckedRoute)


@router.post("/gifts/{gift_id}/honour")
async def honour_gift(request: Request, gift_id: str, me: Cashier) -> HTMLResponse:
    form = await checked_form(request, me)
    till = await _till(request, me)
    customer = text_of(form, "customer")
    try:
        member = await _member(till, customer)
    except errors.DomainError as error:
        return _refused(till, "home.html", error, values={"customer": customer})
    gift = next((gift for gift in member["gifts"] if gift["id"] == gift_id), None)
    try:
        key = read_key(till, form)
        # only this customer's own gifts; a retry of an attempt already answered replays its answer
        if gift is None and not await _answered(till, key):
            raise FieldError(till._("This customer has no such gift to hand over."), field="gift")
        intent = {"gift": gift_id, "customer": customer}
        await services_of(request).pos.honour_gift(till.ctx, gift_id, key, _hash("honour gift", intent))
    except errors.DomainError as error:
        message = _refusal(till, error, gift)
        return till.page("member.html", status_of(error), member=member, values={}, errors={"gift": message})
    name = gift["name"] if gift else till._("The gift")
    refreshed = await _member(till, customer)  # the list without the gift handed over
    return till.page("member.html", member=refreshed, values={}, notice=till._("Handed over: %(gift)s.", gift=name))


def _refusal(till: Till, error: errors.DomainError, gift: dict[str, Any] | None) -> str:
    """Why the gift was not handed over, naming it."""
    if isinstance(error, errors.Conflict) and gift is not None:
        if "expired" in error.detail:
            return till._("%(gift)s has expired; it can no longer be handed over.", gift=gift["name"])
        return till._("%(gift)s was handed over already.", gift=gift["name"])
    return explain(till, error)
