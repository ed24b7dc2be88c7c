"""A partner's catalogue from files (issue 17, docs/files.md "Products and categories"), over the admin API on both
engines: categories and products imported, listed and exported (an export imports again with every row unchanged),
the same file twice writing nothing, bad rows refused whole with their row and column, partial mode answering the
rejected rows as a file, a cp1251 file with semicolons, an XLSX file, another network's partner refused, a category
tree without cycles; and a purchase whose lines send only SKU and quantity, priced and categorised by the catalogue
(the worked example of docs/files.md)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from coalition.application.file_exchange.table import FileFormat
from coalition.application.file_exchange.writing import table_bytes
from coalition.wiring import Services
from tests.support import assert_problem, auth, client, enrol, make_network, new_key

pytestmark = pytest.mark.anyio

CATEGORIES = "code,name,parent\ndrinks,Drinks,\ncoffee,Coffee,drinks\nbakery,Bakery,\n"
PRODUCTS = "sku,name,category,price,active\nlatte,Latte,coffee,150.00,yes\ncroissant,Croissant,bakery,100.00,\n"


async def _import(
    http: httpx.AsyncClient, key: str, what: str, partner_id: int, data: bytes, name: str = "file.csv", **form: Any
) -> httpx.Response:
    return await http.post(
        f"/v1/admin/imports/{what}",
        params={"partner_id": partner_id},
        files={"file": (name, data)},
        data={k: str(v).lower() if isinstance(v, bool) else v for k, v in form.items()},
        headers=auth(key),
    )


async def _partner(services: Services, terminal_key: str) -> int:
    return (await services.pos.authenticate(terminal_key)).partner_id


async def test_a_catalogue_imports_lists_exports_and_the_same_file_again_changes_nothing(services: Services) -> None:
    net = await make_network(services)
    shop = await _partner(services, net.shop_key)
    async with client(services) as http:
        categories = await _import(http, net.admin_key, "categories", shop, CATEGORIES.encode())
        assert categories.status_code == 200, categories.text
        assert {k: categories.json()[k] for k in ("rows_read", "created", "updated", "unchanged", "rejected")} == {
            "rows_read": 3, "created": 3, "updated": 0, "unchanged": 0, "rejected": 0,
        }  # fmt: skip
        products = (await _import(http, net.admin_key, "products", shop, PRODUCTS.encode())).json()
        assert (products["created"], products["unchanged"]) == (2, 0), products
        again = (await _import(http, net.admin_key, "products", shop, PRODUCTS.encode())).json()
        assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
        changed = PRODUCTS.replace("150.00", "160.00")
        moved = (await _import(http, net.admin_key, "products", shop, changed.encode())).json()
        assert (moved["created"], moved["updated"], moved["unchanged"]) == (0, 1, 1)

        listed = await http.get(
            "/v1/admin/products", params={"partner_id": shop, "limit": 1}, headers=auth(net.admin_key)
        )
        assert listed.status_code == 200, listed.text
        first = listed.json()
        assert [p["sku"] for p in first["products"]] == ["latte"] and first["products"][0]["price"] == "160.00"
        rest = await http.get(
            "/v1/admin/products", params={"cursor": first["next_cursor"]}, headers=auth(net.admin_key)
        )
        assert [p["sku"] for p in rest.json()["products"]] == ["croissant"] and rest.json()["next_cursor"] is None
        coffee = await http.get(
            "/v1/admin/products", params={"category": "coffee", "q": "LAT"}, headers=auth(net.admin_key)
        )
        assert [p["sku"] for p in coffee.json()["products"]] == ["latte"]
        tree = await http.get(
            "/v1/admin/product-categories", params={"category": "drinks"}, headers=auth(net.admin_key)
        )
        assert [(c["code"], c["parent"]) for c in tree.json()["categories"]] == [("coffee", "drinks")]

        for what in ("products", "categories"):
            for file_format in ("csv", "xlsx"):
                exported = await http.get(
                    f"/v1/admin/exports/{what}",
                    params={"partner_id": shop, "format": file_format},
                    headers=auth(net.admin_key),
                )
                assert exported.status_code == 200, exported.text
                back = await _import(http, net.admin_key, what, shop, exported.content, f"export.{file_format}")
                body = back.json()
                assert (body["created"], body["updated"], body["unchanged"]) == (0, 0, 3 if what == "categories" else 2)


async def test_bad_rows_refuse_the_file_with_row_and_column_and_partial_answers_them(services: Services) -> None:
    net = await make_network(services)
    shop = await _partner(services, net.shop_key)
    text = (
        "sku,name,category,price,active\n"
        "latte,Latte,coffee,150.00,yes\n"
        ",No sku,coffee,1.00,yes\n"  # row 3: the key is missing
        "tea,Tea,drinks,12.345,yes\n"  # row 4: too many decimals for roubles
        "cake,Cake,bakery,-5,yes\n"  # row 5: a negative price
        "latte,Latte again,coffee,1.00,yes\n"  # row 6: the SKU of row 2
        "huge,Huge,,100000000.01,yes\n"  # row 7: above the network's limit on a unit price
        "bun,Bun,bakery,=1+1,yes\n"  # row 8: a formula
        f"{'x' * 101},Long,,,\n"  # row 9: a SKU over 100 characters
        "pie,Pie,bakery,5.00,maybe\n"  # row 10
    )
    async with client(services) as http:
        refused = await _import(http, net.admin_key, "products", shop, text.encode())
        body = assert_problem(refused, 422, "file-refused")
        where = {(e["row"], e["column"]) for e in body["file_errors"]}
        assert where == {
            (3, "sku"), (4, "price"), (5, "price"), (6, "sku"), (7, "price"), (8, "price"), (9, "sku"), (10, "active"),
        }  # fmt: skip
        nothing = await http.get("/v1/admin/products", headers=auth(net.admin_key))
        assert nothing.json()["products"] == []

        partial = await _import(http, net.admin_key, "products", shop, text.encode(), partial=True)
        answer = partial.json()
        assert (answer["created"], answer["rejected"]) == (1, 8), answer
        rejects = base64.b64decode(answer["rejects"]["content_base64"]).decode("utf-8-sig")
        lines = rejects.strip().splitlines()
        assert lines[0] == "sku,name,category,price,active,error" and len(lines) == 9
        assert "tea,Tea,drinks,12.345,yes," in rejects

        nul = await _import(http, net.admin_key, "products", shop, b"sku,name\nab\x01c,Bad\n")
        assert_problem(nul, 422, "file-refused")


async def test_windows_cp1251_with_semicolons_and_xlsx_are_read(services: Services) -> None:
    net = await make_network(services)
    shop = await _partner(services, net.shop_key)
    text = "sku;name;category;price;active\nчай-1;Чай чёрный;чай;99,90;да\nкофе-1;Кофе;кофе;1 250,00;нет\n"
    async with client(services) as http:
        answer = (await _import(http, net.admin_key, "products", shop, text.encode("cp1251"))).json()
        assert (answer["encoding"], answer["delimiter"], answer["created"]) == ("cp1251", ";", 2), answer
        found = (await http.get("/v1/admin/products", headers=auth(net.admin_key))).json()["products"]
        assert [(p["sku"], p["name"], p["price"], p["active"]) for p in found] == [
            ("чай-1", "Чай чёрный", "99.90", True),
            ("кофе-1", "Кофе", "1250.00", False),
        ]
        workbook = table_bytes(
            FileFormat.XLSX, ["code", "name", "parent"], [["tea", "Tea", ""], ["green", "Green", "tea"]]
        )
        xlsx = (await _import(http, net.admin_key, "categories", shop, workbook, "cats.xlsx")).json()
        assert (xlsx["format"], xlsx["created"]) == ("xlsx", 2), xlsx


async def test_a_partner_of_another_network_and_a_broken_tree_are_refused(services: Services) -> None:
    net = await make_network(services)
    other = await make_network(services, "other")
    foreign = await _partner(services, other.shop_key)
    shop = await _partner(services, net.shop_key)
    async with client(services) as http:
        refused = await _import(http, net.admin_key, "products", foreign, PRODUCTS.encode())
        assert_problem(refused, 404, "not-found", field="partner_id")
        exported = await http.get(
            "/v1/admin/exports/products", params={"partner_id": foreign}, headers=auth(net.admin_key)
        )
        assert_problem(exported, 404, "not-found", field="partner_id")
        tree = "code,name,parent\na,A,b\nb,B,a\nc,C,nowhere\nd,D,\ne,E,d\n"
        body = assert_problem(
            await _import(http, net.admin_key, "categories", shop, tree.encode()), 422, "file-refused"
        )
        assert {(e["row"], e["column"]) for e in body["file_errors"]} == {(2, "parent"), (3, "parent"), (4, "parent")}
        partial = (await _import(http, net.admin_key, "categories", shop, tree.encode(), partial=True)).json()
        assert (partial["created"], partial["rejected"]) == (2, 3)
        child = (await _import(http, net.admin_key, "categories", shop, b"code,name,parent\nf,F,e\n")).json()
        assert child["created"] == 1  # its parent is stored
        cycle = await _import(http, net.admin_key, "categories", shop, b"code,name,parent\nd,D,f\n")
        body = assert_problem(cycle, 422, "file-refused")  # d -> f -> e -> d through the stored tree
        assert body["file_errors"][0]["column"] == "parent"


PAGE = Path(__file__).parents[2] / "docs" / "files.md"


def _example() -> tuple[Any, bytes, bytes, str]:
    """docs/files.md's worked example: the rules, the categories and products files, and the till's request."""
    text = PAGE.read_text(encoding="utf-8")
    section = text[text.index("## Products and categories") : text.index("## For developers")]
    rules, categories, products = re.findall(r"```text\n(.*?)```", section, re.S)
    (request,) = re.findall(r"```json\n(.*?)```", section, re.S)
    return yaml.safe_load(rules), categories.encode(), products.encode(), request


async def test_lines_with_only_a_sku_take_category_and_price_from_the_catalogue(services: Services) -> None:
    """docs/files.md's worked example: 2 lattes at 150.00 (coffee) and a croissant at 100.00 (bakery) sent as SKU
    and quantity; 3 % of 400.00 = 12 points and 5 % extra on the coffee's 300.00 = 15 points: 27 points."""
    rules, categories, products, request = _example()
    net = await make_network(services)
    saved = await services.rules.save_draft(net.ref, rules)
    assert saved["errors"] == 0, saved
    await services.rules.publish(net.ref, None)
    shop = await _partner(services, net.shop_key)
    async with client(services) as http:
        assert (await _import(http, net.admin_key, "categories", shop, categories)).json()["created"] == 3
        assert (await _import(http, net.admin_key, "products", shop, products)).json()["created"] == 2
        again = (await _import(http, net.admin_key, "products", shop, products)).json()
        assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
        await enrol(http, net.shop_key, "7001")
        body = {key: value for key, value in json.loads(request).items() if key != "receipt"}
        quoted = await http.post("/v1/purchases/quote", json=body, headers=auth(net.shop_key))
        assert quoted.status_code == 200, quoted.text
        bought = await http.post("/v1/purchases", json=body | {"receipt": "C-1"}, headers=auth(net.shop_key, new_key()))
        assert bought.status_code in (200, 201), bought.text
        assert bought.json()["points_earned"] == quoted.json()["points_to_earn"] == 27, bought.json()
        # the cafe's till does not see the shop's catalogue: its line has no price
        refused = await http.post(
            "/v1/purchases", json=body | {"receipt": "C-2"}, headers=auth(net.cafe_key, new_key())
        )
        assert_problem(refused, 422, "invalid-input", field="items[0].unit_price")
        # a line that sends its own price and category keeps them
        own = [{"sku": "latte", "quantity": 1, "unit_price": "200.00", "category": "tea"}]
        kept = await http.post(
            "/v1/purchases/quote", json={"customer": "7001", "items": own}, headers=auth(net.shop_key)
        )
        assert kept.json()["points_to_earn"] == 6, kept.text
        batch = await http.post(
            "/v1/purchases/batch",
            json={"purchases": [body | {"receipt": "B-1", "idempotency_key": new_key()}]},
            headers=auth(net.shop_key, new_key()),
        )
        assert batch.status_code == 200, batch.text
        assert batch.json()["results"][0]["body"]["points_earned"] == 27, batch.json()
