"""A partner's catalogue imported from a file (docs/files.md "Products and categories"): every row checked first,
then upserted in one transaction.

A catalogue is one partner's (each shop has its own SKUs); the import names the partner, and a partner of another
network is refused. Rows are upserted by SKU (products) or code (categories); a row equal to what is stored is
`unchanged` and not written, so the same file a second time reports every row unchanged and writes nothing. A
category's parent must exist, in the file or stored, and no category may be its own ancestor. By default nothing is
written unless every row is valid, and every error comes back at once with its row, column and reason; with
`partial` the valid rows go in and the rejected ones come back as a file of the same columns and an `error` column.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from coalition.application.audit import AuditTrail, entry
from coalition.application.catalogue_files import (
    CATEGORY_COLUMNS,
    CatalogueKind,
    CategoryRecord,
    ProductRecord,
    category_record,
    product_columns,
    product_record,
)
from coalition.application.file_exchange.columns import TypedRow, typed_rows
from coalition.application.file_exchange.reading import read_table
from coalition.application.file_exchange.table import FileFormat, FileLimits, FileRefused, RawTable, RowError
from coalition.application.member_import import Clock, ImportOptions, rejects_file
from coalition.domain.errors import NotFound


@dataclass(frozen=True, slots=True)
class CataloguePricing:
    currency: str
    max_amount_minor: int


class CatalogueWritesPort(AuditTrail, Protocol):
    """What the catalogue import uses of one transaction."""

    async def partner_in_network(self, network_id: int, partner_id: int) -> bool: ...
    async def catalogue_pricing(self, network_id: int) -> CataloguePricing: ...
    async def stored_categories(self, network_id: int, partner_id: int) -> dict[str, CategoryRecord]: ...
    async def stored_products(
        self, network_id: int, partner_id: int, skus: Sequence[str]
    ) -> dict[str, ProductRecord]: ...
    async def upsert_categories(
        self,
        network_id: int,
        partner_id: int,
        new: Sequence[CategoryRecord],
        changed: Sequence[CategoryRecord],
        now: datetime,
    ) -> None: ...
    async def upsert_products(
        self,
        network_id: int,
        partner_id: int,
        new: Sequence[ProductRecord],
        changed: Sequence[ProductRecord],
        now: datetime,
    ) -> None: ...


class CatalogueUnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[CatalogueWritesPort]: ...


@dataclass(frozen=True, slots=True)
class CatalogueImportResult:
    network_id: int
    partner_id: int
    kind: CatalogueKind
    filename: str
    file_format: FileFormat
    encoding: str
    delimiter: str
    rows_read: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    errors: tuple[RowError, ...] = ()
    rejects: bytes | None = field(default=None, repr=False)

    def json(self) -> dict[str, Any]:
        return {
            "network_id": self.network_id,
            "partner_id": self.partner_id,
            "kind": self.kind.value,
            "filename": self.filename,
            "format": self.file_format.value,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "rows_read": self.rows_read,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": [error.json() for error in self.errors],
        }


@dataclass(slots=True)
class _Checked:
    good: list[tuple[int, Any]]  # (row number, record)
    errors: list[RowError]
    rejected: set[int]


class CatalogueImport:
    def __init__(self, unit_of_work: CatalogueUnitOfWorkFactory, clock: Clock, limits: FileLimits) -> None:
        self.unit_of_work = unit_of_work
        self.clock = clock
        self.limits = limits

    async def run(
        self, network_id: int, partner_id: int, kind: CatalogueKind, data: bytes, options: ImportOptions
    ) -> CatalogueImportResult:
        """The import's result; FileRefused (every error) when the file is refused and nothing was written."""
        table = read_table(
            data, filename=options.filename, limits=self.limits, encoding=options.encoding, delimiter=options.delimiter
        )
        now = self.clock.now()
        async with self.unit_of_work() as uow:
            if not await uow.partner_in_network(network_id, partner_id):
                raise NotFound(f"no partner {partner_id} in this network", field="partner_id")
            write: Callable[[], Awaitable[None]]
            if kind is CatalogueKind.CATEGORIES:
                checked, categories, changed_categories, unchanged = await _categories(
                    uow, network_id, partner_id, table
                )
                created, updated = len(categories), len(changed_categories)

                def write() -> Awaitable[None]:
                    return uow.upsert_categories(network_id, partner_id, categories, changed_categories, now)
            else:
                checked, products, changed_products, unchanged = await _products(uow, network_id, partner_id, table)
                created, updated = len(products), len(changed_products)

                def write() -> Awaitable[None]:
                    return uow.upsert_products(network_id, partner_id, products, changed_products, now)

            if checked.errors and not options.partial:
                raise FileRefused(checked.errors)
            result = CatalogueImportResult(
                network_id=network_id,
                partner_id=partner_id,
                kind=kind,
                filename=options.filename,
                file_format=table.file_format,
                encoding=table.encoding,
                delimiter=table.delimiter,
                rows_read=len(table.rows),
                created=created,
                updated=updated,
                unchanged=unchanged,
                rejected=len(checked.rejected),
                errors=tuple(checked.errors),
            )
            if created or updated:
                await write()
                after = {key: value for key, value in result.json().items() if key != "errors"}
                await uow.audit(entry(network_id, f"{kind.value}.import", "partner", str(partner_id), after=after))
        if checked.rejected:
            return replace(result, rejects=rejects_file(table, result.json()))
        return result


