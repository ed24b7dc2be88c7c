"""The console's Catalogue page in Chromium on a phone (360 px): the administrator uploads a products file with a
bad price and sees it refused at its row and column, then the corrected file (Windows-1251, semicolons, a decimal
comma) and sees what it created and the products listed; the same file again reports every row unchanged; the page
fits the phone's width."""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.web.conftest import LiveServer
from tests.web.layout import scroll_width_px
from tests.web.test_console_members_browser import sign_in_as_administrator

GOOD = "sku;name;category;price;active\nlatte;Латте;coffee;150,00;да\ncroissant;Круассан;bakery;100,00;\n"


def test_a_products_file_refused_then_imported_and_listed(demo_template: Path, tmp_path: Path, page: Page) -> None:
    database = tmp_path / "web.db"
    shutil.copyfile(demo_template, database)
    bad_file, good_file = tmp_path / "products-bad.csv", tmp_path / "products.csv"
    bad_file.write_bytes(GOOD.replace("100,00", "cheap").encode("cp1251"))
    good_file.write_bytes(GOOD.encode("cp1251"))
    with LiveServer(f"sqlite:///{database}") as server:
        sign_in_as_administrator(page, server, "/console/catalogue")
        expect(page.get_by_role("heading", name="Import products or categories")).to_be_visible()
        page.get_by_label("The file holds").select_option("products")
        page.locator("#import-file").set_input_files(str(bad_file))
        page.get_by_role("button", name="Import", exact=True).click()
        expect(page.locator("#import-refused")).to_be_visible()
        row = page.locator("#import-errors tbody tr").first
        expect(row).to_contain_text("3")
        expect(row).to_contain_text("price")

        page.locator("#import-file").set_input_files(str(good_file))
        page.get_by_role("button", name="Import", exact=True).click()
        expect(page.locator("#created")).to_have_text("2")
        expect(page.locator("#products tbody")).to_contain_text("Латте")
        expect(page.locator("#products tbody")).to_contain_text("150.00")

        page.locator("#import-file").set_input_files(str(good_file))
        page.get_by_role("button", name="Import", exact=True).click()
        expect(page.locator("#unchanged")).to_have_text("2")
        expect(page.locator("#created")).to_have_text("0")
        assert scroll_width_px(page) <= 360
