"""What the sync and async clients share for files (docs/files.md, docs/exports.md): an upload's form, an export's
query, where a download is written and what its answer says.

An import's file is at most 20 MiB (the server refuses more), so an upload is sent as it is read; an export has no
such bound, so it is written a chunk at a time as it arrives and never held whole. A download given a path is
written beside it (`<path>.part`) and renamed into place once complete, so a broken export leaves no half file.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import IO, Any

import httpx

from coalition_client import admin_models as admin
from coalition_client.errors import TransportError

Source = str | os.PathLike[str] | bytes | IO[bytes]
Destination = str | os.PathLike[str] | IO[bytes]
IMPORT_TIMEOUT_SECONDS = 600.0  # a file of 100,000 rows is checked and recorded in about a minute on a busy host
CHUNK_BYTES = 64 * 1024
DOWNLOAD_ACCEPT = {"Accept": "text/csv, application/vnd.openxmlformats-officedocument.spreadsheetml.sheet, */*"}
_MEDIA_TYPES = {".csv": "text/csv", ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
_FILENAME = re.compile(r'filename="?([^";]+)"?')


class Upload:
    """A file to import: a path (opened here, closed after), bytes or an open binary file; its name tells the server
    CSV from XLSX."""

    def __init__(self, source: Source, filename: str | None) -> None:
        self._opened: IO[bytes] | None = None
        if isinstance(source, bytes):
            self.content: IO[bytes] = io.BytesIO(source)
            name = filename
        elif isinstance(source, str | os.PathLike):
            path = Path(source)
            self._opened = self.content = path.open("rb")
            name = filename or path.name
        else:
            self.content = source
            name = filename or Path(str(getattr(source, "name", "") or "")).name or None
        if not name:
            raise ValueError("name the file (filename='members.csv'): its extension tells CSV from XLSX")
        self.filename = name
        self._start = self.content.tell() if self.content.seekable() else 0

    def parts(self, route_upload: str, options: admin.ImportOptions | None) -> dict[str, Any]:
        """The request's `data` and `files`, the file rewound for a retry."""
        if self.content.seekable():
            self.content.seek(self._start)
        chosen = options or admin.ImportOptions()
        data = {"partial": "true" if chosen.partial else "false"}
        if chosen.encoding is not None:
            data["encoding"] = chosen.encoding
        if chosen.delimiter is not None:
            data["delimiter"] = chosen.delimiter
        media_type = _MEDIA_TYPES.get(Path(self.filename).suffix.lower(), "application/octet-stream")
        return {"data": data, "files": {route_upload: (self.filename, self.content, media_type)}}

    def close(self) -> None:
        if self._opened is not None:
            self._opened.close()


def export_query(
    *,
    first_day: date | None = None,
    last_day: date | None = None,
    scope: admin.ExportScope | None = None,
    output: admin.ExportFormat | None = None,
    number: int | None = None,
) -> dict[str, Any]:
    chosen, where = output or admin.ExportFormat(), scope or admin.ExportScope()
    query: dict[str, Any] = {
        "from": first_day,
        "to": last_day,
        "format": chosen.format,
        "partner": where.partner,
        "outlet": where.outlet,
        "member": where.member,
        "number": number,
        "delimiter": chosen.delimiter,
        "encoding": chosen.encoding,
        "bom": None if chosen.bom is None else ("true" if chosen.bom else "false"),
    }
    return {name: value.isoformat() if isinstance(value, date) else value for name, value in query.items()}


@contextmanager
def target(destination: Destination) -> Iterator[IO[bytes]]:
    """Where the download's chunks go: a file of yours as it is, or a path written beside and renamed when whole."""
    if not isinstance(destination, str | os.PathLike):
        yield destination
        return
    path = Path(destination)
    partial = path.with_name(path.name + ".part")
    try:
        with partial.open("wb") as out:
            yield out
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def broken(response: httpx.Response, error: Exception) -> TransportError:
    """The export broke off after its first bytes were written: not retried (the bytes cannot be taken back)."""
    return TransportError(f"{response.request.method} {response.request.url}: the file broke off: {error}")


def download(response: httpx.Response, written: int) -> admin.Download:
    found = _FILENAME.search(response.headers.get("Content-Disposition", ""))
    media_type = response.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()
    return admin.Download(filename=found.group(1) if found else "", media_type=media_type, bytes_written=written)
