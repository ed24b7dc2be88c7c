"""`coalition rules …`: import a rule set as a network's draft, see its conflicts, publish it, export any version."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from coalition.adapters.cli.common import errors, network_of, run, settings_for
from coalition.domain.errors import InvalidInput
from coalition.domain.rules.documents import MAX_DOCUMENT_CHARS, DocumentError, load_json, load_yaml
from coalition.wiring import Services

rules_app = typer.Typer(help="Rule sets: import, check, publish, export (docs/rules.md).", no_args_is_help=True)
console = Console()



def _read_document(file: Path) -> object:
    """A YAML or JSON file (JSON by its .json suffix), limited in size and nesting (documents.py); a file that does
    not parse, or is over a limit, ends the command with exit 2."""
    try:
        if file.stat().st_size > 4 * MAX_DOCUMENT_CHARS:  # not even read: a character is at most 4 bytes
            raise DocumentError(f"a rule set document is at most {MAX_DOCUMENT_CHARS:,} characters", field="file")
        text = file.read_text()
        return load_json(text, "file") if file.suffix == ".json" else load_yaml(text, "file")
    except DocumentError as error:
        errors.print(f"[red]error (file):[/red] {error.detail}")
        raise typer.Exit(2) from None
    except (ValueError, yaml.YAMLError) as error:
        errors.print(f"[red]error (file):[/red] {str(error).splitlines()[0]}")
        raise typer.Exit(2) from None


def _print_findings(answer: dict[str, Any]) -> None:
    console.print(
        f"rule set version {answer['version']} ({answer['status']}): {len(answer['rules'])} rules, "
        f"{answer['errors']} error(s), {answer['warnings']} warning(s)"
    )
    if answer["findings"]:
        table = Table("severity", "kind", "rules", "found by", "message")
        for finding in answer["findings"]:
            colour = "red" if finding["severity"] == "error" else "yellow"
            table.add_row(
                f"[{colour}]{finding['severity']}[/{colour}]",
                finding["kind"],
                ", ".join(finding["rules"]),
                finding["method"],
                finding["message"],
            )
        console.print(table)


@rules_app.command("import")
def import_rules(
    network: str,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a rule set in YAML or JSON")],
    database_url: Annotated[str | None, typer.Option("--database-url", envvar="COALITION_DATABASE_URL")] = None,
) -> None:
    """Save FILE as the network's draft (replacing it) and print its conflicts."""
    document = _read_document(file)

    async def work(services: Services) -> dict[str, Any]:
        return await services.rules.save_draft(await network_of(services, network), document)

    answer = run(settings_for(database_url), work)
    _print_findings(answer)
    if answer["errors"]:
        raise typer.Exit(1)


@rules_app.command("check")
def check_rules(
    network: str,
    database_url: Annotated[str | None, typer.Option("--database-url", envvar="COALITION_DATABASE_URL")] = None,
) -> None:
    """Print the draft's conflicts; exit 1 if any is an error."""

    async def work(services: Services) -> dict[str, Any]:
        return await services.rules.draft(await network_of(services, network))

    answer = run(settings_for(database_url), work)
    _print_findings(answer)
    if answer["errors"]:
        raise typer.Exit(1)


@rules_app.command("publish")
def publish_rules(
    network: str,
    at: Annotated[str | None, typer.Option(help="ISO 8601 moment with offset; now if omitted")] = None,
    database_url: Annotated[str | None, typer.Option("--database-url", envvar="COALITION_DATABASE_URL")] = None,
) -> None:
    """Publish the draft now or at a future moment; refused while it has errors."""
    try:
        effective_from = datetime.fromisoformat(at) if at else None
    except ValueError:
        errors.print("[red]error (at):[/red] expected an ISO 8601 moment such as 2026-12-01T00:00:00+03:00")
        raise typer.Exit(2) from None

    async def work(services: Services) -> dict[str, Any]:
        if effective_from is not None and effective_from.tzinfo is None:
            raise InvalidInput("the moment needs its offset, e.g. +03:00", field="at")
        return await services.rules.publish(await network_of(services, network), effective_from)

    answer = run(settings_for(database_url), work)
    console.print(f"[green]published[/green] version {answer['version']}, in force from {answer['effective_from']}")


