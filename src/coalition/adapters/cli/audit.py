"""`coalition audit NETWORK`: the network's audit log, newest first, as a table or (--csv) every entry as CSV."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from coalition.adapters.cli.common import moment_of, network_of, run, settings_for
from coalition.application.audit import AuditQuery, StoredAuditEntry, as_json, csv_rows
from coalition.application.csv_text import csv_text
from coalition.wiring import Services

console = Console()
DatabaseUrl = Annotated[str | None, typer.Option("--database-url", envvar="COALITION_DATABASE_URL")]


def audit(
    network: str,
    since: Annotated[str | None, typer.Option(help="entries recorded at or after, ISO 8601 with offset")] = None,
    action: Annotated[str | None, typer.Option(help="an action, or a prefix such as terminal.")] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="every matching entry as CSV on standard output")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="entries shown in the table")] = 50,
    database_url: DatabaseUrl = None,
) -> None:
    """The audit log of NETWORK: who changed what, when, from where, before and after (newest first)."""
    start = moment_of(since, "since")

    async def work(services: Services) -> list[StoredAuditEntry]:
        ref = await network_of(services, network)
        query = AuditQuery(network_id=ref.id, since=start, action=action or None, limit=limit)
        return await (services.audit.all_entries(query) if as_csv else services.audit.entries(query))

    entries = run(settings_for(database_url), work)
    if as_csv:
        sys.stdout.write(csv_text(csv_rows(entries)))
        return
    table = Table("id", "recorded (UTC)", "who", "from", "action", "object", "before", "after")
    for e in entries:
        who = " ".join(part for part in (e.actor.kind, e.actor.name or e.actor.id or "", e.actor.role or "") if part)
        table.add_row(
            str(e.id),
            e.recorded_at.strftime("%Y-%m-%d %H:%M:%S"),
            who,
            e.actor.address or "",
            e.action,
            f"{e.object_type} {e.object_id or ''}".strip(),
            as_json(e.before) or "",
            as_json(e.after) or "",
        )
    console.print(table)
