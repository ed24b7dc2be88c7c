"""The `coalition` command: migrate, serve, demo, verify, and the administrator's commands.

This module assembles the command from the command modules (they import `common`, never this module), so the
`coalition` script and `python -m coalition.adapters.cli.main` expose the same commands.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from coalition.adapters.cli import keys, network_lists
from coalition.adapters.cli.audit import audit
from coalition.adapters.cli.backup import register as register_backup
from coalition.adapters.cli.campaigns import campaigns_app
from coalition.adapters.cli.catalogue_files import register as register_catalogue_files
from coalition.adapters.cli.common import DatabaseOption, console, errors, network_of, run, settings_for
from coalition.adapters.cli.device_sim import device_app
from coalition.adapters.cli.devices import devices_app
from coalition.adapters.cli.exports import export_app
from coalition.adapters.cli.files import export_members, import_app
from coalition.adapters.cli.gift_cards import gift_cards_app
from coalition.adapters.cli.limits import limits_app
from coalition.adapters.cli.messages import messages_app
from coalition.adapters.cli.mqtt import mqtt_command
from coalition.adapters.cli.operator import operator_app
from coalition.adapters.cli.permissions import permissions_app
from coalition.adapters.cli.rules import rules_app
from coalition.adapters.cli.sales_files import register as register_sales_files
from coalition.adapters.cli.sales_files import sync_command
from coalition.adapters.cli.schedules import schedules_app
from coalition.adapters.cli.settle import settle_app
from coalition.adapters.cli.verify import verify_command
from coalition.adapters.cli.wallets import wallets_app
from coalition.adapters.cli.webhooks import webhooks_app
from coalition.adapters.cli.worker import worker
from coalition.adapters.storage import migrate as migrations
from coalition.application.audit import entry
from coalition.application.period_close import month_of
from coalition.application.pos_results import MemberStatement
from coalition.application.scheduler import utc_today
from coalition.domain.schedules import BIRTHDAYS, DAILY_REPORTS, EXPIRE, PERIOD_CLOSE
from coalition.settings import Settings
from coalition.wiring import Services

app = typer.Typer(help="Coalition: a loyalty server for one shop or a coalition of businesses.", no_args_is_help=True)
network_app = typer.Typer(help="Networks, partners, outlets, terminals and cashiers.", no_args_is_help=True)
app.add_typer(network_app, name="network")
app.add_typer(export_app, name="export")  # transactions, balances, statements, reports (cli/exports.py)
export_app.command("members")(export_members)  # the members file (cli/files.py)
register_sales_files(import_app)  # `coalition import purchases|refunds` beside `import members` (docs/files.md)
register_catalogue_files(import_app, export_app)  # `coalition import|export products|categories` (docs/files.md)
app.add_typer(import_app, name="import")
app.command("sync")(sync_command)


@app.command("migrate")
def migrate_command(database_url: DatabaseOption = None) -> None:
    """Create or upgrade the schema (Alembic) on SQLite or PostgreSQL."""
    settings = settings_for(database_url)
    migrations.upgrade(settings.database_url)
    console.print("[green]schema is up to date[/green]")


@app.command("serve")
def serve(
    database_url: DatabaseOption = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    access_log: Annotated[
        str | None,
        typer.Option(
            help="the access log: a file's path, '-' for stdout, 'off'; default stderr (COALITION_ACCESS_LOG)"
        ),
    ] = None,
) -> None:
    """Serve the API (docs at /docs, OpenAPI at /openapi.json)."""
    import os

    from coalition.adapters.http.server import serve as run_server

    if database_url:
        os.environ["COALITION_DATABASE_URL"] = database_url
    if access_log is not None:  # the workers read it from the environment
        os.environ["COALITION_ACCESS_LOG"] = access_log
    _warn_of_live_demo_keys(host, settings_for(database_url))
    run_server(host, port, workers)


def _warn_of_live_demo_keys(host: str, settings: Settings) -> None:
    """One plain line on stderr when the demo's published keys open a server that other machines can reach."""
    import ipaddress
    import sys

    from coalition.demo import live_demo_keys

    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False  # a host name other than localhost: assume others can reach it
    if loopback:
        return

    async def check(services: Services) -> list[str]:
        return await live_demo_keys(services)

    try:
        live = run(settings, check)
    except Exception:  # no schema yet, say: nothing to warn about, and serving must not fail over a warning
        return
    if live:
        print(
            f"WARNING: the demo network's published keys ({', '.join(live)}) work on this server, and it listens on "
            f"{host}, which other machines can reach: anyone who has read the README can use them. Rotate them "
            "(coalition network rotate-admin-key demo --grace 0; coalition network rotate-terminal-key demo "
            "TERMINAL_ID --grace 0) or serve on 127.0.0.1.",
            file=sys.stderr,
            flush=True,
        )


