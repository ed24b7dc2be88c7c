"""`coalition operator …`: the server's operator lists every network with its plan and customers, sets a network's
plan and trial, and suspends or resumes a network (issue 18, point 6; docs/plans.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from coalition.adapters.cli.common import DatabaseOption, console, network_of, run, settings_for
from coalition.application.operator import NetworkPlan
from coalition.domain.errors import InvalidInput
from coalition.domain.plans import PLANS
from coalition.wiring import Services

operator_app = typer.Typer(help="The server's operator: networks, plans, trials, suspension.", no_args_is_help=True)
PAGE = 500
Json = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def _row(network: NetworkPlan, now: datetime) -> dict[str, object]:
    state = network.state
    return {
        "network_id": network.network_id,
        "code": network.code,
        "name": network.name,
        "plan": state.plan.code,
        "members": network.members,
        "max_members": state.max_members(now),
        "trial_ends_at": state.trial_ends_at.isoformat() if state.trial_ends_at else None,
        "suspended_at": state.suspended_at.isoformat() if state.suspended_at else None,
    }


def _print(rows: list[dict[str, object]], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("code", "name", "plan", "customers", "trial ends", "suspended")
    for row in rows:
        limit = row["max_members"]
        customers = f"{row['members']:,} of {limit:,}" if isinstance(limit, int) else f"{row['members']:,}"
        table.add_row(
            str(row["code"]), str(row["name"]), str(row["plan"]), customers,
            str(row["trial_ends_at"] or "—"), str(row["suspended_at"] or "—"),
        )  # fmt: skip
    console.print(table)


@operator_app.command("networks")
def networks(as_json: Json = False, database_url: DatabaseOption = None) -> None:
    """Every network on this server with its plan, customers, trial and suspension."""

    async def work(services: Services) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = []
        after: int | None = None
        now = services.clock.now()
        while page := await services.operator.networks(after, PAGE):
            rows += [_row(network, now) for network in page]
            after = page[-1].network_id
        return rows

    _print(run(settings_for(database_url), work), as_json)


def _trial(value: str | None) -> datetime | None:
    if value is None or value.lower() == "none":
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        example = "2027-03-06 or 2027-03-06T00:00:00+03:00, or none"
        raise InvalidInput(f"write the trial's end as {example}", field="trial_ends") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@operator_app.command("plan")
def plan(
    network: str,
    plan_code: Annotated[str, typer.Argument(metavar="PLAN", help=", ".join(p.code for p in PLANS))],
    trial_ends: Annotated[
        str | None, typer.Option(help="the trial's end (a date, UTC midnight, or a time with offset); none to end it")
    ] = None,
    as_json: Json = False,
    database_url: DatabaseOption = None,
) -> None:
    """Set a network's plan (and its trial's end, if given)."""

    async def work(services: Services) -> list[dict[str, object]]:
        ref = await network_of(services, network)
        changed = await services.operator.set_plan(
            ref.id, plan_code, trial_ends_at=_trial(trial_ends), change_trial=trial_ends is not None
        )
        return [_row(changed, services.clock.now())]

    _print(run(settings_for(database_url), work), as_json)


@operator_app.command("suspend")
def suspend(network: str, as_json: Json = False, database_url: DatabaseOption = None) -> None:
    """Suspend a network: its tills, devices and enrolments stop; its console keeps working; nothing is deleted."""

    async def work(services: Services) -> list[dict[str, object]]:
        ref = await network_of(services, network)
        return [_row(await services.operator.suspend(ref.id), services.clock.now())]

    _print(run(settings_for(database_url), work), as_json)


@operator_app.command("resume")
def resume(network: str, as_json: Json = False, database_url: DatabaseOption = None) -> None:
    """Resume a suspended network."""

    async def work(services: Services) -> list[dict[str, object]]:
        ref = await network_of(services, network)
        return [_row(await services.operator.resume(ref.id), services.clock.now())]

    _print(run(settings_for(database_url), work), as_json)
