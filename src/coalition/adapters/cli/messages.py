"""`coalition messages templates list|show|set|preview` (issue 16; docs/messages.md): a network's customer message
templates, the same commands as /v1/admin/message-templates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from coalition.adapters.cli.common import DatabaseOption, console, network_of, run, settings_for
from coalition.application.message_templates import parse_key
from coalition.wiring import Services

messages_app = typer.Typer(help="Customer messages: their templates.", no_args_is_help=True)
templates_app = typer.Typer(help="Message templates per kind, channel and language.", no_args_is_help=True)
messages_app.add_typer(templates_app, name="templates")

Kind = Annotated[
    str,
    typer.Argument(help="thank_you, welcome, points_expiring, gift_granted, balance_threshold, birthday or campaign"),
]
ChannelArg = Annotated[str, typer.Argument(help="email or sms")]
Language = Annotated[str, typer.Argument(help="en or ru")]


@templates_app.command("list")
def list_templates(network: str, database_url: DatabaseOption = None) -> None:
    """Every kind × channel × language: built-in, or changed by the network."""

    async def work(services: Services) -> list[dict[str, Any]]:
        return await services.message_templates.list((await network_of(services, network)).id)

    table = Table("kind", "channel", "language", "text", "subject")
    for item in run(settings_for(database_url), work):
        changed = "changed" if item["customised"] else "built-in"
        table.add_row(item["kind"], item["channel"], item["language"], changed, item["subject"])
    for column in table.columns:
        column.overflow = "fold"
    console.print(table)


def _print(item: dict[str, Any]) -> None:
    if item.get("subject"):
        console.print(f"Subject: {item['subject']}", markup=False)
    console.print(item["body"], markup=False, highlight=False)


@templates_app.command("show")
def show_template(
    network: str, kind: Kind, channel: ChannelArg, language: Language, database_url: DatabaseOption = None
) -> None:
    """The template's text and the variables it may use."""

    async def work(services: Services) -> dict[str, Any]:
        network_id = (await network_of(services, network)).id
        return await services.message_templates.show(network_id, parse_key(kind, channel, language))

    item = run(settings_for(database_url), work)
    _print(item)
    console.print(f"Variables: {', '.join(item['variables'])}", markup=False)


@templates_app.command("set")
def set_template(
    network: str,
    kind: Kind,
    channel: ChannelArg,
    language: Language,
    body_file: Annotated[Path, typer.Option("--body-file", help="the text, UTF-8 ('-' reads standard input)")],
    subject: Annotated[str, typer.Option("--subject", help="e-mail only")] = "",
    database_url: DatabaseOption = None,
) -> None:
    """Save a template; refused (exit 2, the line at fault) when it would not render."""
    body = typer.get_text_stream("stdin").read() if str(body_file) == "-" else body_file.read_text(encoding="utf-8")

    async def work(services: Services) -> dict[str, Any]:
        network_id = (await network_of(services, network)).id
        return await services.message_templates.set(network_id, parse_key(kind, channel, language), subject, body)

    run(settings_for(database_url), work)
    console.print(f"{kind} {channel} {language}: saved")


@templates_app.command("preview")
def preview_template(
    network: str,
    kind: Kind,
    channel: ChannelArg,
    language: Language,
    member: Annotated[
        int | None, typer.Option("--member", min=1, max=2**63 - 1, help="a member's id; none: the sample")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """The template rendered for the sample customer or a member of the network."""

    async def work(services: Services) -> dict[str, Any]:
        network_id = (await network_of(services, network)).id
        return await services.message_templates.preview(
            network_id, parse_key(kind, channel, language), member_id=member
        )

    _print(run(settings_for(database_url), work))
