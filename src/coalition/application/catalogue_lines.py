"""A basket's lines completed from the till's partner's catalogue (docs/files.md "Products and categories"): a line
that names a SKU the catalogue has and sends no `category` gets the product's category (so rules that select by
category match it), and one without `unit_price` gets its list price. Read only when some line lacks one of them:
one query for those SKUs, none otherwise, so a purchase by amount or with whole lines costs what it did."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from coalition.application.commands import ItemInput
from coalition.application.pos_ports.reference import CatalogueEntry, TerminalContext
from coalition.domain.money import format_minor


class CatalogueReader(Protocol):
    async def catalogue_entries(
        self, network_id: int, partner_id: int, skus: list[str]
    ) -> dict[str, CatalogueEntry]: ...


async def completed_items(
    uow: CatalogueReader, ctx: TerminalContext, items: tuple[ItemInput, ...], currency: str
) -> tuple[ItemInput, ...]:
    """The items with the catalogue's category and price where they sent none; the same tuple when none lacks
    them or the catalogue has none of their SKUs (parse_basket then refuses a line still without its price)."""
    if not items:  # most purchases send only their amount
        return items
    return (await completed_baskets(uow, ctx, (items,), currency))[0]


async def completed_baskets(
    uow: CatalogueReader, ctx: TerminalContext, baskets: Sequence[tuple[ItemInput, ...]], currency: str
) -> list[tuple[ItemInput, ...]]:
    """Every basket of a batch completed with one read for all of them (none when no line lacks anything)."""
    skus = sorted(
        {
            item.sku.strip()
            for items in baskets
            for item in items
            if (item.category is None or item.unit_price is None) and isinstance(item.sku, str) and item.sku.strip()
        }
    )
    entries = await uow.catalogue_entries(ctx.network_id, ctx.partner_id, skus) if skus else {}
    if not entries:
        return list(baskets)
    return [tuple(_completed(item, entries, currency) for item in items) for items in baskets]


def _completed(item: ItemInput, entries: dict[str, CatalogueEntry], currency: str) -> ItemInput:
    entry = entries.get(item.sku.strip()) if isinstance(item.sku, str) else None
    if entry is None or (item.category is not None and item.unit_price is not None):
        return item
    category = item.category if item.category is not None else entry.category
    price = item.unit_price
    if price is None and entry.price_minor is not None:
        price = format_minor(entry.price_minor, currency)
    return replace(item, category=category, unit_price=price)
