"""Webhook subscriptions over HTTP (issue 16), the administrator's side (admin key): create one for a URL and event
kinds (its signing secret is shown in that answer and after a rotation only), list, show with recent deliveries and
their response codes, pause, resume, rotate the secret (the old one signs beside the new one for 24 h), delete.
docs/webhooks.md describes the events, their payloads, the signature and the retries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, Field, StrictStr

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import NetworkAdmin, PathId, Svc
from coalition.adapters.http.pagination import (
    NEXT_CURSOR_DOC,
    PAGE_RESPONSES,
    Paging,
    announce,
    next_cursor_of,
    page_of,
)
from coalition.adapters.http.schemas import Body
from coalition.application.webhooks import Delivery, NewSubscription, Subscription
from coalition.domain.outbox import FAILURES_BEFORE_PAUSE
from coalition.domain.webhooks import EVENT_KINDS, MAX_DESCRIPTION_LENGTH, MAX_URL_LENGTH

router = APIRouter(prefix="/v1/admin", tags=["Webhooks"], route_class=CheckedRoute)
KINDS = ", ".join(EVENT_KINDS)


class WebhookBody(Body):
    # the length is checked by the domain too, which names the field; this bound keeps a huge body from going further
    url: StrictStr = Field(max_length=MAX_URL_LENGTH * 4, description=f"http:// or https://, at most {MAX_URL_LENGTH}")
    event_kinds: list[StrictStr] = Field(max_length=len(EVENT_KINDS) * 2, description=f"some of: {KINDS}")
    description: StrictStr | None = Field(default=None, max_length=MAX_DESCRIPTION_LENGTH)
    contact_email: StrictStr | None = Field(
        default=None, max_length=254, description="told by e-mail when the subscription is paused for its failures"
    )


class WebhookOut(BaseModel):
    id: int
    url: str
    description: str | None
    contact_email: str | None
    event_kinds: list[str]
    status: str = Field(description="active or paused")
    paused_reason: str | None
    consecutive_failures: int = Field(description=f"failed messages in a row; paused at {FAILURES_BEFORE_PAUSE}")
    previous_secret_until: datetime | None = Field(description="until when the secret before a rotation also signs")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, subscription: Subscription) -> WebhookOut:
        return cls(
            id=subscription.id,
            url=subscription.url,
            description=subscription.description,
            contact_email=subscription.contact_email,
            event_kinds=list(subscription.event_kinds),
            status=subscription.status.value,
            paused_reason=subscription.paused_reason,
            consecutive_failures=subscription.consecutive_failures,
            previous_secret_until=subscription.previous_secret_until,
            created_at=subscription.created_at,
            updated_at=subscription.updated_at,
        )


class WebhookWithSecret(WebhookOut):
    secret: str = Field(description="the signing secret: shown here only (and after a rotation)")

    @classmethod
    def with_secret(cls, subscription: Subscription) -> WebhookWithSecret:
        return cls(**WebhookOut.of(subscription).model_dump(), secret=subscription.secret)


class DeliveryOut(BaseModel):
    id: int = Field(description="the message's id, sent as Coalition-Webhook-Id (msg_<id>)")
    event_kind: str
    event_id: str
    status: str = Field(description="pending, delivered, failed or skipped")
    attempts: int
    response_status: int | None = Field(description="the receiver's HTTP status at the last attempt")
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        return cls(
            id=delivery.id,
            event_kind=delivery.event_kind,
            event_id=delivery.event_id,
            status=delivery.status,
            attempts=delivery.attempts,
            response_status=delivery.response_status,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            next_attempt_at=delivery.next_attempt_at,
            delivered_at=delivery.delivered_at,
        )


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]
    next_cursor: str | None = Field(default=None, description=NEXT_CURSOR_DOC)


class WebhookShown(WebhookOut):
    deliveries: list[DeliveryOut] = Field(description="the most recent messages, newest first")


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]
    next_cursor: str | None = Field(default=None, description=NEXT_CURSOR_DOC)


@router.post("/webhooks", status_code=201, summary="Subscribe a URL to event kinds", response_model=WebhookWithSecret)
async def create_webhook(body: WebhookBody, svc: Svc, admin: NetworkAdmin) -> WebhookWithSecret:
    made = await svc.webhooks.create(
        admin, NewSubscription(body.url, body.event_kinds, body.description, body.contact_email)
    )
    return WebhookWithSecret.with_secret(made)


@router.get(
    "/webhooks",
    summary="The network's webhook subscriptions, in pages",
    response_model=WebhookList,
    responses=PAGE_RESPONSES,
)
async def list_webhooks(
    request: Request, response: Response, svc: Svc, admin: NetworkAdmin, page: Paging
) -> WebhookList:
    shown, cursor = page_of(await svc.webhooks.subscriptions(admin), page, lambda s: s.id)
    return WebhookList(webhooks=[WebhookOut.of(s) for s in shown], next_cursor=announce(request, response, cursor))


# not paged: bounded, its RECENT_DELIVERIES (20) latest deliveries; every one at …/deliveries, in pages
@router.get(
    "/webhooks/{subscription_id}", summary="A subscription and its recent deliveries", response_model=WebhookShown
)
async def show_webhook(subscription_id: PathId, svc: Svc, admin: NetworkAdmin) -> WebhookShown:
    subscription, deliveries = await svc.webhooks.show(admin, subscription_id)
    return WebhookShown(**WebhookOut.of(subscription).model_dump(), deliveries=[DeliveryOut.of(d) for d in deliveries])


@router.get(
    "/webhooks/{subscription_id}/deliveries",
    summary="A subscription's deliveries, newest first, in pages (`cursor`; `before_id` still works), by time",
    response_model=DeliveryList,
    responses=PAGE_RESPONSES,
)
async def webhook_deliveries(
    request: Request,
    response: Response,
    subscription_id: PathId,
    svc: Svc,
    admin: NetworkAdmin,
    page: Paging,
    before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="older than this id")] = None,
    since: Annotated[
        AwareDatetime | None, Query(description="created (the event queued) at or after, ISO 8601")
    ] = None,
    until: Annotated[AwareDatetime | None, Query(description="created before")] = None,
) -> DeliveryList:
    before = page.after if page.after is not None else before_id
    found = await svc.webhooks.deliveries(admin, subscription_id, page.limit + 1, before, since=since, until=until)
    shown, cursor = next_cursor_of(found, page, lambda d: d.id)
    return DeliveryList(deliveries=[DeliveryOut.of(d) for d in shown], next_cursor=announce(request, response, cursor))


@router.post(
    "/webhooks/{subscription_id}/deliveries/{message_id}/resend",
    status_code=202,
    summary="Send a delivered or failed message again (a new series of attempts, the same Coalition-Webhook-Id)",
    response_model=DeliveryOut,
)
async def resend_webhook_delivery(
    subscription_id: PathId, message_id: PathId, svc: Svc, admin: NetworkAdmin
) -> DeliveryOut:
    return DeliveryOut.of(await svc.webhooks.resend(admin, subscription_id, message_id))


@router.post(
    "/webhooks/{subscription_id}/pause",
    summary="Pause: its events wait (3 days at most) until it is resumed",
    response_model=WebhookOut,
)
async def pause_webhook(subscription_id: PathId, svc: Svc, admin: NetworkAdmin) -> WebhookOut:
    return WebhookOut.of(await svc.webhooks.pause(admin, subscription_id))


@router.post("/webhooks/{subscription_id}/resume", summary="Resume a paused subscription", response_model=WebhookOut)
async def resume_webhook(subscription_id: PathId, svc: Svc, admin: NetworkAdmin) -> WebhookOut:
    return WebhookOut.of(await svc.webhooks.resume(admin, subscription_id))


@router.post(
    "/webhooks/{subscription_id}/rotate-secret",
    summary="A new signing secret; the old one signs beside it for 24 h",
    response_model=WebhookWithSecret,
)
async def rotate_webhook_secret(subscription_id: PathId, svc: Svc, admin: NetworkAdmin) -> WebhookWithSecret:
    return WebhookWithSecret.with_secret(await svc.webhooks.rotate_secret(admin, subscription_id))


@router.delete(
    "/webhooks/{subscription_id}", status_code=204, summary="Delete a subscription (its pending messages are dropped)"
)
async def delete_webhook(subscription_id: PathId, svc: Svc, admin: NetworkAdmin) -> None:
    await svc.webhooks.delete(admin, subscription_id)
