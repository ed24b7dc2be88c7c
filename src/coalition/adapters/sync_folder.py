"""The watched folder (`coalition sync`, docs/files.md "The sync folder"): for software that can only drop files.

Layout (DIR is --inbox, OUT is --outbox):

    DIR/members*.csv|xlsx      members with their cards and opening balances (the members import)
    DIR/purchases*.csv|xlsx    purchases made elsewhere
    DIR/refunds*.csv|xlsx      refunds of recorded purchases
    DIR/products-<partner id>*.csv|xlsx, DIR/categories-<partner id>*.csv|xlsx
                               a partner's catalogue, its id after the kind: products-12.csv, products-12-may.xlsx
    DIR/export-*.request       an export asked for: JSON {"what": "transactions", "from": "2026-12-01", ...}
                               (a catalogue: {"what": "products", "partner": 12})
    DIR/processing/            files claimed, being imported (a rename: atomic, so two processes never share one)
    DIR/done/, DIR/failed/     files processed, imported or refused
    OUT/<name>.result.json     what each file gave (the import's result, or every error with its row and column)
    OUT/<name>.rejects.<ext>   partial mode: the rejected rows
    OUT/<stem>.csv|xlsx        an export's file

One `coalition sync` watches an inbox at a time (a lock on `DIR/.sync.lock`). Names starting with `.` or `~`, and
other names, are left alone: write a file under another name (or elsewhere on
the same disk) and rename it into the inbox when complete. On start the files left in processing/ by a stopped
process are imported again first: the import is idempotent by the file's digest and by each row's key, so a
restart mid-file records nothing twice. Results are written to a temporary name and renamed.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from coalition.adapters.documents.tables import csv_options, export_format, write_table
from coalition.application.catalogue_files import CatalogueKind
from coalition.application.exports import ExportScope
from coalition.application.file_exchange.table import FileFormat, FileRefused
from coalition.application.member_import import ImportOptions
from coalition.application.report_tables import ExportRequest, export_table
from coalition.application.sales_files import SalesKind
from coalition.application.sales_import import SalesImportOptions
from coalition.domain.errors import DomainError
from coalition.wiring import Services

_IMPORTS = re.compile(r"(?P<kind>members|purchases|refunds)[^/\\]*\.(?:csv|xlsx)", re.IGNORECASE)
_CATALOGUE = re.compile(
    r"(?P<kind>products|categories)-(?P<partner>[1-9][0-9]{0,17})(?:[-_. ][^/\\]*)?\.(?:csv|xlsx)", re.IGNORECASE
)
_EXPORT = re.compile(r"export-[^/\\]*\.request", re.IGNORECASE)
MAX_REQUEST_BYTES = 64 * 1024
Log = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class SyncFolder:
    inbox: Path
    outbox: Path
    network_id: int
    partial: bool = False

    @property
    def processing(self) -> Path:
        return self.inbox / "processing"

    def prepare(self) -> None:
        for folder in (self.processing, self.inbox / "done", self.inbox / "failed", self.outbox):
            folder.mkdir(parents=True, exist_ok=True)


def wanted(name: str) -> bool:
    return bool(_IMPORTS.fullmatch(name) or _CATALOGUE.fullmatch(name) or _EXPORT.fullmatch(name))


def claim(folder: SyncFolder) -> list[Path]:
    """The inbox's files of known names, each renamed into processing/ (one that another process took is skipped)."""
    claimed: list[Path] = []
    for entry in sorted(folder.inbox.iterdir(), key=lambda path: path.name):
        if not entry.is_file() or not wanted(entry.name):
            continue
        target = folder.processing / entry.name
        if target.exists():  # the same name is still being processed: leave this one for the next round
            continue
        try:
            os.rename(entry, target)
        except FileNotFoundError:  # another process claimed it first
            continue
        claimed.append(target)
    return claimed


def left_in_processing(folder: SyncFolder) -> list[Path]:
    return sorted((p for p in folder.processing.iterdir() if p.is_file() and wanted(p.name)), key=lambda p: p.name)


async def sync_once(services: Services, folder: SyncFolder, log: Log, *, resume: bool = False) -> int:
    """One round: (on start) the files left in processing/, then the inbox's; the number of files processed."""
    folder.prepare()
    files = left_in_processing(folder) if resume else []
    files += claim(folder)
    for path in files:
        await process(services, folder, path, log)
    return len(files)


async def process(services: Services, folder: SyncFolder, path: Path, log: Log) -> bool:
    """Import (or export) one claimed file, write its result, and move it to done/ or failed/."""
    name = path.name
    log(f"{name}: processing")
    try:
        if _EXPORT.fullmatch(name):
            outcome = await _export(services, folder, path)
        else:
            outcome = await _import(services, folder, path)
        ok = True
    except FileRefused as refusal:
        outcome = {"status": "refused", "errors": [error.json() for error in refusal.errors[:1000]]}
        ok = False
    except DomainError as error:
        outcome = {"status": "refused", "errors": [{"row": 0, "column": error.field or "", "reason": error.detail}]}
        ok = False
    outcome = {"file": name, "processed_at": datetime.now(UTC).isoformat(), **outcome}
    _write_atomically(folder.outbox / f"{name}.result.json", json.dumps(outcome, ensure_ascii=False, indent=2).encode())
    _move(path, folder.inbox / ("done" if ok else "failed"))
    log(f"{name}: {'done' if ok else 'refused'}")
    return ok