@rules_app.command("export")
def export_rules(
    network: str,
    version: Annotated[int | None, typer.Option(help="a version; the newest if omitted")] = None,
    output_format: Annotated[str, typer.Option("--format", help="yaml or json")] = "yaml",
    database_url: Annotated[str | None, typer.Option("--database-url", envvar="COALITION_DATABASE_URL")] = None,
) -> None:
    """Print a version of the network's rule set."""

    async def work(services: Services) -> dict[str, Any]:
        ref = await network_of(services, network)
        chosen = version
        if chosen is None:
            versions = (await services.rules.history(ref)).versions
            if not versions:
                raise InvalidInput("this network has no rule set yet", field="version")
            chosen = versions[0].version
        return await services.rules.version(ref, chosen)

    document = run(settings_for(database_url), work)
    if output_format == "json":
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), end="")


@rules_app.command("history")
def rules_history(
    network: str,
    database_url: Annotated[str | None, typer.Option("--database-url", envvar="COALITION_DATABASE_URL")] = None,
) -> None:
    """Every version of the network's rule set and the one in force."""

    async def work(services: Services) -> dict[str, Any]:
        return (await services.rules.history(await network_of(services, network))).json()

    print(json.dumps(run(settings_for(database_url), work), indent=2))


@rules_app.command("explain")
def explain_rules(
    network: str,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a purchase in YAML or JSON")],
    database_url: Annotated[str | None, typer.Option("--database-url", envvar="COALITION_DATABASE_URL")] = None,
) -> None:
    """Run the purchase in FILE through the draft (or `version:` in FILE): every rule and why it applied or not."""
    document = _read_document(file)

    async def work(services: Services) -> dict[str, Any]:
        return await services.rules.explain(await network_of(services, network), document)

    answer = run(settings_for(database_url), work)
    table = Table("rule", "applied", "points", "reason")
    for outcome in answer["outcomes"]:
        points = answer["points_by_rule"].get(outcome["rule"])
        applied = "yes" if outcome["applied"] else "no"
        table.add_row(outcome["rule"], applied, "" if points is None else str(points), outcome["reason"])
    console.print(table)
    console.print(
        f"check {answer['check']}, discount {answer['discount']}, due {answer['amount_due']}, "
        f"points to earn {answer['points_to_earn']}, at most {answer['max_redeemable_points']} points redeemable"
    )


@rules_app.command("simulate")
def simulate_rules(
    network: str,
    start: Annotated[str, typer.Option("--from", help="ISO 8601 moment with offset, inclusive")],
    end: Annotated[str, typer.Option("--to", help="ISO 8601 moment with offset, exclusive")],
    version: Annotated[int | None, typer.Option(help="a version; the draft if omitted")] = None,
    jobs: Annotated[int, typer.Option(min=1, max=64, help="processes, each pricing a stretch of the period")] = 1,
    database_url: Annotated[str | None, typer.Option("--database-url", envvar="COALITION_DATABASE_URL")] = None,
) -> None:
    """Price the stored purchases of a period with the draft (nothing is written) and compare with what happened."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from coalition.adapters.cli.parallel_simulation import simulate_in_processes
    from coalition.domain.errors import DomainError

    try:
        moments = (datetime.fromisoformat(start), datetime.fromisoformat(end))
    except ValueError:
        errors.print("[red]error (from/to):[/red] expected ISO 8601 moments such as 2026-11-01T00:00:00+03:00")
        raise typer.Exit(2) from None
    settings = settings_for(database_url)
    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("purchases", total=None)
        try:
            report = simulate_in_processes(
                settings,
                network,
                moments[0],
                moments[1],
                version,
                jobs,
                on_total=lambda total: bar.update(task, total=total),
                on_progress=lambda count: bar.advance(task, count),
            )
        except DomainError as error:
            field = f" ({error.field})" if error.field else ""
            errors.print(f"[red]error{field}:[/red] {error.detail}")
            raise typer.Exit(2) from None
    print(json.dumps(report, indent=2, ensure_ascii=False))


@rules_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of a rule-set document, for an editor to check a draft as it is typed (docs/rules.md)."""
    from coalition.domain.rules.shapes import rule_set_schema

    print(json.dumps(rule_set_schema(), indent=2, ensure_ascii=False))
