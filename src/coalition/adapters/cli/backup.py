"""`coalition backup PATH` and `coalition restore PATH` (docs/backups.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from coalition.adapters.cli.common import DatabaseOption, console, errors, settings_for
from coalition.adapters.cli.verify import verify_command
from coalition.adapters.storage import backup as sqlite_backup
from coalition.adapters.storage import migrate as migrations
from coalition.adapters.storage import pg_backup
from coalition.adapters.storage.backup import BackupRefused
from coalition.adapters.storage.engine import backend_of

ForceOption = Annotated[bool, typer.Option("--force", help="replace what is there")]
REFUSED_EXIT = 2


def _bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(), console=console, transient=True,
    )


def _reporter(progress: Progress) -> sqlite_backup.Progress:
    tasks: dict[str, TaskID] = {}

    def report(what: str, done: int, total: int) -> None:
        if what not in tasks:
            tasks[what] = progress.add_task(what, total=total or None)
        progress.update(tasks[what], completed=done, total=total or None)

    return report


def _backend(url: str) -> str:
    try:
        return backend_of(url)
    except ValueError as error:
        raise BackupRefused(str(error)) from None


def _refused(error: BackupRefused) -> typer.Exit:
    errors.print(f"[red]refused:[/red] {error}", highlight=False, soft_wrap=True)
    return typer.Exit(REFUSED_EXIT)


def backup(
    path: Annotated[Path, typer.Argument(help="the backup file to write")],
    database_url: DatabaseOption = None,
    force: ForceOption = False,
) -> None:
    """Back up the database while the server serves: SQLite to one file; PostgreSQL through pg_dump."""
    url = settings_for(database_url).database_url
    try:
        if _backend(url) == "postgresql":
            with console.status("pg_dump is dumping the database"):
                tool = pg_backup.backup(url, path, force=force)
            console.print(f"[green]backed up[/green] to {path} (pg_dump {tool}, custom format; "
                          f"restore: coalition restore {path} --database-url <an empty database>)")
            return
        with _bar() as progress:
            info = sqlite_backup.backup(url, path, force=force, progress=_reporter(progress))
    except BackupRefused as error:
        raise _refused(error) from None
    held = ", ".join(f"{count} {table}" for table, count in info.counts.items())
    console.print(
        f"[green]backed up[/green] {info.source} to {path}: schema {info.schema_revision}, "
        f"{info.page_count * info.page_size:,} bytes, {held}; snapshot of {info.created_at} "
        f"(source in {info.source_journal_mode} mode)",
        highlight=False,
    )
    if info.source_journal_mode != "wal":
        console.print("[yellow]the database is not in WAL mode: writers waited while it was copied[/yellow]")


def restore(
    path: Annotated[Path, typer.Argument(help="a file written by `coalition backup`")],
    database_url: DatabaseOption = None,
    force: ForceOption = False,
) -> None:
    """Replace the database by a backup (atomically; refused over data without --force), then verify it."""
    url = settings_for(database_url).database_url
    try:
        if _backend(url) == "postgresql":
            if force:
                raise BackupRefused("--force does not apply on PostgreSQL: restore into a new, empty database")
            with console.status("pg_restore is restoring the database in one transaction"):
                revision, migrated = pg_backup.restore(path, url)
            if migrated:
                migrations.upgrade(url)
            console.print(f"[green]restored[/green] {path} (schema {revision}"
                          f"{', migrated to this version' if migrated else ''})", highlight=False)
        else:
            with _bar() as progress:
                info, migrated = sqlite_backup.restore(path, url, force=force, progress=_reporter(progress))
            console.print(
                f"[green]restored[/green] the snapshot of {info.created_at} from {path} "
                f"(schema {info.schema_revision}{', migrated to this version' if migrated else ''})",
                highlight=False,
            )
    except BackupRefused as error:
        raise _refused(error) from None
    console.print("checking the restored ledger (coalition verify):")
    verify_command(database_url=url)


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("restore")(restore)

