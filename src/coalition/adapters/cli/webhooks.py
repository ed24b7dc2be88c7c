"""`coalition webhooks …`: a network's webhook subscriptions (issue 16) — list, add (its secret printed once), pause,
resume, rotate the secret (the old one signs beside the new for 24 h), delete, a subscription's deliveries, and a
delivery sent again. The same
commands as the admin API (docs/webhooks.md), audited as the operator's (common.run)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from coalition.adapters.cli.common import (
    DatabaseOption,
    SinceOption,
    UntilOption,
    console,
    moment_of,
    network_of,
    run,
    settings_for,
)
from coalition.application.webhooks import Delivery, NewSubscription, Subscription
from coalition.domain.webhooks import EVENT_KINDS
from coalition.wiring import Services

webhooks_app = typer.Typer(
    help="Webhooks: list, add, pause, resume, rotate the secret, delete, deliveries, resend.", no_args_is_help=True
)
SubscriptionId = Annotated[int, typer.Argument(min=1, help="the subscription's id (`coalition webhooks list`)")]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def _json(subscription: Subscription, *, secret: bool = False) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": subscription.id,
        "url": subscription.url,
        "event_kinds": list(subscription.event_kinds),
        "status": subscription.status.value,
        "paused_reason": subscription.paused_reason,
        "consecutive_failures": subscription.consecutive_failures,
        "contact_email": subscription.contact_email,
    }
    if secret:
        shown["secret"] = subscription.secret
    return shown


def _delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "event_kind": delivery.event_kind,
        "event_id": delivery.event_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "response_status": delivery.response_status,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at.isoformat(),
    }


def _print(answer: Any) -> None:
    print(json.dumps(answer, indent=2, ensure_ascii=False))


@webhooks_app.command("list")
def list_webhooks(network: str, as_json: AsJson = False, database_url: DatabaseOption = None) -> None:
    """The network's subscriptions (GET /v1/admin/webhooks)."""

    async def work(services: Services) -> list[Subscription]:
        return await services.webhooks.subscriptions(await network_of(services, network))

    found = run(settings_for(database_url), work)
    if as_json:
        _print([_json(s) for s in found])
        return
    table = Table("id", "url", "events", "status", "failures")
    for s in found:
        table.add_row(str(s.id), s.url, ", ".join(s.event_kinds), s.status.value, str(s.consecutive_failures))
    console.print(table)


@webhooks_app.command("add")
def add(
    network: str,
    url: Annotated[str, typer.Argument(help="http:// or https://")],
    event: Annotated[list[str], typer.Option("--event", help=f"an event kind, repeatable: {', '.join(EVENT_KINDS)}")],
    contact_email: Annotated[str | None, typer.Option(help="told when it is paused for its failures")] = None,
    description: Annotated[str | None, typer.Option(help="what it is for")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Subscribe a URL to event kinds; its signing secret is printed once (POST /v1/admin/webhooks)."""

    async def work(services: Services) -> Subscription:
        ref = await network_of(services, network)
        return await services.webhooks.create(ref, NewSubscription(url, event, description, contact_email))

    _print(_json(run(settings_for(database_url), work), secret=True))


def _act(network: str, subscription_id: int, action: str, database_url: str | None, *, secret: bool = False) -> None:
    async def work(services: Services) -> Subscription:
        ref = await network_of(services, network)
        change = {
            "pause": services.webhooks.pause,
            "resume": services.webhooks.resume,
            "rotate": services.webhooks.rotate_secret,
        }[action]
        return await change(ref, subscription_id)

    _print(_json(run(settings_for(database_url), work), secret=secret))


@webhooks_app.command("pause")
def pause(network: str, subscription_id: SubscriptionId, database_url: DatabaseOption = None) -> None:
    """Pause: nothing is sent to it until it is resumed; its events wait for it (3 days at most)."""
    _act(network, subscription_id, "pause", database_url)


@webhooks_app.command("resume")
def resume(network: str, subscription_id: SubscriptionId, database_url: DatabaseOption = None) -> None:
    """Resume: the events that waited are sent in order, then new ones (its count of failures starts again)."""
    _act(network, subscription_id, "resume", database_url)


@webhooks_app.command("rotate")
def rotate(network: str, subscription_id: SubscriptionId, database_url: DatabaseOption = None) -> None:
    """A new signing secret, printed once; the old one keeps signing beside it for 24 h."""
    _act(network, subscription_id, "rotate", database_url, secret=True)


@webhooks_app.command("delete")
def delete(
    network: str,
    subscription_id: SubscriptionId,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for a confirmation")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Delete a subscription: nothing more is queued for it, its pending messages are dropped, its log kept."""
    if not yes:
        typer.confirm(f"Delete webhook subscription {subscription_id} of {network}?", abort=True)

    async def work(services: Services) -> None:
        await services.webhooks.delete(await network_of(services, network), subscription_id)

    run(settings_for(database_url), work)
    console.print(f"webhook subscription {subscription_id} deleted")


@webhooks_app.command("resend")
def resend(
    network: str,
    subscription_id: SubscriptionId,
    message_id: Annotated[int, typer.Argument(min=1, help="the delivery's id (`coalition webhooks deliveries`)")],
    database_url: DatabaseOption = None,
) -> None:
    """Send a delivered or failed message again: a new series of attempts, the same Coalition-Webhook-Id."""

    async def work(services: Services) -> Delivery:
        return await services.webhooks.resend(await network_of(services, network), subscription_id, message_id)

    _print(_delivery_json(run(settings_for(database_url), work)))


@webhooks_app.command("deliveries")
def deliveries(
    network: str,
    subscription_id: SubscriptionId,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="how many, newest first")] = 50,
    as_json: AsJson = False,
    database_url: DatabaseOption = None,
) -> None:
    """A subscription's deliveries with their response codes, newest first; --since and --until: created (the event
    queued) in that window."""
    start, end = moment_of(since, "since"), moment_of(until, "until")

    async def work(services: Services) -> list[Delivery]:
        ref = await network_of(services, network)
        return await services.webhooks.deliveries(ref, subscription_id, limit, since=start, until=end)

    found = run(settings_for(database_url), work)
    if as_json:
        _print([_delivery_json(d) for d in found])
        return
    table = Table("id", "event", "status", "attempts", "HTTP", "error", "created")
    for d in found:
        table.add_row(
            str(d.id),
            d.event_kind,
            d.status,
            str(d.attempts),
            str(d.response_status or ""),
            d.last_error or "",
            d.created_at.isoformat(timespec="seconds"),
        )
    console.print(table)
