"""`coalition network partners | outlets | terminals | cashiers`: the network's lists a page at a time, as the admin
API pages them (docs/api.md "Conventions": `--limit` up to 500, `--cursor` the previous page's next cursor), and
`coalition network country`: the region phones typed without their country code are read in (issue 18, point 4)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

import typer
from rich.table import Table

from coalition.adapters.cli.common import DatabaseOption, console, errors, network_of, run, settings_for
from coalition.adapters.http.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from coalition.application.network_lists import ListQuery
from coalition.wiring import Services

LimitOption = Annotated[int, typer.Option("--limit", min=1, max=MAX_LIMIT, help=f"items per page, at most {MAX_LIMIT}")]
CursorOption = Annotated[
    str | None, typer.Option("--cursor", help="the previous page's next cursor; omit for the first page")
]
JsonOption = Annotated[bool, typer.Option("--json", help="print the page as the API answers it")]
OutletOption = Annotated[int | None, typer.Option("--outlet-id", min=1, help="only this outlet's")]
COLUMNS = {
    "partners": ("id", "name"),
    "outlets": ("id", "partner_id", "name", "timezone"),
    "terminals": ("id", "outlet_id", "name", "key_prefix", "active", "key_expires_at"),
    "cashiers": ("id", "outlet_id", "login", "name", "active"),
}


def _page(
    name: str,
    network: str,
    limit: int,
    cursor: str | None,
    as_json: bool,
    database_url: str | None,
    read: Callable[[Services], Callable[[ListQuery], Awaitable[Sequence[Any]]]],
    **filters: int | None,
) -> None:
    async def work(services: Services) -> list[Any]:
        ref = await network_of(services, network)
        after = decode_cursor(cursor) if cursor else None
        return list(await read(services)(ListQuery(ref.id, after, limit + 1, **filters)))

    found = run(settings_for(database_url), work)
    shown = [item.json() for item in found[:limit]]
    next_cursor = encode_cursor(shown[-1]["id"]) if len(found) > limit and shown else None
    if as_json:
        print(json.dumps({name: shown, "next_cursor": next_cursor}, indent=2, ensure_ascii=False, default=str))
        return
    table = Table(*COLUMNS[name], title=f"{name} of {network}")
    for item in shown:
        table.add_row(*("" if item[column] is None else str(item[column]) for column in COLUMNS[name]))
    console.print(table)
    if next_cursor is not None:
        errors.print(f"more: add --cursor {next_cursor}")


def partners(
    network: str,
    limit: LimitOption = DEFAULT_LIMIT,
    cursor: CursorOption = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """The network's partners, a page at a time in id order."""
    _page("partners", network, limit, cursor, as_json, database_url, lambda s: s.network_lists.partners)


def outlets(
    network: str,
    partner_id: Annotated[int | None, typer.Option("--partner-id", min=1, help="only this partner's")] = None,
    limit: LimitOption = DEFAULT_LIMIT,
    cursor: CursorOption = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """The network's outlets (their ids are the outlet numbers the web terminal asks for), a page at a time."""
    read = lambda s: s.network_lists.outlets  # noqa: E731
    _page("outlets", network, limit, cursor, as_json, database_url, read, partner_id=partner_id)


def terminals(
    network: str,
    outlet_id: OutletOption = None,
    limit: LimitOption = DEFAULT_LIMIT,
    cursor: CursorOption = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """The network's terminals with their keys' prefixes (never the keys), a page at a time."""
    read = lambda s: s.network_lists.terminals  # noqa: E731
    _page("terminals", network, limit, cursor, as_json, database_url, read, outlet_id=outlet_id)


def cashiers(
    network: str,
    outlet_id: OutletOption = None,
    limit: LimitOption = DEFAULT_LIMIT,
    cursor: CursorOption = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """The network's cashiers, a page at a time."""
    read = lambda s: s.network_lists.cashiers  # noqa: E731
    _page("cashiers", network, limit, cursor, as_json, database_url, read, outlet_id=outlet_id)


def country(
    network: str,
    code: Annotated[str | None, typer.Argument(help="ISO 3166-1 alpha-2 (RU, KZ, DE…); omit to print it")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Print or set the network's country: phones typed without their country code are read as its numbers."""

    async def work(services: Services) -> str | None:
        ref = await network_of(services, network)
        if code is None:
            return await services.limits.country(ref.id, ref.currency)
        return await services.limits.set_country(ref.id, ref.currency, code)

    print(json.dumps({"country": run(settings_for(database_url), work)}))


def register(network_app: typer.Typer) -> None:
    """The list commands and the country join `coalition network`."""
    network_app.command("partners")(partners)
    network_app.command("outlets")(outlets)
    network_app.command("terminals")(terminals)
    network_app.command("cashiers")(cashiers)
    network_app.command("country")(country)
