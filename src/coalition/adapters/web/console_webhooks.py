"""Webhooks in the console (issue 16), at /console/webhooks: the administrator's subscriptions with their state and
failures, a form to subscribe a URL to event kinds (its secret shown once, on the page that answers);
/console/webhooks/{id} shows a subscription's deliveries with their response codes, each delivered or failed one with
a button to send it again, and pause, resume, rotate the secret (the new one shown once, on the page that answers)
and delete (after a confirmation box is ticked: a no-script confirmation, checked again by the server). The same
commands as the admin API (application/webhooks.py), audited as the console user's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.problems import status_of
from coalition.adapters.web.console_staff import network_of
from coalition.adapters.web.sessions import checked_form, services_of, signed_in
from coalition.adapters.web.templating import error_text, gettext, render
from coalition.application.web_sessions import WebIdentity
from coalition.application.webhooks import NewSubscription, Subscription
from coalition.domain.errors import DomainError
from coalition.domain.webhooks import EVENT_KINDS

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)
Administrator = Annotated[WebIdentity, Depends(signed_in("console", "administrator"))]
DONE = {
    "paused": "The webhook is paused: its events wait for it (3 days at most) until it is resumed.",
    "resumed": "The webhook is resumed: the events that waited are sent to it, then new ones.",
    "resent": "The delivery is queued again: it is sent with the same Coalition-Webhook-Id.",
    "deleted": "The webhook is deleted: nothing more is sent to it.",
}
NOT_CONFIRMED = "tick the box to confirm the deletion"


async def _list_page(
    request: Request,
    user: WebIdentity,
    failure: dict[str, Any] | None = None,
    status_code: int = 200,
    created: Subscription | None = None,
) -> Response:
    subscriptions = await services_of(request).webhooks.subscriptions(network_of(user))
    done = request.query_params.get("done", "")
    context = {
        "me": user,
        "webhooks": subscriptions,
        "failure": failure,
        "created": created,
        "notice": gettext(request, DONE[done]) if done in DONE else None,
        "event_kinds": EVENT_KINDS,
    }
    return render(request, "console/webhooks.html", context, currency=user.currency, status_code=status_code)


@router.get("/webhooks")
async def webhooks_page(request: Request, user: Administrator) -> Response:
    return await _list_page(request, user)


@router.post("/webhooks")
async def subscribe(request: Request, me: Administrator) -> Response:
    """A subscription (the same command as POST /v1/admin/webhooks); its secret is shown on the answer, once."""
    form = await checked_form(request, me)
    url, contact = str(form.get("url", "")).strip(), str(form.get("contact_email", "")).strip()
    kinds = [str(kind) for kind in form.getlist("event_kinds")]
    values: dict[str, Any] = {"url": url, "contact_email": contact, "event_kinds": kinds}
    try:
        created = await services_of(request).webhooks.create(
            network_of(me), NewSubscription(url, kinds, None, contact or None)
        )
    except DomainError as error:
        field = (error.field or "url").split("[")[0]
        failure = {"field": field, "message": error_text(request, error.detail), "values": values}
        return await _list_page(request, me, failure, status_of(error))
    return await _list_page(request, me, created=created, status_code=201)


async def _one_page(
    request: Request,
    user: WebIdentity,
    subscription_id: int,
    *,
    rotated: Subscription | None = None,
    failure: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    subscription, deliveries = await services_of(request).webhooks.show(network_of(user), subscription_id)
    done = request.query_params.get("done", "")
    context = {
        "me": user,
        "webhook": subscription,
        "deliveries": deliveries,
        "notice": gettext(request, DONE[done]) if done in DONE else None,
        "rotated": rotated,
        "failure": failure,
    }
    return render(request, "console/webhooks_one.html", context, currency=user.currency, status_code=status_code)


@router.get("/webhooks/{subscription_id}")
async def webhook_page(request: Request, user: Administrator, subscription_id: int) -> Response:
    return await _one_page(request, user, subscription_id)


@router.post("/webhooks/{subscription_id}/pause")
async def pause(request: Request, me: Administrator, subscription_id: int) -> Response:
    await checked_form(request, me)
    await services_of(request).webhooks.pause(network_of(me), subscription_id)
    return RedirectResponse(f"/console/webhooks/{subscription_id}?done=paused", 303)


@router.post("/webhooks/{subscription_id}/resume")
async def resume(request: Request, me: Administrator, subscription_id: int) -> Response:
    await checked_form(request, me)
    await services_of(request).webhooks.resume(network_of(me), subscription_id)
    return RedirectResponse(f"/console/webhooks/{subscription_id}?done=resumed", 303)


@router.post("/webhooks/{subscription_id}/rotate-secret")
async def rotate_secret(request: Request, me: Administrator, subscription_id: int) -> Response:
    """A new secret, shown on the page that answers, once (the old one signs beside it for 24 h)."""
    await checked_form(request, me)
    rotated = await services_of(request).webhooks.rotate_secret(network_of(me), subscription_id)
    return await _one_page(request, me, subscription_id, rotated=rotated)


@router.post("/webhooks/{subscription_id}/delete")
async def delete(request: Request, me: Administrator, subscription_id: int) -> Response:
    form = await checked_form(request, me)
    if form.get("confirm") != "yes":
        failure = {"field": "confirm", "message": gettext(request, NOT_CONFIRMED)}
        return await _one_page(request, me, subscription_id, failure=failure, status_code=422)
    await services_of(request).webhooks.delete(network_of(me), subscription_id)
    return RedirectResponse("/console/webhooks?done=deleted", 303)


@router.post("/webhooks/{subscription_id}/deliveries/{message_id}/resend")
async def resend(request: Request, me: Administrator, subscription_id: int, message_id: int) -> Response:
    await checked_form(request, me)
    try:
        await services_of(request).webhooks.resend(network_of(me), subscription_id, message_id)
    except DomainError as error:
        if error.field != "message_id":
            raise
        failure = {"field": "message_id", "message": error_text(request, error.detail)}
        return await _one_page(request, me, subscription_id, failure=failure, status_code=status_of(error))
    return RedirectResponse(f"/console/webhooks/{subscription_id}?done=resent", 303)
