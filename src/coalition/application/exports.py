"""Exports (issue 17, point 1): the ledger's transactions, members' balances, settlement statements and every console
report as a table for a period and a scope, written as CSV or XLSX by one writer (adapters/documents/tables.py).

A table is a header and its rows in chunks (`Table.chunks`, an async iterator), so the largest export, the ledger's
postings, is read a chunk at a time (keyset reads on both engines) and written as it comes: memory stays constant
however long the period (docs/exports.md, bench/exports.py).

The transactions export has one row per posting: a transaction's postings are its meaning (which account gained or
lost how many points or minor units), and a row per posting keeps every amount an integer of one asset. The rows of
one transaction are consecutive and share its id, time, kind, outlet and cashier.

Scope: the network always; a partner (the transactions at its outlets), an outlet, a member (the transactions that
moved their points or wallet). A period is a range of calendar days, both ends included, in the scope's time zone
(the outlet's, else the partner's first outlet's, else the network's first outlet's, else UTC).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Protocol

from coalition.application.reports import local_midnight
from coalition.domain.errors import InvalidInput

Cell = str | int | None
MAX_EXPORT_DAYS = 366  # a year: the transactions of a longer period are several exports
CHUNK_TRANSACTIONS = 2_000  # transactions read per round trip (their postings come with them)
CHUNK_MEMBERS = 2_000


@dataclass(frozen=True, slots=True)
class Table:
    """A named table: the file's (and the XLSX sheet's) name, its header, and its rows a chunk at a time."""

    name: str
    header: tuple[str, ...]
    chunks: AsyncIterator[Sequence[Sequence[Cell]]]


async def _once(rows: Sequence[Sequence[Cell]]) -> AsyncIterator[Sequence[Sequence[Cell]]]:
    yield rows


def table_of(name: str, header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> Table:
    """A table whose rows are all in hand (a report: tens or hundreds of rows)."""
    return Table(name, tuple(header), _once(rows))


def cell(value: object) -> Cell:
    """A typed value as a cell: integers stay integers (minor units, points), moments and days in ISO 8601, a bool
    `true`/`false`, an enum its value, None empty."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return cell(value.value)
    return str(value)


def record_columns(kind: type, extra: Sequence[str] = ()) -> tuple[str, ...]:
    """The columns of a dataclass's rows: its fields in their order (nested dataclasses flattened as
    `field.inner`), then `extra` properties."""
    names: list[str] = []
    for spec in dataclasses.fields(kind):
        inner = spec.type if isinstance(spec.type, type) else None
        if inner is not None and dataclasses.is_dataclass(inner):
            names.extend(f"{spec.name}.{name}" for name in record_columns(inner))
        else:
            names.append(spec.name)
    return (*names, *extra)


def record_cells(record: object, columns: Sequence[str]) -> list[Cell]:
    """A dataclass row's cells for `columns` (`a.b` reads b of a)."""
    cells: list[Cell] = []
    for column in columns:
        value = record
        for part in column.split("."):
            value = getattr(value, part)
        cells.append(cell(value))
    return cells


@dataclass(frozen=True, slots=True)
class ExportScope:
    """What an export covers: the network, and at most one partner, outlet or member inside it (an outlet may come
    with its own partner)."""

    network_id: int
    partner_id: int | None = None
    outlet_id: int | None = None
    member_id: int | None = None


EARLIEST_DAY, LATEST_DAY = date(1970, 1, 1), date(9998, 12, 31)


def check_day(day: date | None, field: str) -> None:
    """A day an export can start or end on (a year past 9998 has no next midnight to end at)."""
    if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
        raise InvalidInput("a day between 1970-01-01 and 9998-12-31", field=field)


@dataclass(frozen=True, slots=True)
class Period:
    first_day: date
    last_day: date  # included

    def __post_init__(self) -> None:
        check_day(self.first_day, "from")
        check_day(self.last_day, "to")
        if self.last_day < self.first_day:
            raise InvalidInput("the period's last day comes before its first", field="to")
        if (self.last_day - self.first_day).days + 1 > MAX_EXPORT_DAYS:
            raise InvalidInput(f"an export's period has at most {MAX_EXPORT_DAYS} days", field="to")

    @property
    def end_day(self) -> date:
        return self.last_day + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PostingRow:
    tx_id: int
    posting_id: int
    recorded_at: datetime
    occurred_at: datetime
    kind: str
    partner_id: int | None
    partner: str | None
    outlet_id: int | None
    outlet: str | None
    cashier: str | None
    reverses_tx_id: int | None
    memo: str
    owner_kind: str  # member, partner, node, gift_card
    owner_id: int
    purpose: str  # member_points, member_wallet, obligations, …
    asset: str  # points:<program> or money:<currency>
    amount: int  # + credits the account


TRANSACTION_COLUMNS = (
    "tx_id",
    "posting_id",
    "recorded_at",
    "occurred_at",
    "kind",
    "partner_id",
    "partner",
    "outlet_id",
    "outlet",
    "cashier",
    "member_id",
    "account_owner",
    "account_owner_id",
    "account",
    "unit",
    "amount",
    "reverses_tx_id",
    "memo",
)