def _split(good: list[tuple[int, Any]], stored: dict[str, Any], key: str) -> tuple[list[Any], list[Any], int]:
    new: list[Any] = []
    changed: list[Any] = []
    unchanged = 0
    for _, record in good:
        before = stored.get(getattr(record, key))
        if before is None:
            new.append(record)
        elif before == record:
            unchanged += 1
        else:
            changed.append(record)
    return new, changed, unchanged


def _typed(table: RawTable, columns: Any, key: str) -> tuple[list[TypedRow], list[RowError], set[int]]:
    typed = typed_rows(table, columns, lambda values: values[key])
    return list(typed.rows), list(typed.errors), {row.number for row in typed.rejected}


async def _products(
    uow: CatalogueWritesPort, network_id: int, partner_id: int, table: RawTable
) -> tuple[_Checked, list[ProductRecord], list[ProductRecord], int]:
    pricing = await uow.catalogue_pricing(network_id)
    rows, errors, rejected = _typed(table, product_columns(pricing.currency, pricing.max_amount_minor), "sku")
    good = [(row.number, product_record(row.values, pricing.currency)) for row in rows]
    stored = await uow.stored_products(network_id, partner_id, [record.sku for _, record in good])
    new, changed, unchanged = _split(good, stored, "sku")
    return _Checked(good, errors, rejected), new, changed, unchanged


async def _categories(
    uow: CatalogueWritesPort, network_id: int, partner_id: int, table: RawTable
) -> tuple[_Checked, list[CategoryRecord], list[CategoryRecord], int]:
    rows, errors, rejected = _typed(table, CATEGORY_COLUMNS, "code")
    stored = await uow.stored_categories(network_id, partner_id)
    good = [(row.number, category_record(row.values)) for row in rows]
    good, tree_errors = _tree_checked(good, stored)
    errors.extend(tree_errors)
    rejected.update(error.row for error in tree_errors)
    errors.sort(key=lambda error: error.row)
    new, changed, unchanged = _split(good, stored, "code")
    return _Checked(good, errors, rejected), new, changed, unchanged


def _tree_checked(
    good: list[tuple[int, CategoryRecord]], stored: dict[str, CategoryRecord]
) -> tuple[list[tuple[int, CategoryRecord]], list[RowError]]:
    """The rows whose parent exists (in the file's valid rows or stored) and that are not their own ancestor; the
    others refused on their `parent` column. A row whose parent is refused is refused in turn."""
    errors: list[RowError] = []
    kept = list(good)
    while True:
        parents = {**{code: record.parent_code for code, record in stored.items()}}
        parents.update({record.code: record.parent_code for _, record in kept})
        refused: dict[int, str] = {}
        for number, record in kept:
            parent = record.parent_code
            if parent is None:
                continue
            if parent not in parents:
                refused[number] = f"no category {parent!r}, in the file or stored"
                continue
            seen = {record.code}
            while parent is not None and parent in parents:
                if parent in seen:
                    refused[number] = f"the category {record.code!r} would be its own ancestor (through {parent!r})"
                    break
                seen.add(parent)
                parent = parents[parent]
        if not refused:
            return kept, errors
        errors.extend(RowError(number, "parent", reason) for number, reason in refused.items())
        kept = [(number, record) for number, record in kept if number not in refused]