@app.command("demo")
def demo(
    database_url: DatabaseOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="load it even into a database that holds other networks")
    ] = False,
) -> None:
    """Load the demo network if it is not there yet, and print its URL, keys, logins and members. Its keys and
    passwords are public: a database holding any other network is refused (exit 2) unless --force."""
    from coalition.demo import describe_demo, load_demo

    settings = settings_for(database_url)
    migrations.upgrade(settings.database_url)

    async def work(services: Services) -> tuple[bool, dict[str, Any]]:
        created = await load_demo(services, force)
        return created, await describe_demo(services)

    created, info = run(settings, work)
    if as_json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
        return
    console.print(f"[bold]Demo network[/bold] {'loaded' if created else 'already loaded'} — API at {info['url']}")
    replaced = "" if info["admin_key_works"] else " [yellow](rotated: no longer works)[/yellow]"
    console.print(f"Admin key: [cyan]{info['admin_key']}[/cyan]{replaced}")
    _print_table("Terminals (Authorization: Bearer <key>)", ["outlet", "partner", "key", "works"], info["terminals"])
    _print_table("Devices at the water park (their own keys)", ["device", "kind", "key", "works"], info["devices"])
    _print_table(
        f"Cashiers — the terminal at {info['url']}/terminal",
        ["outlet_number", "outlet", "login", "password"],
        info["cashiers"],
    )
    _print_table(
        f"Console at {info['console']['url']} (network code {info['network']})",
        ["role", "login", "password"],
        info["console"]["logins"],
    )
    _print_table(
        f"Members — their own page at {info['member_page']} (card and PIN)",
        ["identifier", "phone", "name", "points_balance", "lifetime_spend", "pin"],
        info["members"],
    )