def unit_of(asset: str) -> str:
    """`points` for a points asset, the currency code for money."""
    kind, _, name = asset.partition(":")
    return name if kind == "money" else "points"


def posting_cells(rows: Sequence[PostingRow]) -> list[list[Cell]]:
    """The rows' cells (a transaction's moments written once for all its postings)."""
    cells: list[list[Cell]] = []
    last: tuple[int, str, str] = (0, "", "")
    for row in rows:
        if last[0] != row.tx_id:
            last = (row.tx_id, row.recorded_at.isoformat(), row.occurred_at.isoformat())
        cells.append(
            [
                row.tx_id,
                row.posting_id,
                last[1],
                last[2],
                row.kind,
                row.partner_id,
                row.partner,
                row.outlet_id,
                row.outlet,
                row.cashier,
                row.owner_id if row.owner_kind == "member" else None,
                row.owner_kind,
                row.owner_id,
                row.purpose,
                unit_of(row.asset),
                row.amount,
                row.reverses_tx_id,
                row.memo,
            ]
        )
    return cells


@dataclass(frozen=True, slots=True)
class BalanceRow:
    member_id: int
    name: str | None
    points: int
    wallet_minor: int


BALANCE_COLUMNS = ("member_id", "name", "points", "wallet", "currency", "as_of")


class ExportsUnitOfWork(Protocol):
    async def scope_zone(self, scope: ExportScope) -> str:
        """The scope's time zone; NotFound naming the field of a partner, outlet or member not in the network."""
        ...

    async def network_currency(self, network_id: int) -> str: ...

    def postings(
        self, scope: ExportScope, start: datetime, end: datetime, chunk: int
    ) -> AsyncIterator[list[PostingRow]]:
        """The postings of the scope's transactions recorded in [start, end), by recorded time then id."""
        ...

    async def count_postings(self, scope: ExportScope, start: datetime, end: datetime) -> int:
        """How many rows `postings` will give (the CLI's progress bar)."""
        ...

    def balances(
        self, scope: ExportScope, as_of: datetime, currency: str, chunk: int
    ) -> AsyncIterator[list[BalanceRow]]:
        """Each member's points and wallet (in `currency`) from the transactions recorded before `as_of`, by id."""
        ...


class ExportsUnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[ExportsUnitOfWork]: ...


class ExportsService:
    def __init__(self, unit_of_work: ExportsUnitOfWorkFactory, chunk: int = CHUNK_TRANSACTIONS) -> None:
        self.unit_of_work = unit_of_work
        self.chunk = chunk

    async def zone(self, scope: ExportScope) -> str:
        async with self.unit_of_work() as uow:
            return await uow.scope_zone(scope)

    async def transactions(self, scope: ExportScope, period: Period) -> Table:
        """The ledger's postings of the scope's transactions in the period; the scope is checked before any row."""
        zone = await self.zone(scope)
        start, end = local_midnight(period.first_day, zone), local_midnight(period.end_day, zone)

        async def chunks() -> AsyncIterator[Sequence[Sequence[Cell]]]:
            async with self.unit_of_work() as uow:
                async for rows in uow.postings(scope, start, end, self.chunk):
                    yield posting_cells(rows)

        name = f"transactions-{period.first_day.isoformat()}-{period.last_day.isoformat()}"
        return Table(name, TRANSACTION_COLUMNS, chunks())

    async def transaction_rows(self, scope: ExportScope, period: Period) -> int:
        """How many rows the transactions export of the scope and period has (one a posting)."""
        zone = await self.zone(scope)
        start, end = local_midnight(period.first_day, zone), local_midnight(period.end_day, zone)
        async with self.unit_of_work() as uow:
            return await uow.count_postings(scope, start, end)

    async def balances(self, scope: ExportScope, day: date) -> Table:
        """Every member's points and wallet at the end of `day` (the scope's zone): the sums of the postings of the
        transactions recorded before the next midnight. A member's scope: their row; a partner's or an outlet's is
        refused (a member's balance belongs to the network)."""
        if scope.partner_id is not None or scope.outlet_id is not None:
            field = "partner" if scope.partner_id is not None else "outlet"
            raise InvalidInput("balances are the network's: scope them by member only", field=field)
        zone = await self.zone(scope)
        as_of = local_midnight(day + timedelta(days=1), zone)
        async with self.unit_of_work() as uow:
            currency = await uow.network_currency(scope.network_id)

        async def chunks() -> AsyncIterator[Sequence[Sequence[Cell]]]:
            async with self.unit_of_work() as uow:
                async for rows in uow.balances(scope, as_of, currency, CHUNK_MEMBERS):
                    yield [[r.member_id, r.name, r.points, r.wallet_minor, currency, as_of.isoformat()] for r in rows]

        return Table(f"balances-{day.isoformat()}", BALANCE_COLUMNS, chunks())
