"""`coalition backup` / `coalition restore` for the embedded SQLite database (docs/backups.md).

A backup is an SQLite file: the database as one read transaction saw it, plus a `coalition_backup` table saying what
it is (format, schema revision, when). The copy is taken with SQLite's online backup API while the source connection
holds one read transaction open: in WAL mode (which the server always sets) that pins a snapshot, so every step of
the copy reads the same committed state while the server's writers go on committing to the WAL. A purchase is thus
wholly in the backup or wholly out. (VACUUM INTO would give the same snapshot but no progress to show.)

A restore checks the backup first (header, size, integrity, its own table, a schema this code knows), refuses a
target that holds data unless forced, builds the new database in a temporary file beside the target (migrated if
the backup's schema is older) and renames it over the target: the target is either the old database or the whole
restored one, never half of either.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from coalition.adapters.storage import migrate

FORMAT = "coalition-sqlite-backup/1"
META_TABLE = "coalition_backup"
SQLITE_MAGIC = b"SQLite format 3\x00"
HEADER_BYTES = 100
STEP_PAGES = 256  # pages copied per backup step: a progress update every ~1 MB with 4 KiB pages
COPY_CHUNK_BYTES = 1 << 20
SUMMARY_TABLES = ("networks", "members", "purchases", "ledger_transactions")

# (what is being done, done so far, total); the CLI draws it as a Rich progress bar
Progress = Callable[[str, int, int], None]


class BackupRefused(Exception):
    """The backup or restore was refused; nothing was written where it would matter. The text says why."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    format: str
    schema_revision: str
    created_at: str
    coalition_version: str
    source: str
    source_journal_mode: str
    page_count: int
    page_size: int
    counts: dict[str, int]


def _no_progress(_what: str, _done: int, _total: int) -> None:
    return None


def sqlite_path(database_url: str) -> Path:
    """The file of a sqlite:///path URL (relative paths are relative to the working directory)."""
    try:
        parsed = make_url(database_url)
    except ArgumentError:
        parsed = None
    if parsed is None or parsed.get_backend_name() != "sqlite":
        raise BackupRefused(f"not an SQLite file URL: {database_url!r} (expected sqlite:///path/to/file.db)")
    if parsed.database in (None, "", ":memory:"):
        raise BackupRefused("an in-memory database cannot be backed up")
    return Path(parsed.database)


def _connect_existing(path: Path, *, timeout_seconds: float = 30.0) -> sqlite3.Connection:
    """Open a database file that must already exist (mode=rw: never create an empty one by mistake)."""
    connection = sqlite3.connect(
        f"file:{path.resolve()}?mode=rw", uri=True, isolation_level=None, timeout=timeout_seconds
    )
    return connection


