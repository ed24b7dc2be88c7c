"""The watched folder exports the members file when asked (`{"what": "members"}`), and that file imported into an
empty network through another watched folder gives the same members and balances (issue 17, point 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coalition.adapters.sync_folder import SyncFolder, sync_once
from coalition.wiring import Services
from tests.cli.test_sync_folder import _balances, _members
from tests.support import make_network

pytestmark = pytest.mark.anyio


async def test_the_folder_exports_the_members_file_and_it_imports_into_an_empty_network(
    services: Services, tmp_path: Path
) -> None:
    first, second = await make_network(services), await make_network(services, "other")
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    (inbox / "members-1.csv").write_bytes(_members(3))
    lines: list[str] = []
    folder = SyncFolder(inbox, outbox, first.ref.id)
    assert await sync_once(services, folder, lines.append, resume=True) == 1
    (inbox / "export-members.request").write_text(json.dumps({"what": "members", "format": "xlsx"}))
    assert await sync_once(services, folder, lines.append) == 1
    exported = json.loads((outbox / "export-members.request.result.json").read_text())
    assert exported["status"] == "exported" and exported["export_file"] == "export-members.xlsx"
    data = (outbox / "export-members.xlsx").read_bytes()
    assert data[:2] == b"PK" and exported["bytes"] == len(data)  # an XLSX (a zip)

    other_inbox, other_outbox = tmp_path / "in2", tmp_path / "out2"
    other_inbox.mkdir()
    (other_inbox / "members-copy.xlsx").write_bytes(data)
    assert await sync_once(services, SyncFolder(other_inbox, other_outbox, second.ref.id), lines.append) == 1
    imported = json.loads((other_outbox / "members-copy.xlsx.result.json").read_text())
    assert imported["status"] == "imported" and imported["result"]["created"] == 3
    expected = await _balances(services, first.ref.id)
    assert expected and await _balances(services, second.ref.id) == expected
