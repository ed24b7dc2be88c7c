"""`coalition messages campaigns list|create|preview|schedule|cancel` (issue 16, point 3; docs/messages.md
"Campaigns"): the same commands as /v1/admin/campaigns, audited as the operator's."""

from __future__ import annotations

from pathlib import Path
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
from coalition.application.campaigns import Campaign, CampaignCounts
from coalition.wiring import Services

campaigns_app = typer.Typer(help="Campaigns: a message to a segment of members.", no_args_is_help=True)

Tier = Annotated[str | None, typer.Option(help="members of this tier")]
Label = Annotated[str | None, typer.Option("--segment", help="members with this segment label")]
After = Annotated[str | None, typer.Option(help="last visit on or after this day (YYYY-MM-DD)")]
Before = Annotated[str | None, typer.Option(help="last visit before this day, and none since (YYYY-MM-DD)")]
Within = Annotated[int | None, typer.Option(help="visited in the last N days")]
SpendFrom = Annotated[str | None, typer.Option(help='lifetime spend at least, e.g. "10000.00"')]
SpendTo = Annotated[str | None, typer.Option(help="lifetime spend at most")]


def _segment(
    tier: str | None,
    segment: str | None,
    after: str | None,
    before: str | None,
    within: int | None,
    spend_from: str | None,
    spend_to: str | None,
) -> dict[str, Any]:
    given = {
        "tier": tier,
        "segment": segment,
        "last_visit_after": after,
        "last_visit_before": before,
        "visited_within_days": within,
        "spend_from": spend_from,
        "spend_to": spend_to,
    }
    return {name: value for name, value in given.items() if value is not None}


def _row(campaign: Campaign, counts: CampaignCounts) -> tuple[str, ...]:
    return (
        str(campaign.id),
        campaign.name,
        campaign.status.value,
        "" if campaign.scheduled_at is None else campaign.scheduled_at.isoformat(),
        str(campaign.audience),
        str(counts.delivered),
        str(counts.failed),
        str(counts.skipped_opted_out),
        str(counts.skipped_no_consent),
        str(counts.pending),
    )


def _table(rows: list[tuple[str, ...]]) -> None:
    table = Table("id", "name", "status", "send at", "audience", "delivered", "failed", "opted out", "no consent",
                  "pending")  # fmt: skip
    for row in rows:
        table.add_row(*row)
    console.print(table)


@campaigns_app.command("list")
def list_campaigns(
    network: str,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    database_url: DatabaseOption = None,
) -> None:
    """The network's campaigns, newest first, with their counts; --since and --until: created in that window."""
    window = (moment_of(since, "since"), moment_of(until, "until"))

    async def work(services: Services) -> list[tuple[str, ...]]:
        network_id = (await network_of(services, network)).id
        found = await services.campaigns.listing(network_id, limit, window=window)
        return [_row(item, await services.campaigns.counts(network_id, item.id)) for item in found]

    _table(run(settings_for(database_url), work))


@campaigns_app.command("create")
def create_campaign(
    network: str,
    name: Annotated[str, typer.Option(help="the campaign's name")],
    body_file: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="the text (Jinja2)")],
    channel: Annotated[list[str], typer.Option(help="email or sms; repeat for both")],
    subject: Annotated[str, typer.Option(help="the e-mail's subject")] = "",
    at: Annotated[str | None, typer.Option(help="send at, with its offset: scheduled at once")] = None,
    tier: Tier = None,
    segment: Label = None,
    last_visit_after: After = None,
    last_visit_before: Before = None,
    visited_within_days: Within = None,
    spend_from: SpendFrom = None,
    spend_to: SpendTo = None,
    audience_only: Annotated[bool, typer.Option(help="only count the audience; create nothing")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """A campaign (a draft, or scheduled with --at); --audience-only counts the segment's members instead."""
    chosen = _segment(tier, segment, last_visit_after, last_visit_before, visited_within_days, spend_from, spend_to)

    async def work(services: Services) -> str:
        network_id = (await network_of(services, network)).id
        if audience_only:
            return f"audience: {await services.campaigns.audience(network_id, chosen)}"
        data = {
            "name": name,
            "segment": chosen,
            "channels": channel,
            "subject": subject,
            "body": body_file.read_text(encoding="utf-8"),
            "scheduled_at": at,
        }
        created = await services.campaigns.create(network_id, data)
        audience = await services.campaigns.audience_of(created)
        return f"campaign {created.id}: {created.status.value}, {audience} members in its segment now"

    console.print(run(settings_for(database_url), work), markup=False)


@campaigns_app.command("preview")
def preview_campaign(
    network: str,
    campaign_id: int,
    member: Annotated[int | None, typer.Option(help="a member's id; none: the sample customer")] = None,
    channel: Annotated[str | None, typer.Option(help="email or sms; none: the campaign's first")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """The campaign's message as a member reads it, and its audience now."""

    async def work(services: Services) -> tuple[dict[str, Any], int]:
        network_id = (await network_of(services, network)).id
        shown = await services.campaigns.preview(network_id, campaign_id, member, channel)
        campaign = await services.campaigns.show(network_id, campaign_id)
        return shown, await services.campaigns.audience_of(campaign)

    shown, audience = run(settings_for(database_url), work)
    console.print(f"Audience: {audience}", markup=False)
    if shown["subject"]:
        console.print(f"Subject: {shown['subject']}", markup=False)
    console.print(shown["body"], markup=False, highlight=False)


@campaigns_app.command("schedule")
def schedule_campaign(
    network: str,
    campaign_id: int,
    at: Annotated[str, typer.Option(help="send at, with its offset, e.g. 2026-12-20T10:00:00+03:00")],
    database_url: DatabaseOption = None,
) -> None:
    """Schedule a draft (or move a scheduled one)."""

    async def work(services: Services) -> Campaign:
        network_id = (await network_of(services, network)).id
        return await services.campaigns.schedule(network_id, campaign_id, at)

    done = run(settings_for(database_url), work)
    console.print(f"campaign {done.id}: {done.status.value} at {done.scheduled_at}", markup=False)


@campaigns_app.command("cancel")
def cancel_campaign(network: str, campaign_id: int, database_url: DatabaseOption = None) -> None:
    """Cancel a draft or a scheduled campaign (one sending or sent cannot be)."""

    async def work(services: Services) -> Campaign:
        network_id = (await network_of(services, network)).id
        return await services.campaigns.cancel(network_id, campaign_id)

    done = run(settings_for(database_url), work)
    console.print(f"campaign {done.id}: {done.status.value}", markup=False)
