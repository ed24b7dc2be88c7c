"""A partner's catalogue on the command line (`coalition import|export products|categories`, SQLite) and through the
sync folder (both engines): imported, the same file again unchanged, a refused file printing row and column (exit 2,
nothing written), partial mode writing the rejects, an export imported back unchanged; the sync folder's
products-<partner>.csv and a catalogue export request."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from coalition.adapters.sync_folder import SyncFolder, sync_once, wanted
from coalition.wiring import Services
from tests.cli.test_cli import demo_json, run, url
from tests.support import make_network

__all__ = ["url"]  # the fixture

PRODUCTS = "sku;name;category;price;active\nlatte;Латте;coffee;150,00;да\ncroissant;Круассан;bakery;100.00;\n"


def _partner(url: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        return int(connection.execute("SELECT MIN(id) FROM partners").fetchone()[0])


def _products(url: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM products").fetchone()[0])


def test_import_export_products_on_the_command_line(url: str, tmp_path: Path) -> None:
    demo_json(url)
    partner = str(_partner(url))
    source = tmp_path / "products.csv"
    source.write_bytes(PRODUCTS.encode("cp1251"))
    common = ["--network", "demo", "--partner", partner, "--database-url", url]
    first = run("import", "products", str(source), *common, "--json")
    assert first.exit_code == 0, first.output
    result = json.loads(first.stdout.strip().splitlines()[-1])
    assert (result["created"], result["encoding"], result["delimiter"]) == (2, "cp1251", ";")
    again = run("import", "products", str(source), *common)
    assert again.exit_code == 0 and "0 created, 0 updated, 2 unchanged, 0 rejected" in again.output, again.output

    bad = tmp_path / "bad.csv"
    bad.write_text("sku,name,price\ntea,Tea,1.2.3\n")
    refused = run("import", "products", str(bad), *common)
    assert refused.exit_code == 2 and "price" in refused.output, refused.output
    assert _products(url) == 2

    rejects = tmp_path / "rejects.csv"
    partial = tmp_path / "partial.csv"
    partial.write_text("sku,name,price\ntea,Tea,1.2.3\ncake,Cake,5.00\n")
    taken = run("import", "products", str(partial), *common, "--partial", "--rejects", str(rejects))
    assert taken.exit_code == 0 and "1 created" in taken.output, taken.output
    assert "tea,Tea,1.2.3" in rejects.read_text("utf-8-sig")

    out = tmp_path / "export.xlsx"
    exported = run("export", "products", "--out", str(out), "--format", "xlsx", *common)
    assert exported.exit_code == 0, exported.output
    back = run("import", "products", str(out), *common)
    assert "0 created, 0 updated, 3 unchanged" in back.output, back.output

    foreign = run(
        "import", "categories", str(source), "--network", "demo", "--partner", "999999", "--database-url", url
    )
    assert foreign.exit_code == 2 and "partner_id" in foreign.output, foreign.output


@pytest.mark.anyio
async def test_the_sync_folder_takes_a_partners_catalogue_and_exports_it(services: Services, tmp_path: Path) -> None:
    net = await make_network(services)
    partner = (await services.pos.authenticate(net.shop_key)).partner_id
    folder = SyncFolder(tmp_path / "in", tmp_path / "out", net.ref.id)
    folder.prepare()
    assert wanted(f"products-{partner}.csv") and wanted("categories-7-may.xlsx")
    assert not wanted("products.csv")  # no partner: left alone
    (folder.inbox / f"categories-{partner}.csv").write_text("code,name,parent\ncoffee,Coffee,\n")
    (folder.inbox / f"products-{partner}.csv").write_bytes(PRODUCTS.encode("cp1251"))
    assert await sync_once(services, folder, lambda line: None) == 2
    request = {"what": "products", "partner": partner, "format": "csv"}
    (folder.inbox / "export-zz-products.request").write_text(json.dumps(request))
    assert await sync_once(services, folder, lambda line: None) == 1
    categories = json.loads((folder.outbox / f"categories-{partner}.csv.result.json").read_text())
    assert categories["status"] == "imported" and categories["result"]["created"] == 1
    products = json.loads((folder.outbox / f"products-{partner}.csv.result.json").read_text())
    assert products["result"]["created"] == 2, products
    exported = (folder.outbox / "export-zz-products.csv").read_bytes().decode("utf-8-sig")
    assert exported.splitlines()[0] == "sku,name,category,price,active" and "latte,Латте,coffee,150.00,yes" in exported
    (folder.inbox / f"products-{partner}-again.csv").write_bytes(PRODUCTS.encode("cp1251"))
    await sync_once(services, folder, lambda line: None)
    again = json.loads((folder.outbox / f"products-{partner}-again.csv.result.json").read_text())
    assert (again["result"]["created"], again["result"]["unchanged"]) == (0, 2)
