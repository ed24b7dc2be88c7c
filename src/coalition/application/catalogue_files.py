"""The catalogue files (docs/files.md "Products and categories"): a partner's product categories (`code,name,parent`)
and products (`sku,name,category,price,active`), their columns, a row typed into a record, and a stored record
written back as a row. The import (catalogue_import.py) and the export share these, so an export imports again.

A price is in major units of the network's currency ("12.50"; a decimal comma is read too: "12,50"), within the
network's limit on a unit price; an empty price is no list price. Texts are bounded: a SKU or a code as a basket's
SKU (application/basket.py MAX_SKU_LENGTH), a name at 200 characters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from coalition.application.basket import MAX_SKU_LENGTH
from coalition.application.file_exchange.columns import Column, boolean, text_up_to
from coalition.domain.errors import InvalidInput
from coalition.domain.money import format_minor, parse_amount_minor

MAX_NAME_LENGTH = 200


class CatalogueKind(StrEnum):
    PRODUCTS = "products"
    CATEGORIES = "categories"


@dataclass(frozen=True, slots=True)
class CategoryRecord:
    code: str
    name: str
    parent_code: str | None


@dataclass(frozen=True, slots=True)
class ProductRecord:
    sku: str
    name: str
    category_code: str | None
    price_minor: int | None
    currency: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class StoredCategory:
    id: int
    partner_id: int
    record: CategoryRecord
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StoredProduct:
    id: int
    partner_id: int
    record: ProductRecord
    updated_at: datetime


def price_parser(currency: str, max_amount_minor: int) -> Callable[[str], int]:
    """A price cell in major units ("12.50", "12,50", "1 250.00") as minor units within the network's limit."""

    def parse(text: str) -> int:
        cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
        if "," in cleaned and "." not in cleaned:
            cleaned = cleaned.replace(",", ".")
        try:
            minor = parse_amount_minor(cleaned, currency, field="price")
        except InvalidInput as error:
            raise ValueError(error.detail) from None
        if minor > max_amount_minor:
            raise ValueError(f"a unit price is at most {format_minor(max_amount_minor, currency)} {currency} here")
        return minor

    return parse


def _code(text: str) -> str:
    if len(text) > MAX_SKU_LENGTH:
        raise ValueError(f"at most {MAX_SKU_LENGTH} characters, not {len(text)}")
    return text


CATEGORY_COLUMNS: tuple[Column, ...] = (
    Column("code", _code, True, None, f"text up to {MAX_SKU_LENGTH} characters, the key"),
    Column("name", text_up_to(MAX_NAME_LENGTH), True, None, f"text up to {MAX_NAME_LENGTH} characters"),
    Column("parent", _code, False, None, "the parent category's code (in the file or stored); empty: a top category"),
)


def product_columns(currency: str, max_amount_minor: int) -> tuple[Column, ...]:
    return (
        Column("sku", _code, True, None, f"text up to {MAX_SKU_LENGTH} characters, the key"),
        Column("name", text_up_to(MAX_NAME_LENGTH), True, None, f"text up to {MAX_NAME_LENGTH} characters"),
        Column("category", _code, False, None, "a category's code; rules that select by category see it"),
        Column(
            "price",
            price_parser(currency, max_amount_minor),
            False,
            None,
            "the list price in major units of the program's currency (12.50); empty: no list price",
        ),
        Column("active", boolean, False, True, "yes | no (empty: yes)"),
    )


CATEGORY_HEADER = tuple(column.name for column in CATEGORY_COLUMNS)
PRODUCT_HEADER = ("sku", "name", "category", "price", "active")


def category_record(values: dict[str, Any]) -> CategoryRecord:
    return CategoryRecord(values["code"], values["name"], values["parent"] or None)


def product_record(values: dict[str, Any], currency: str) -> ProductRecord:
    return ProductRecord(
        values["sku"], values["name"], values["category"] or None, values["price"], currency, bool(values["active"])
    )


def category_row(record: CategoryRecord) -> list[object]:
    return [record.code, record.name, record.parent_code or ""]


def product_row(record: ProductRecord) -> list[object]:
    price = "" if record.price_minor is None else format_minor(record.price_minor, record.currency)
    return [record.sku, record.name, record.category_code or "", price, "yes" if record.active else "no"]