def _coalition_version() -> str:
    try:
        return version("coalition")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without installing
        return "unknown"


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_file(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def _temporary_beside(path: Path, purpose: str) -> Path:
    # Beside the target, so the final rename stays within one file system and is atomic.
    return path.with_name(f".{path.name}.{purpose}-{uuid.uuid4().hex[:8]}")


def _remove_with_sidecars(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _counts(connection: sqlite3.Connection) -> dict[str, int]:
    present = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {
        table: int(connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
        for table in SUMMARY_TABLES
        if table in present
    }


# --- backup -----------------------------------------------------------------------------------------------------


def backup(
    database_url: str,
    destination: Path,
    *,
    force: bool = False,
    progress: Progress = _no_progress,
    step_pages: int = STEP_PAGES,
) -> BackupInfo:
    """Copy the database at `database_url` to `destination` as one consistent snapshot, while others write."""
    try:
        return _backup(database_url, destination, force, progress, step_pages)
    except (OSError, sqlite3.Error) as error:
        raise BackupRefused(f"the backup failed and nothing was written at {destination}: {error}") from None


def _backup(database_url: str, destination: Path, force: bool, progress: Progress, step_pages: int) -> BackupInfo:
    source = sqlite_path(database_url)
    if not source.is_file():
        raise BackupRefused(f"there is no database at {source}")
    if destination.is_dir():
        raise BackupRefused(f"{destination} is a directory: name the backup file, e.g. {destination}/coalition.backup")
    if destination.exists() and not force:
        raise BackupRefused(f"{destination} already exists; choose another name or pass --force to replace it")
    if destination.resolve() == source.resolve():
        raise BackupRefused("the backup cannot be written over the database it copies")
    if not destination.parent.is_dir():
        raise BackupRefused(f"the directory {destination.parent} does not exist")
    temporary = _temporary_beside(destination, "partial")
    try:
        info = _copy_snapshot(source, temporary, progress, step_pages)
        _fsync_file(temporary)
        os.replace(temporary, destination)
        _fsync_directory(destination.parent)
    finally:
        _remove_with_sidecars(temporary)
    return BackupInfo(**{**info.__dict__, "path": destination})


def _copy_snapshot(source: Path, temporary: Path, progress: Progress, step_pages: int) -> BackupInfo:
    with closing(_connect_existing(source)) as reader:
        journal_mode = str(reader.execute("PRAGMA journal_mode").fetchone()[0])
        # One read transaction for the whole copy: every backup step reads this same snapshot (WAL mode), so the
        # copy neither restarts when the server commits nor sees half of a purchase.
        reader.execute("BEGIN")
        if not reader.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone():
            raise BackupRefused(f"{source} is not a Coalition database (no schema revision); nothing to back up")
        revision_row = reader.execute("SELECT version_num FROM alembic_version").fetchone()
        if revision_row is None:
            raise BackupRefused(f"{source} has no schema revision; run `coalition migrate` first")
        created_at = datetime.now(UTC).isoformat(timespec="seconds")
        with closing(sqlite3.connect(temporary, isolation_level=None)) as writer:

            def step(_status: int, remaining: int, total: int) -> None:
                progress("copying", total - remaining, total)

            reader.backup(writer, pages=step_pages, progress=step)
            reader.execute("COMMIT")
            page_count = int(writer.execute("PRAGMA page_count").fetchone()[0])
            page_size = int(writer.execute("PRAGMA page_size").fetchone()[0])
            info = BackupInfo(
                path=temporary,
                format=FORMAT,
                schema_revision=str(revision_row[0]),
                created_at=created_at,
                coalition_version=_coalition_version(),
                source=str(source.resolve()),
                source_journal_mode=journal_mode,
                page_count=page_count,
                page_size=page_size,
                counts=_counts(writer),
            )
            writer.execute("BEGIN")
            writer.execute(f"CREATE TABLE {META_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            writer.executemany(
                f"INSERT INTO {META_TABLE} (key, value) VALUES (?, ?)",
                [(key, str(value)) for key, value in _meta_of(info).items()],
            )
            writer.execute("COMMIT")
            # The copy inherits the source's WAL mode; one self-contained file is what a backup should be.
            writer.execute("PRAGMA journal_mode=DELETE")
            progress("checking", 0, 1)
            problem = writer.execute("PRAGMA quick_check").fetchone()[0]
            if problem != "ok":
                raise BackupRefused(f"the copy failed its integrity check ({problem}); the database may be damaged")
            progress("checking", 1, 1)
    return info


def _meta_of(info: BackupInfo) -> dict[str, object]:
    return {
        "format": info.format,
        "schema_revision": info.schema_revision,
        "created_at": info.created_at,
        "coalition_version": info.coalition_version,
        "source": info.source,
        "source_journal_mode": info.source_journal_mode,
        **{f"rows.{table}": count for table, count in info.counts.items()},
    }


# --- reading a backup -------------------------------------------------------------------------------------------


def read_backup(path: Path, *, progress: Progress = _no_progress) -> BackupInfo:
    """What the backup at `path` is, after checking that it is whole; BackupRefused says what is wrong with it."""
    if not path.is_file():
        raise BackupRefused(f"there is no backup at {path}")
    size = path.stat().st_size
    with path.open("rb") as handle:
        header = handle.read(HEADER_BYTES)
    if not header.startswith(SQLITE_MAGIC):
        raise BackupRefused(f"{path} is not a Coalition backup: it is not an SQLite file")
    if len(header) < HEADER_BYTES:
        raise BackupRefused(f"{path} is truncated: {size} bytes, shorter than an SQLite header")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    page_count = int.from_bytes(header[28:32], "big")
    # The page count in the header is valid when its "version valid for" equals the change counter.
    if header[24:28] == header[92:96] and page_count and size != page_count * page_size:
        raise BackupRefused(
            f"{path} is truncated or damaged: its header says {page_count} pages of {page_size} bytes "
            f"({page_count * page_size} bytes), the file has {size} bytes"
        )
    try:
        with closing(sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, isolation_level=None)) as db:
            progress("checking the backup", 0, 1)
            problem = db.execute("PRAGMA integrity_check").fetchone()[0]
            if problem != "ok":
                raise BackupRefused(f"{path} is damaged: SQLite's integrity check says {problem}")
            progress("checking the backup", 1, 1)
            has_meta = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (META_TABLE,)
            ).fetchone()
            if not has_meta:
                raise BackupRefused(
                    f"{path} is not a Coalition backup: an SQLite file without a {META_TABLE} table "
                    "(make backups with `coalition backup`)"
                )
            meta = dict(db.execute(f"SELECT key, value FROM {META_TABLE}").fetchall())
    except sqlite3.DatabaseError as error:
        raise BackupRefused(f"{path} is damaged or not a Coalition backup: {error}") from None
    if meta.get("format") != FORMAT:
        raise BackupRefused(f"{path} is a backup in a format this Coalition does not read: {meta.get('format')!r}")
    return BackupInfo(
        path=path,
        format=meta["format"],
        schema_revision=meta.get("schema_revision", ""),
        created_at=meta.get("created_at", ""),
        coalition_version=meta.get("coalition_version", ""),
        source=meta.get("source", ""),
        source_journal_mode=meta.get("source_journal_mode", ""),
        page_count=page_count,
        page_size=page_size,
        counts={key.removeprefix("rows."): int(value) for key, value in meta.items() if key.startswith("rows.")},
    )


@dataclass(frozen=True)
class Revisions:
    head: str
    known: frozenset[str]


def schema_revisions() -> Revisions:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    head = script.get_current_head()
    if head is None:  # pragma: no cover - the package always ships its migrations
        raise BackupRefused("this Coalition has no migrations")
    return Revisions(head, frozenset(revision.revision for revision in script.walk_revisions()))


def check_revision(revision: str, revisions: Revisions) -> bool:
    """True when a database at `revision` must be migrated after the restore; refused when this code cannot."""
    if revision == revisions.head:
        return False
    if revision not in revisions.known:
        raise BackupRefused(
            f"the backup's schema revision {revision!r} is newer than this Coalition knows (up to "
            f"{revisions.head!r}): restore it with the Coalition version that made it, or upgrade Coalition first"
        )
    return True


# --- restore ----------------------------------------------------------------------------------------------------


def holdings(target: Path) -> dict[str, int] | None:
    """Rows per table of the target database, None when it holds nothing (missing, empty or only a schema)."""
    if not target.exists():
        return None
    if target.stat().st_size == 0:
        return None
    try:
        with closing(_connect_existing(target, timeout_seconds=5.0)) as db:
            tables = [
                str(row[0])
                for row in db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                    "AND name <> 'alembic_version' ORDER BY name"
                )
            ]
            held = {table: int(db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]) for table in tables}
    except sqlite3.DatabaseError:
        return {"(not an SQLite database)": 1}
    filled = {table: count for table, count in held.items() if count}
    return filled or None