async def _import(services: Services, folder: SyncFolder, path: Path) -> dict[str, Any]:
    catalogue = _CATALOGUE.fullmatch(path.name)
    match = catalogue or _IMPORTS.fullmatch(path.name)
    assert match is not None
    kind = match.group("kind").lower()
    data = path.read_bytes()
    if len(data) > services.settings.import_max_bytes:
        raise DomainError(f"the file has {len(data)} bytes; at most {services.settings.import_max_bytes} are taken")
    result: Any
    if catalogue is not None:
        partner_id = int(catalogue.group("partner"))
        result = await services.catalogue_import.run(
            folder.network_id, partner_id, CatalogueKind(kind), data, ImportOptions(path.name, partial=folder.partial)
        )
    elif kind == "members":
        result = await services.member_import.run(
            folder.network_id, data, ImportOptions(path.name, partial=folder.partial)
        )
    else:
        options = SalesImportOptions(path.name, partial=folder.partial)
        result = await services.sales_import.run(folder.network_id, SalesKind(kind), data, options)
    answer: dict[str, Any] = {"status": "imported", "result": result.json()}
    if result.rejects is not None:
        rejects = folder.outbox / f"{path.stem}.rejects{path.suffix.lower()}"
        _write_atomically(rejects, result.rejects)
        answer["rejects_file"] = rejects.name
    return answer


async def _export(services: Services, folder: SyncFolder, path: Path) -> dict[str, Any]:
    """An export asked for by a request file: JSON with `what` (members, transactions, balances, statement, a report),
    optional `from`, `to` (days), `partner`, `outlet`, `member`, `number` (a statement), `format` (csv, xlsx),
    `delimiter`, `encoding`, `bom`."""
    raw = path.read_bytes()[:MAX_REQUEST_BYTES]
    try:
        asked = json.loads(raw.decode("utf-8-sig"))
        if not isinstance(asked, dict):
            raise ValueError("a JSON object")
        what = str(asked["what"])
        first = _day(asked.get("from"))
        last = _day(asked.get("to"))
        scope = ExportScope(folder.network_id, _id(asked, "partner"), _id(asked, "outlet"), _id(asked, "member"))
        fmt = export_format(str(asked.get("format", "csv")))
        options = csv_options(
            str(asked.get("delimiter", "comma")), str(asked.get("encoding", "utf-8")), bool(asked.get("bom", False))
        )
        number = _id(asked, "number")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise DomainError(f"the request is a JSON object with at least 'what' ({error})", field="request") from None
    out = folder.outbox / f"{path.stem}.{fmt}"
    if what in ("members", "products", "categories"):  # the import's columns, so the file imports again
        if what == "members":
            data = await services.member_export.file(folder.network_id, FileFormat(fmt))
        else:
            partner = scope.partner_id
            if partner is None:
                raise DomainError(f"a {what} export names its 'partner' (an id)", field="partner")
            data = await services.catalogue.file(folder.network_id, partner, CatalogueKind(what), FileFormat(fmt))
        _write_atomically(out, data)
        return {"status": "exported", "export_file": out.name, "bytes": len(data)}
    table = await export_table(services.report_tables, ExportRequest(what, scope, first, last, number))
    partial = out.with_name(f".{out.name}.part")
    with partial.open("wb") as file:
        written = await write_table(table, fmt, options, file)
    os.replace(partial, out)
    return {"status": "exported", "export_file": out.name, "bytes": written}


def _day(value: object) -> date | None:
    return None if value in (None, "") else date.fromisoformat(str(value))


def _id(asked: dict[str, Any], name: str) -> int | None:
    value = asked.get(name)
    if value in (None, ""):
        return None
    number = int(value)
    if number <= 0:
        raise ValueError(f"{name} is a positive id")
    return number


def _write_atomically(target: Path, data: bytes) -> None:
    temporary = target.with_name(f".{target.name}.part")
    temporary.write_bytes(data)
    os.replace(temporary, target)


def _move(path: Path, folder: Path) -> None:
    target = folder / path.name
    if target.exists():  # a file of the same name processed before: keep both
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        target = folder / f"{path.stem}.{stamp}{path.suffix}"
    os.replace(path, target)


async def watch(
    services: Services,
    folder: SyncFolder,
    log: Log,
    interval: float,
    once: bool,
    sleep: Callable[[float], Awaitable[None]],
) -> int:
    """Resume what processing/ holds, then poll the inbox every `interval` seconds (or one round with `once`).

    One process watches an inbox: it holds an exclusive lock on `DIR/.sync.lock` while it runs (the kernel lets
    go of it when the process ends, even killed), and a second process is refused instead of resuming the first's
    files under it."""
    folder.prepare()
    with (folder.inbox / ".sync.lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DomainError("another coalition sync is watching this inbox", field="inbox") from None
        processed = await sync_once(services, folder, log, resume=True)
        while not once:
            await sleep(interval)
            processed += await sync_once(services, folder, log)
        return processed
