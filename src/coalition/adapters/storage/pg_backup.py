"""`coalition backup` / `coalition restore` on PostgreSQL: pg_dump and pg_restore in custom format (docs/backups.md).

We wrap the tools rather than reimplement them: pg_dump takes its snapshot in one repeatable-read transaction, so a
dump is consistent while the server serves. We run pg_dump only when its major version can dump the server (the same
major version or newer, which is pg_dump's own rule); otherwise we print the exact command to run with the right
binaries and refuse. The password never goes on a command line (other users can read those): it goes in PGPASSWORD.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL, make_url

from coalition.adapters.storage.backup import BackupRefused, check_revision, schema_revisions

TOOL_TIMEOUT_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Connection:
    """A libpq URL without its password, and the password for PGPASSWORD."""

    url: str
    password: str | None

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env


def libpq(database_url: str) -> Connection:
    parsed = make_url(database_url.replace("postgres://", "postgresql://", 1)).set(drivername="postgresql")
    without = URL.create("postgresql", parsed.username, None, parsed.host, parsed.port, parsed.database, parsed.query)
    return Connection(without.render_as_string(hide_password=False), parsed.password)


def _major(version_text: str) -> int:
    found = re.search(r"\(PostgreSQL\)\s+(\d+)", version_text) or re.search(r"(\d+)", version_text)
    if found is None:
        raise BackupRefused(f"cannot read a version from {version_text!r}")
    return int(found.group(1))


def server_major(connection: Connection) -> int:
    try:
        with psycopg.connect(connection.url, password=connection.password, connect_timeout=10) as db:
            row = db.execute("SHOW server_version_num").fetchone()
    except psycopg.Error as error:
        raise BackupRefused(f"cannot reach the database: {str(error).strip()}") from None
    if row is None:  # pragma: no cover - SHOW always answers
        raise BackupRefused("the server did not say its version")
    return int(row[0]) // 10000


def tool_major(tool: str) -> int | None:
    found = shutil.which(tool)
    if found is None:
        return None
    answer = subprocess.run([found, "--version"], capture_output=True, text=True, check=False, timeout=30)
    return _major(answer.stdout)


def dump_command(connection: Connection, path: Path, binary: str = "pg_dump") -> list[str]:
    return [binary, "--format=custom", "--no-owner", "--no-privileges", f"--file={path}", f"--dbname={connection.url}"]


def restore_command(connection: Connection, path: Path, binary: str = "pg_restore") -> list[str]:
    return [
        binary,
        "--exit-on-error",
        "--single-transaction",
        "--no-owner",
        "--no-privileges",
        f"--dbname={connection.url}",
        str(path),
    ]


def _shown(command: list[str], connection: Connection) -> str:
    prefix = "PGPASSWORD=… " if connection.password is not None else ""
    return prefix + shlex.join(command)


def backup(database_url: str, destination: Path, *, force: bool = False) -> str:
    """Dump the database to `destination` (custom format) with pg_dump; the pg_dump version used."""
    connection = libpq(database_url)
    if destination.exists() and not force:
        raise BackupRefused(f"{destination} already exists; choose another name or pass --force to replace it")
    server = server_major(connection)
    tool = tool_major("pg_dump")
    if tool is None or tool < server:
        binary = f"/usr/lib/postgresql/{server}/bin/pg_dump"
        found = "no pg_dump on PATH" if tool is None else f"pg_dump on PATH is version {tool}"
        raise BackupRefused(
            f"{found}, the server is PostgreSQL {server}; pg_dump must be version {server} or newer. "
            f"Install PostgreSQL {server}'s client tools and run:\n  "
            + _shown(dump_command(connection, destination, binary), connection)
        )
    temporary = destination.with_name(f".{destination.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        answer = subprocess.run(
            dump_command(connection, temporary),
            env=connection.environment(),
            capture_output=True,
            text=True,
            check=False,
            timeout=TOOL_TIMEOUT_SECONDS,
        )
        if answer.returncode != 0:
            raise BackupRefused(f"pg_dump failed: {answer.stderr.strip()}")
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)
    return str(tool)


def _archive_revision(path: Path) -> str:
    """The schema revision inside a pg_dump archive (the alembic_version table's row), checked before restoring."""
    if shutil.which("pg_restore") is None:
        raise BackupRefused("no pg_restore on PATH: install PostgreSQL's client tools")
    listing = subprocess.run(
        ["pg_restore", "--list", str(path)], capture_output=True, text=True, check=False, timeout=600
    )
    if listing.returncode != 0:
        raise BackupRefused(
            f"{path} is not a pg_dump custom-format archive: {listing.stderr.strip() or 'pg_restore cannot read it'}"
        )
    data = subprocess.run(
        ["pg_restore", "--data-only", "--table=alembic_version", "--file=-", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    lines = data.stdout.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and number + 1 < len(lines):
            revision = lines[number + 1].strip()
            if revision and revision != "\\.":
                return revision
    raise BackupRefused(f"{path} is not a Coalition backup: it holds no schema revision (alembic_version)")


def _tables(connection: Connection) -> int:
    with psycopg.connect(connection.url, password=connection.password, connect_timeout=10) as db:
        row = db.execute(
            "SELECT COUNT(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchone()
    return int(row[0]) if row else 0


def restore(backup_path: Path, database_url: str) -> tuple[str, bool]:
    """Restore a pg_dump archive into an empty database in one transaction; (revision, whether it was migrated)."""
    if not backup_path.is_file():
        raise BackupRefused(f"there is no backup at {backup_path}")
    connection = libpq(database_url)
    revision = _archive_revision(backup_path)
    needs_migration = check_revision(revision, schema_revisions())
    try:
        tables = _tables(connection)
    except psycopg.Error as error:
        raise BackupRefused(f"cannot reach the database: {str(error).strip()}") from None
    if tables:
        raise BackupRefused(
            f"the database holds {tables} table(s); restore into a new, empty database (createdb), then point "
            "COALITION_DATABASE_URL at it. --force does not apply on PostgreSQL: drop the database yourself if "
            "you mean to replace it"
        )
    answer = subprocess.run(
        restore_command(connection, backup_path),
        env=connection.environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=TOOL_TIMEOUT_SECONDS,
    )
    if answer.returncode != 0:
        raise BackupRefused(f"pg_restore failed and restored nothing (one transaction): {answer.stderr.strip()}")
    return revision, needs_migration