def describe_holdings(held: dict[str, int]) -> str:
    named = [f"{held[table]} {table}" for table in SUMMARY_TABLES if table in held]
    rest = sum(1 for table in held if table not in SUMMARY_TABLES)
    if rest:
        named.append(f"{rest} other table(s) with rows")
    return ", ".join(named)


def restore(
    backup_path: Path, database_url: str, *, force: bool = False, progress: Progress = _no_progress
) -> tuple[BackupInfo, bool]:
    """Replace the database at `database_url` by the backup, atomically; (the backup, whether it was migrated)."""
    try:
        return _restore(backup_path, database_url, force, progress)
    except (OSError, sqlite3.Error) as error:
        raise BackupRefused(f"the restore failed: {error}") from None


def _restore(backup_path: Path, database_url: str, force: bool, progress: Progress) -> tuple[BackupInfo, bool]:
    # A symbolic link is followed: the file it names is replaced, the link stays.
    target = sqlite_path(database_url).resolve()
    info = read_backup(backup_path, progress=progress)
    needs_migration = check_revision(info.schema_revision, schema_revisions())
    if not target.parent.is_dir():
        raise BackupRefused(f"the directory {target.parent} does not exist")
    if target.is_dir():
        raise BackupRefused(f"{target} is a directory, not a database file")
    if target.exists() and target.resolve() == backup_path.resolve():
        raise BackupRefused("the backup cannot be restored over itself")
    held = holdings(target)
    if held and not force:
        raise BackupRefused(
            f"{target} holds data ({describe_holdings(held)}); restoring would replace it. "
            "Pass --force to replace it (back it up first: `coalition backup`)"
        )
    temporary = _temporary_beside(target, "restoring")
    try:
        _copy_file(backup_path, temporary, progress)
        with closing(sqlite3.connect(temporary, isolation_level=None)) as db:
            db.execute(f"DROP TABLE {META_TABLE}")
        if needs_migration:
            progress("migrating", 0, 1)
            migrate.upgrade(f"sqlite:///{temporary}")
            progress("migrating", 1, 1)
        _fsync_file(temporary)
        with _exclusive(target):
            os.replace(temporary, target)
            _fsync_directory(target.parent)
    finally:
        _remove_with_sidecars(temporary)
    return info, needs_migration