def _print_table(title: str, columns: list[str], rows: list[dict[str, Any]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    console.print(table)


app.command("verify")(verify_command)


@app.command("expire")
def expire(network: str, database_url: DatabaseOption = None) -> None:
    """Post every expired points lot of a network to breakage now (purchases also do it, member by member); expire
    gifts not handed over and gift cards past their validity (`coalition gift-cards expire` does only those); release
    devices' holds past their expiry."""

    async def job(services: Services, network_id: int, advance: Advance) -> dict[str, Any]:
        async def work() -> dict[str, Any]:
            points = await services.pos.expire_points(network_id, advance)
            result = points | {"gifts": await services.pos.expire_gifts(network_id)}
            await services.audit.record(entry(network_id, "job.expire", "network", network_id, after=result))
            gift_cards = await services.gift_cards.expire(network_id)
            return result | {
                "gift_cards": gift_cards,
                "device_holds": await services.device_charges.expire_holds(network_id),
            }

        # recorded in job_runs (its hour), so the scheduler does not repeat what cron ran (docs/scheduler.md)
        return await services.scheduler.run_now(network_id, EXPIRE, None, "cli", work)

    result = run(settings_for(database_url), _network_job(network, "expiring", job))
    console.print(f"{result['points']} expired points of {result['members']} members posted to breakage")
    policy = result["policy"]
    share = f", {policy['share_bp']} bp to the granting partner" if policy["share_bp"] is not None else ""
    console.print(f"{result['returned_to_partners']} returned to the granting partners ({policy['policy']}{share})")
    gifts = result["gifts"]
    console.print(
        f"{gifts['gifts']} gift(s) expired, {gifts['released']} released to their partners ({gifts['policy']})"
    )
    console.print(f"{result['gift_cards']['cards']} gift card(s) expired ({result['gift_cards']['policy']})")
    console.print(f"{result['device_holds']['holds']} device hold(s) past their time released to the wallets")


@app.command("period-close")
def period_close(
    network: str,
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM (UTC); last month if omitted")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Run the rule set's period_close rules for every member at the end of a month (tiers, points, coupons)."""

    async def job(services: Services, network_id: int, advance: Advance) -> dict[str, Any]:
        closed = month_of(month, utc_today(services.clock))
        return await services.scheduler.run_now(
            network_id,
            PERIOD_CLOSE,
            closed.start.date(),
            "cli",
            lambda: services.period_close.run(network_id, closed.label, advance),
        )

    result = run(settings_for(database_url), _network_job(network, "members", job))
    console.print(
        f"{result['month']}: {result['members']} member(s), {result['tiers_changed']} moved to another tier, "
        f"{result['points']} points granted, {result['coupons']} coupon(s) issued"
    )


@app.command("birthdays")
def birthdays(
    network: str,
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD; today (UTC) if omitted")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Grant the rule set's birthday bonuses to members born on the day (run daily; at most once a year each)."""
    try:
        on = date.fromisoformat(day) if day else None
    except ValueError:
        errors.print("[red]error (date):[/red] expected YYYY-MM-DD")
        raise typer.Exit(2) from None

    async def job(services: Services, network_id: int, advance: Advance) -> dict[str, Any]:
        day = on or utc_today(services.clock)
        return await services.scheduler.run_now(
            network_id, BIRTHDAYS, day, "cli", lambda: services.birthdays.grant(network_id, day, advance)
        )

    result = run(settings_for(database_url), _network_job(network, "birthdays", job))
    console.print(
        f"{result['date']}: {result['members']} member(s) with a birthday, {result['granted']} granted "
        f"{result['points']} points"
    )


@app.command("daily-reports")
def daily_reports(
    network: str,
    day: Annotated[str | None, typer.Option("--day", help="YYYY-MM-DD; yesterday where the outlets are")] = None,
    again: Annotated[bool, typer.Option("--again", help="send to partners sent this day's report before")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """E-mail each partner with an address its day's report (run daily after closing, e.g. from cron)."""
    try:
        on = date.fromisoformat(day) if day else None
    except ValueError:
        errors.print("[red]error (day):[/red] expected YYYY-MM-DD")
        raise typer.Exit(2) from None

    async def work(services: Services) -> dict[str, Any]:
        network_id = (await network_of(services, network)).id
        day = on or await services.reports.today(network_id, None) - timedelta(days=1)
        return await services.scheduler.run_now(
            network_id, DAILY_REPORTS, day, "cli", lambda: services.daily_reports.send(network_id, day, again=again)
        )

    result = run(settings_for(database_url), work)
    console.print(f"{result['day']}: sent to {', '.join(result['sent']) or 'nobody'}")
    if result["sent_before"]:
        console.print(f"sent before (use --again to resend): {', '.join(result['sent_before'])}")
    if result["without_address"]:
        console.print(f"[yellow]no e-mail address:[/yellow] {', '.join(result['without_address'])}")


Advance = Callable[[int, int], None]  # (members done, members in all)


def _network_job(
    network: str, label: str, job: Callable[[Services, int, Advance], Awaitable[dict[str, Any]]]
) -> Callable[[Services], Awaitable[dict[str, Any]]]:
    """A job over a network's members, with a progress bar that fills as the job reports."""

    async def work(services: Services) -> dict[str, Any]:
        network_id = (await network_of(services, network)).id
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(label, total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            return await job(services, network_id, advance)

    return work


@network_app.command("create")
def network_create(
    code: str,
    name: str,
    currency: Annotated[str, typer.Option(help="ISO 4217 code")] = "RUB",
    accrual_percent: Annotated[int, typer.Option(help="bonus accrual, whole percent")] = 3,
    redeem_cap_percent: Annotated[int, typer.Option(help="largest share of a check paid with points")] = 15,
    min_check: Annotated[str, typer.Option(help="smallest check points may pay")] = "0",
    admin_key_expires_at: Annotated[
        str | None, typer.Option(help="when the admin key expires, e.g. 2027-01-31T00:00:00Z; never if omitted")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Create a network with a one-tier bonus program; prints its admin key once."""
    from coalition.adapters.cli.keys import moment
    from coalition.application.admin import ProgramSettings
    from coalition.domain.bonus import Tier
    from coalition.domain.money import parse_amount_minor

    program = ProgramSettings(
        code="bonus",
        name="Bonus points",
        tiers=(Tier(0, accrual_percent * 100, 0, redeem_cap_percent * 100),),
        min_check_for_redeem_minor=parse_amount_minor(min_check, currency, field="min_check"),
    )

    async def work(services: Services) -> dict[str, Any]:
        expiry = moment(admin_key_expires_at)
        return await services.admin.create_network(code, name, currency, program, admin_key_expires_at=expiry)

    print(json.dumps(run(settings_for(database_url), work)))


@network_app.command("partner")
def partner_create(network: str, name: str, database_url: DatabaseOption = None) -> None:
    """Add a partner (a business) to a network."""

    async def work(services: Services) -> dict[str, Any]:
        return await services.admin.create_partner(await network_of(services, network), name)

    print(json.dumps(run(settings_for(database_url), work)))


@network_app.command("outlet")
def outlet_create(
    network: str, partner_id: int, name: str, timezone: str = "UTC", database_url: DatabaseOption = None
) -> None:
    """Add an outlet (a point of sale) to a partner."""

    async def work(services: Services) -> dict[str, Any]:
        return await services.admin.create_outlet(await network_of(services, network), partner_id, name, timezone)

    print(json.dumps(run(settings_for(database_url), work)))


@network_app.command("terminal")
def terminal_create(
    network: str,
    outlet_id: int,
    name: str,
    expires_at: Annotated[
        str | None, typer.Option(help="when the key expires, e.g. 2027-01-31T00:00:00Z; never if omitted")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Create a terminal key for an outlet; the key is printed once."""
    from coalition.adapters.cli.keys import moment

    async def work(services: Services) -> dict[str, Any]:
        ref = await network_of(services, network)
        return await services.admin.create_terminal(ref, outlet_id, name, expires_at=moment(expires_at))

    print(json.dumps(run(settings_for(database_url), work)))


@network_app.command("cashier")
def cashier_create(
    network: str,
    outlet_id: int,
    login: str,
    name: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    database_url: DatabaseOption = None,
) -> None:
    """Create a cashier with a password (hashed with argon2id)."""

    async def work(services: Services) -> dict[str, Any]:
        ref = await network_of(services, network)
        return await services.admin.create_cashier(ref, outlet_id, login, name, password)

    print(json.dumps(run(settings_for(database_url), work)))


@network_app.command("console-user")
def console_user_create(
    network: str,
    login: str,
    name: str,
    role: Annotated[str, typer.Option(help="administrator (the whole network) or owner (one partner)")] = "owner",
    partner_id: Annotated[int | None, typer.Option(help="the owner's partner")] = None,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
    database_url: DatabaseOption = None,
) -> None:
    """Create a login for the web console at /console: an administrator, or a partner's owner."""

    async def work(services: Services) -> dict[str, Any]:
        ref = await network_of(services, network)
        user_id = await services.web_sessions.add_console_user(ref.id, role, partner_id, login, name, password)
        return {"id": user_id, "network": ref.code, "login": login, "role": role, "partner_id": partner_id}

    print(json.dumps(run(settings_for(database_url), work)))


@network_app.command("show")
def network_show(network: str, database_url: DatabaseOption = None) -> None:
    """Print a network with the first 100 of its partners, outlets, terminals and cashiers, as GET
    /v1/admin/network answers it; `<list>_next` is the cursor of the rest (`coalition network <list> --cursor`)."""
    from coalition.adapters.http.pagination import encode_cursor

    async def work(services: Services) -> dict[str, Any]:
        found = await services.network_lists.summary(await network_of(services, network))
        shown: dict[str, Any] = {"network": found["network"]}
        for name in ("partners", "outlets", "terminals", "cashiers"):
            items = found[name]
            shown[name] = [item.json() for item in items]
            shown[f"{name}_next"] = encode_cursor(items[-1].id) if found[f"{name}_more"] and items else None
        return shown

    print(json.dumps(run(settings_for(database_url), work), indent=2, ensure_ascii=False, default=str))


@app.command("statement")
def statement(network: str, identifier: str, database_url: DatabaseOption = None) -> None:
    """A member's statement: every points transaction with its running balance."""

    async def work(services: Services) -> MemberStatement:
        return await services.pos.statement((await network_of(services, network)).id, identifier)

    result = run(settings_for(database_url), work)
    table = Table(title=f"Member {result.member_id} — balance {result.points_balance}")
    for column in ("tx", "kind", "occurred_at", "outlet", "earned", "spent", "balance"):
        table.add_column(column)
    for line in result.transactions:
        table.add_row(
            str(line.tx_id),
            line.kind,
            line.occurred_at.isoformat(),
            line.outlet_name or "",
            str(line.points_earned),
            str(line.points_spent),
            str(line.balance_after),
        )
    console.print(table)


keys.register(network_app)
network_lists.register(network_app)  # partners, outlets, terminals, cashiers in pages; the country
app.add_typer(rules_app, name="rules")
app.add_typer(settle_app, name="settle")
app.add_typer(permissions_app, name="permissions")
register_backup(app)
app.command("audit")(audit)
app.add_typer(limits_app, name="limits")
app.add_typer(operator_app, name="operator")
app.add_typer(gift_cards_app, name="gift-cards")
app.add_typer(wallets_app, name="wallets")
app.command("mqtt")(mqtt_command)
app.add_typer(device_app, name="device")
app.add_typer(devices_app, name="devices")
app.command("worker")(worker)
app.add_typer(schedules_app, name="schedules")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(messages_app, name="messages")
messages_app.add_typer(campaigns_app, name="campaigns")


if __name__ == "__main__":
    app()
