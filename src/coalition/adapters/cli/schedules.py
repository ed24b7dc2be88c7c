"""`coalition schedules list|set|runs` (issue 16; docs/scheduler.md): a network's scheduled jobs, in its time zone."""

from __future__ import annotations

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
from coalition.wiring import Services

schedules_app = typer.Typer(help="Scheduled jobs: when each runs, and its runs.", no_args_is_help=True)


@schedules_app.command("list")
def list_schedules(network: str, database_url: DatabaseOption = None) -> None:
    """Each job's schedule with its next run (the network's local time) and its last run."""

    async def work(services: Services) -> dict[str, Any]:
        return (await services.scheduler.schedules((await network_of(services, network)).id)).json()

    answer = run(settings_for(database_url), work)
    table = Table("job", "enabled", "when", "next run", "last run", title=f"time zone {answer['timezone']}")
    for item in answer["schedules"]:
        table.add_row(item["job"], "yes" if item["enabled"] else "no", _when(item), _next(item), _last(item))
    _print(table)


def _print(table: Table) -> None:
    for column in table.columns:
        column.overflow = "fold"  # a narrow terminal wraps a period or a time, never cuts it
    console.print(table)


def _when(item: dict[str, Any]) -> str:
    if item["cadence"] == "interval":
        return f"every {item['every_minutes']} min"
    if item["cadence"] == "monthly":
        return f"day {item['day_of_month']} at {item['time']}"
    return f"daily at {item['time']}"


def _next(item: dict[str, Any]) -> str:
    if item["blocked"]:
        return f"waits: {item['blocked']}"
    return "—" if item["next_run"] is None else f"{item['next_run']['at']} ({item['next_run']['period']})"


def _last(item: dict[str, Any]) -> str:
    last = item["last_run"]
    if last is None:
        return "—"
    error = f": {last['error']}" if last["error"] else ""
    return f"{last['period']} {last['status']} ({last['trigger']}){error}"


@schedules_app.command("set")
def set_schedule(
    network: str,
    job: Annotated[
        str,
        typer.Argument(
            help="daily_reports, expire, birthdays, period_close, outbox_cleanup, points_expiring or campaigns"
        ),
    ],
    enable: Annotated[bool | None, typer.Option("--enable/--disable", help="run it on schedule, or not")] = None,
    at: Annotated[str | None, typer.Option("--time", help="HH:MM in the network's time zone")] = None,
    every: Annotated[int | None, typer.Option("--every-minutes", help="expire: every N minutes")] = None,
    day: Annotated[int | None, typer.Option("--day-of-month", help="period_close: 1 to 28")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Enable or disable a job, or change when it runs; the others stay."""

    async def work(services: Services) -> dict[str, Any]:
        network_id = (await network_of(services, network)).id
        saved = await services.scheduler.set_schedule(
            network_id, job, enabled=enable, at=at, every_minutes=every, day_of_month=day
        )
        return saved.json()

    item = run(settings_for(database_url), work)
    console.print(f"{item['job']}: {'enabled' if item['enabled'] else 'disabled'}, {_when(item)}; next {_next(item)}")


@schedules_app.command("runs")
def runs(
    network: str,
    job: Annotated[str | None, typer.Option("--job", help="only this job's runs")] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[int, typer.Option(help="how many, newest first (at most 200)")] = 20,
    database_url: DatabaseOption = None,
) -> None:
    """The jobs' runs, newest first: the period, the outcome, who ran it (scheduler, cli or api); --since and
    --until: started in that window."""
    start, end = moment_of(since, "since"), moment_of(until, "until")

    async def work(services: Services) -> list[dict[str, Any]]:
        network_id = (await network_of(services, network)).id
        return [item.json() for item in await services.scheduler.runs(network_id, job, limit, since=start, until=end)]

    table = Table("job", "period", "status", "by", "attempts", "started", "finished", "error")
    for item in run(settings_for(database_url), work):
        table.add_row(
            item["job"],
            item["period"],
            item["status"],
            item["trigger"],
            str(item["attempts"]),
            item["started_at"],
            item["finished_at"] or "",
            item["error"] or "",
        )
    _print(table)
