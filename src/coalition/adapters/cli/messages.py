"""`coalition messages templates list|show|set|preview` and `coalition messages settings show|set` (issue 16;
docs/messages.md): a network's customer message templates and settings, the same commands as
/v1/admin/message-templates and /v1/admin/message-settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from coalition.adapters.cli.common import DatabaseOption, console, network_of, run, settings_for
from coalition.application.message_templates import parse_key
from coalition.domain.message_settings import MessageSettings, quiet_hours_text
from coalition.wiring import Services

messages_app = typer.Typer(help="Customer messages: their settings and templates.", no_args_is_help=True)
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


settings_app = typer.Typer(help="Which messages a network sends, and when.", no_args_is_help=True)
messages_app.add_typer(settings_app, name="settings")
Switch = Annotated[
    list[str] | None, typer.Option(help="KIND:CHANNEL, e.g. thank_you:email (repeat for more)", show_default=False)
]


def _print_settings(settings: MessageSettings) -> None:
    table = Table("kind", "email", "sms")
    for kind, channels in settings.enabled_json().items():
        table.add_row(kind, *("on" if channel in channels else "off" for channel in ("email", "sms")))
    console.print(table)
    quiet = quiet_hours_text(settings.quiet_hours) or "off"
    threshold = "off" if settings.balance_threshold is None else f"{settings.balance_threshold} points"
    console.print(
        f"Quiet hours: {quiet}\nCap: {settings.cap_per_day} messages per member and channel in 24 h\n"
        f"Balance threshold: {threshold}\nPoints expiring: announced {settings.expiring_days_before} days before\n"
        f"Version: {settings.version}",
        markup=False,
    )


@settings_app.command("show")
def show_settings(network: str, database_url: DatabaseOption = None) -> None:
    """Every kind's channels, quiet hours, cap, threshold (every kind is off until turned on)."""

    async def work(services: Services) -> MessageSettings:
        return await services.customer_messages.current((await network_of(services, network)).id)

    _print_settings(run(settings_for(database_url), work))


def _switch(text: str) -> tuple[str, str]:
    kind, _, channel = text.partition(":")
    return kind.strip(), channel.strip()


@settings_app.command("set")
def set_settings(
    network: str,
    on: Switch = None,
    off: Switch = None,
    quiet_hours: Annotated[str | None, typer.Option(help="HH:MM-HH:MM local time, or off")] = None,
    cap: Annotated[int | None, typer.Option(help="messages per member and channel in 24 h (1-100)")] = None,
    threshold: Annotated[str | None, typer.Option(help="points, or off")] = None,
    expiring_days: Annotated[int | None, typer.Option(help="days before points expire (1-90)")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Change what is given, keep the rest (audited: message_settings.set); refused (exit 2) naming the field."""

    async def work(services: Services) -> MessageSettings:
        ref = await network_of(services, network)
        current = await services.customer_messages.current(ref.id)
        changes: dict[str, Any] = {}
        if on or off:
            enabled = {kind: set(channels) for kind, channels in current.enabled_json().items()}
            for kind, channel in map(_switch, on or []):
                enabled.setdefault(kind, set()).add(channel)
            for kind, channel in map(_switch, off or []):
                enabled.setdefault(kind, set()).discard(channel)
            changes["enabled"] = {kind: sorted(channels) for kind, channels in enabled.items()}
        if quiet_hours is not None:
            if quiet_hours.strip().lower() == "off":
                changes |= {"quiet_start": None, "quiet_end": None}
            else:
                start, _, end = quiet_hours.partition("-")
                changes |= {"quiet_start": start.strip(), "quiet_end": end.strip()}
        if cap is not None:
            changes["cap_per_day"] = cap
        if threshold is not None:
            changes["balance_threshold"] = None if threshold.strip().lower() == "off" else _number(threshold)
        if expiring_days is not None:
            changes["expiring_days_before"] = expiring_days
        return await services.customer_messages.set(ref.id, changes, current.version)

    _print_settings(run(settings_for(database_url), work))


def _number(text: str) -> int | str:
    return int(text) if text.strip().isdigit() and len(text.strip()) < 12 else text