def _copy_file(source: Path, destination: Path, progress: Progress) -> None:
    total = source.stat().st_size
    done = 0
    with source.open("rb") as reading, destination.open("xb") as writing:
        while chunk := reading.read(COPY_CHUNK_BYTES):
            writing.write(chunk)
            done += len(chunk)
            progress("copying", done, total)
        writing.flush()
        os.fsync(writing.fileno())


@contextmanager
def _exclusive(target: Path) -> Iterator[None]:
    """Hold the target while it is replaced, refusing if anyone else has it open.

    A server with the file open would keep writing to the replaced file (lost), and a WAL or rollback journal left
    beside the new file would be replayed into it; leaving WAL mode needs the only connection and folds the WAL in.
    """
    if not target.exists():
        yield
        return
    try:
        db = _connect_existing(target, timeout_seconds=2.0)
    except sqlite3.DatabaseError:
        yield  # not a database (forced over): nothing can have it open as one
        return
    with closing(db):
        try:
            mode = str(db.execute("PRAGMA journal_mode=DELETE").fetchone()[0])
        except sqlite3.OperationalError:
            mode = "locked"
        except sqlite3.DatabaseError:
            mode = "delete"  # not a database (forced over)
        if mode != "delete":
            raise BackupRefused(
                f"{target} is in use (is the server running?): stop every process using it, then restore"
            )
        for suffix in ("-wal", "-journal"):
            if Path(f"{target}{suffix}").exists():
                raise BackupRefused(f"{target}{suffix} exists: another process is writing; stop it, then restore")
        yield
