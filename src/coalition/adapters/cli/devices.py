"""`coalition devices …`: a network's devices (issue 15) — register one (its outlet, terminal and key, printed once),
list them (online or silent, today's uses and takings), show one, set its prices or opening hours, and deactivate it.
The same commands as the admin API (docs/devices.md); documents are JSON, given inline or as @file; every change is
audited as the operator's (common.run). A device's key is rotated like any terminal's: `coalition network
rotate-terminal-key` with the device's terminal id."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from coalition.adapters.cli.common import DatabaseOption, console, network_of, run, settings_for
from coalition.application.devices_admin import DeviceChanges, DeviceRegistration, DeviceView
from coalition.application.network_ref import NetworkRef
from coalition.domain.errors import InvalidInput, NotFound
from coalition.wiring import Services

devices_app = typer.Typer(
    help="Devices that take the card: add, list, show, prices, hours, revoke.", no_args_is_help=True
)
DeviceId = Annotated[int, typer.Argument(min=1, help="the device's id (`coalition devices list`)")]
PRICE_LIST_HELP = 'JSON or @file: {"per_use": "2.50", "slots": {"A1": {"name": "Water", "price": "1.20"}}, ...}'
HOURS_HELP = 'JSON or @file: {"mon": [["08:00", "22:00"]], ...} (a day left out is closed); "always": always open'


def _print(answer: Any) -> None:
    print(json.dumps(answer, indent=2, ensure_ascii=False))


def _document(text: str, field: str) -> Any:
    """A JSON document typed on the command line, or read from the file after '@'."""
    source = text
    if text.startswith("@"):
        try:
            source = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as error:
            raise InvalidInput(f"cannot read {text[1:]}: {error.strerror}", field=field) from None
    try:
        return json.loads(source)
    except ValueError:
        raise InvalidInput("this is not JSON", field=field) from None


def _hours(text: str | None) -> Any:
    return None if text is None or text.strip().lower() == "always" else _document(text, "opening_hours")


async def _partner_id(services: Services, network: NetworkRef, partner: str) -> int:
    """A partner named by its id or its name."""
    partners = await services.admin.partners(network)
    for found in partners:
        if str(found["id"]) == partner.strip() or str(found["name"]).casefold() == partner.strip().casefold():
            return int(found["id"])
    raise NotFound(f"no partner {partner} in this network", field="partner_id")


@devices_app.command("add")
def add(
    network: str,
    name: Annotated[str, typer.Argument(help="the device's name (its outlet's)")],
    partner: Annotated[str, typer.Option(help="the partner whose machine it is: its id or name")],
    kind: Annotated[str, typer.Option(help="vending, arcade, dispenser, timed_table, turnstile or kiosk")],
    timezone: Annotated[str, typer.Option(help="the outlet's IANA time zone")] = "UTC",
    price_list: Annotated[str | None, typer.Option(help=PRICE_LIST_HELP)] = None,
    hours: Annotated[str | None, typer.Option(help=HOURS_HELP)] = None,
    hold_ttl: Annotated[int, typer.Option(help="seconds a hold waits for its capture")] = 300,
    offline_limit: Annotated[str, typer.Option(help="sold to one card while offline, at most")] = "0",
    silent_after: Annotated[int, typer.Option(help="seconds without a heartbeat before it is called silent")] = 900,
    database_url: DatabaseOption = None,
) -> None:
    """Register a device: its outlet, its terminal and its key (printed once) (POST /v1/admin/devices)."""

    async def work(services: Services) -> dict[str, Any]:
        ref = await network_of(services, network)
        registration = DeviceRegistration(
            partner_id=await _partner_id(services, ref, partner),
            name=name,
            kind=kind,
            timezone=timezone,
            price_list=None if price_list is None else _document(price_list, "price_list"),
            opening_hours=_hours(hours),
            hold_ttl_seconds=hold_ttl,
            offline_limit=offline_limit,
            silent_after_seconds=silent_after,
        )
        return await services.device_admin.register(ref, registration)

    _print(run(settings_for(database_url), work))


@devices_app.command("list")
def list_devices(
    network: str,
    outlet: Annotated[
        int | None, typer.Option("--outlet", min=1, max=2**63 - 1, help="only the device that is this outlet")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """The network's devices: online or silent, open now, today's uses and takings, last error."""

    async def work(services: Services) -> list[DeviceView]:
        return await services.device_admin.devices(await network_of(services, network), outlet_id=outlet)

    views = run(settings_for(database_url), work)
    if as_json:
        _print([view.json() for view in views])
        return
    table = Table("id", "device", "kind", "state", "last heartbeat", "uses", "takings")  # --json: every field
    for view in views:
        answer = view.json()
        state = "deactivated" if not view.record.active else ("online" if view.online else "silent")
        state += "" if view.open_now or not view.record.active else ", closed"
        table.add_row(
            str(answer["id"]),
            f"{answer['name']} ({answer['partner']['name']})",
            answer["kind"],
            state,
            answer["last_heartbeat_at"] or "never",
            str(answer["today"]["uses"]),
            answer["today"]["takings"],
        )
    console.print(table)


@devices_app.command("show")
def show(network: str, device_id: DeviceId, database_url: DatabaseOption = None) -> None:
    """A device: its prices, hours, limits, key prefix, last heartbeat and status (never its key)."""

    async def work(services: Services) -> dict[str, Any]:
        return (await services.device_admin.show(await network_of(services, network), device_id)).json()

    _print(run(settings_for(database_url), work))


def _change(network: str, device_id: int, changes: Callable[[], DeviceChanges], database_url: str | None) -> None:
    """`changes` is read inside the run, so a document that is no JSON is refused like any other input (exit 2)."""

    async def work(services: Services) -> dict[str, Any]:
        ref = await network_of(services, network)
        return (await services.device_admin.change(ref, device_id, changes())).json()

    _print(run(settings_for(database_url), work))


@devices_app.command("prices")
def prices(
    network: str,
    device_id: DeviceId,
    price_list: Annotated[str, typer.Argument(help=PRICE_LIST_HELP)],
    kind: Annotated[str | None, typer.Option(help="change its kind too (the prices must suit it)")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Replace a device's price list (PATCH /v1/admin/devices/{id})."""

    def changes() -> DeviceChanges:
        document = _document(price_list, "price_list")
        return DeviceChanges(price_list=document) if kind is None else DeviceChanges(kind=kind, price_list=document)

    _change(network, device_id, changes, database_url)


@devices_app.command("hours")
def hours_command(
    network: str,
    device_id: DeviceId,
    hours: Annotated[str, typer.Argument(help=HOURS_HELP)],
    database_url: DatabaseOption = None,
) -> None:
    """Replace a device's opening hours, in its outlet's time zone ("always": always open)."""
    _change(network, device_id, lambda: DeviceChanges(opening_hours=_hours(hours)), database_url)


@devices_app.command("revoke")
def revoke(network: str, device_id: DeviceId, database_url: DatabaseOption = None) -> None:
    """Deactivate a device: its key is refused from now on (POST /v1/admin/devices/{id}/revoke)."""

    async def work(services: Services) -> dict[str, Any]:
        return (await services.device_admin.revoke(await network_of(services, network), device_id)).json()

    _print(run(settings_for(database_url), work))
