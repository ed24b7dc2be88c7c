"""Purchases and refunds made elsewhere, imported from a file (docs/files.md "Purchases and refunds").

Every row is checked first — its cells, its terminal (this network's, active), its customer (a member of the
network), its amount within the network's limits, its time within the window a till's `occurred_at` may have, and
for a refund the purchase its original receipt names — and by default the whole file is refused when any row is
bad, naming each row and column. Then the rows are recorded through the till's own commands, so nothing is priced
twice: purchases through the batch (`BatchRecorder`, each priced by the rule set in force at its `occurred_at`), in
chunks of 1,000 per unit of work; refunds through the refund batch (`refund_batch`, POST /v1/refunds/batch's), in
chunks of 1,000 of one terminal, each naming its purchase by the id the check found.

Each row's idempotency key is derived from the network, the terminal and the receipt, so the same rows again — a
second import, or a restart after a crash mid-file — record nothing twice; a receipt the till already uploaded
itself is recognised by the outlet's receipts and counted as already recorded. The file itself is recorded by its
digest (`file_imports`): the same file again answers its first result without reading a row.

Purchases go in two lanes, split by member, each on its own connection (application/import_lanes.py): while the
database writes one lane's chunk the other lane's next chunk is planned. A member's rows stay in one lane, in the
file's order. On PostgreSQL a file of at least 5,000 purchases has its lanes recorded in worker processes, one a
lane, each with its own engine (adapters/import_processes.py), so that planning is not capped at one core; the
workers start while the rows are checked, report each chunk for the progress bar and their tallies at the end, and
a worker's failure fails the import with its error. Small files and SQLite keep the lanes in this process.

All or nothing (the default): a row the till's command refuses when it is recorded (a receipt imported before with
other cells, points that may not pay this check, a refund larger than what is left of its purchase) refuses the
whole file as a static error does. Each lane records all its chunks in one transaction, and the lanes commit only
when every lane has finished with no refusal; else every lane rolls back and FileRefused names every refused row.
Refunds likewise, all in one transaction. The partial mode commits chunk by chunk and returns the refused rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from coalition.application.audit import AuditTrail, entry
from coalition.application.basket import parse_basket
from coalition.application.commands import CommandResult, DuplicateKey
from coalition.application.file_exchange.columns import typed_rows
from coalition.application.file_exchange.reading import import_key, read_table
from coalition.application.file_exchange.table import FileLimits, FileRefused, RawTable, RowError
from coalition.application.file_exchange.writing import rejects_bytes
from coalition.application.import_lanes import (
    COLUMN_OF_FIELD,
    LANES,
    HeldTransactions,
    InProcessLanes,
    LaneProcesses,
    LaneRunner,
    RolledBack,
    chunks,
    collector_spaced_out,
    lanes_of,
    refusal,
    row_hash,
    row_key,
)
from coalition.application.occurred_at import OccurredAtWindow
from coalition.application.pos_ports.member_files import FileImportRecord, MemberFilesPort
from coalition.application.pos_ports.reference import ProgramContext, ReferencePort, TerminalContext
from coalition.application.pos_ports.sales_files import SalesFilesPort
from coalition.application.purchases.batch import BatchItem
from coalition.application.refund_batch import MAX_REFUND_BATCH_SIZE, RefundBatchItem, RefundOutcome
from coalition.application.refunds import RefundInput
from coalition.application.sales_files import (
    COLUMNS,
    SaleRow,
    SalesImportResult,
    SalesKind,
    row_of,
    sale_key,
)
from coalition.domain.errors import DomainError
from coalition.domain.identifiers import lookup_candidates
from coalition.domain.money import parse_amount_minor

Progress = Callable[[int, int], None]
REFUND_CHUNK = MAX_REFUND_BATCH_SIZE  # refunds per call of the refund batch


class SalesFilesUnitOfWork(ReferencePort, MemberFilesPort, SalesFilesPort, AuditTrail, Protocol):
    """What the import reads and records of one transaction (the sales themselves go through the till's commands)."""


class SalesFilesUnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[SalesFilesUnitOfWork]: ...


class Till(Protocol):
    """The till's commands the import records through (PosService)."""

    occurred_at_window: OccurredAtWindow

    async def purchase_batch(
        self, ctx: TerminalContext, items: Sequence[BatchItem]
    ) -> list[CommandResult[Any] | DomainError]: ...

    async def refund_batch(self, ctx: TerminalContext, items: Sequence[RefundBatchItem]) -> list[RefundOutcome]: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class SalesImportOptions:
    filename: str = ""
    encoding: str | None = None
    delimiter: str | None = None
    partial: bool = False


@dataclass(slots=True)
class _Tally:
    recorded: int = 0
    already: int = 0
    amount_minor: int = 0
    earned: int = 0
    redeemed: int = 0
    clawed_back: int = 0
    returned: int = 0
    done: int = 0


class SalesImport:
    def __init__(
        self,
        unit_of_work: SalesFilesUnitOfWorkFactory,
        till: Till,
        clock: Clock,
        limits: FileLimits,
        transactions: HeldTransactions,
        lane_processes: LaneProcesses | None = None,
    ) -> None:
        self.unit_of_work = unit_of_work
        self.till = till
        self.clock = clock
        self.limits = limits
        self.transactions = transactions  # all or nothing: a lane's (or the refunds') chunks in one transaction
        # PostgreSQL: a file of at least `lane_processes.min_rows` purchases is recorded in worker processes
        self.lane_processes = lane_processes

    async def run(
        self,
        network_id: int,
        kind: SalesKind,
        data: bytes,
        options: SalesImportOptions,
        progress: Progress | None = None,
    ) -> SalesImportResult:
        """The import's result; FileRefused (every error) when the file is refused and nothing was written."""
        digest = import_key(data, options.encoding, options.delimiter)
        async with self.unit_of_work() as uow:
            stored = await uow.stored_import(network_id, kind.value, digest)
        if stored is not None:
            first = json.loads(stored.result)
            rejects = None
            if first["errors"] and options.partial:
                rejects = rejects_file(self._table(data, options), first["errors"])
            return SalesImportResult.from_json(first, rejects)
        with collector_spaced_out():
            return await self._run(network_id, kind, data, options, digest, progress)

    async def _run(
        self,
        network_id: int,
        kind: SalesKind,
        data: bytes,
        options: SalesImportOptions,
        digest: str,
        progress: Progress | None,
    ) -> SalesImportResult:
        table = self._table(data, options)
        tally = _Tally()
        async with AsyncExitStack() as stack:
            lanes: LaneRunner = InProcessLanes(self.till, self.transactions)
            processes = self.lane_processes
            if kind is SalesKind.PURCHASES and processes is not None and len(table.rows) >= processes.min_rows:
                lanes = await stack.enter_async_context(processes.open(LANES))  # they start while the rows are checked
            async with self.unit_of_work() as uow:
                pc = await uow.program_of(network_id)
                rows, terminals, errors = await self._checked(uow, network_id, kind, table, pc)
            if errors and not options.partial:
                raise FileRefused(errors)  # decided before anything is recorded, wherever the lanes run
            joint = not options.partial
            if kind is SalesKind.PURCHASES:
                refused = await self._purchases(network_id, rows, terminals, lanes, tally, progress, joint)
            elif joint:
                refused = await self._refunds_together(network_id, rows, terminals, tally, progress)
            else:
                refused = await self._refunds(network_id, rows, terminals, tally, progress)
            if refused and joint:  # every lane rolled back: nothing was written
                raise FileRefused(sorted(refused, key=lambda error: error.row))
            errors += refused
        errors.sort(key=lambda error: error.row)
        result = SalesImportResult(
            network_id=network_id,
            kind=kind,
            filename=options.filename,
            digest=digest,
            file_format=table.file_format,
            encoding=table.encoding,
            delimiter=table.delimiter,
            currency=pc.program.currency,
            rows_read=len(table.rows),
            recorded=tally.recorded,
            already_recorded=tally.already,
            rejected=len({error.row for error in errors}),
            amount_minor=tally.amount_minor,
            points_earned=tally.earned,
            points_redeemed=tally.redeemed,
            points_clawed_back=tally.clawed_back,
            points_returned=tally.returned,
            errors=tuple(errors),
        )
        try:
            async with self.unit_of_work() as uow:
                record = FileImportRecord(
                    network_id,
                    kind.value,
                    digest,
                    options.filename,
                    result.rows_read,
                    result.recorded,
                    result.already_recorded,
                    result.rejected,
                    json.dumps(result.json()),
                )
                await uow.record_import(record, self.clock.now())
                after = {key: value for key, value in result.json().items() if key != "errors"}
                await uow.audit(entry(network_id, f"{kind.value}.import", "file_import", digest[:16], after=after))
        except DuplicateKey:  # the same file imported at the same time: its rows went in once, by their keys
            pass
        if errors:
            result = replace(result, rejects=rejects_file(table, result.json()["errors"]))
        return result

    def _table(self, data: bytes, options: SalesImportOptions) -> RawTable:
        return read_table(
            data, filename=options.filename, limits=self.limits, encoding=options.encoding, delimiter=options.delimiter
        )

    async def _checked(
        self, uow: SalesFilesUnitOfWork, network_id: int, kind: SalesKind, table: RawTable, pc: ProgramContext
    ) -> tuple[list[SaleRow], dict[int, TerminalContext], list[RowError]]:
        typed = typed_rows(table, COLUMNS[kind], sale_key)
        errors = list(typed.errors)
        now = self.clock.now()
        terminals: dict[int, TerminalContext | None] = {}
        for terminal_id in sorted({int(row.values["terminal"]) for row in typed.rows}):
            found = await uow.terminal_by_id(terminal_id)
            terminals[terminal_id] = found if found is not None and found.network_id == network_id else None
        rows: list[SaleRow] = []
        for typed_row in typed.rows:
            row = row_of(typed_row)
            problems: list[RowError] = []
            network = typed_row.values.get("network")
            if network is not None and network != network_id:
                problems.append(RowError(row.number, "network", f"the row is for network {network}, not {network_id}"))
            if terminals.get(row.terminal_id) is None:
                problems.append(
                    RowError(row.number, "terminal", f"this network has no active terminal {row.terminal_id}")
                )
            cell_problems, row = _cell_checks(row, kind, pc, self.till.occurred_at_window, now)
            problems += cell_problems
            if problems:
                errors.extend(problems)
            else:
                rows.append(row)
        if kind is SalesKind.PURCHASES:
            rows = await _with_members(uow, network_id, rows, errors, pc.phone_region)
        else:
            rows = await _with_purchases(uow, rows, terminals, errors)
        errors.sort(key=lambda error: error.row)
        return rows, {k: v for k, v in terminals.items() if v is not None}, errors

    async def _purchases(
        self,
        network_id: int,
        rows: list[SaleRow],
        terminals: dict[int, TerminalContext],
        lanes: LaneRunner,
        tally: _Tally,
        progress: Progress | None,
        joint: bool,
    ) -> list[RowError]:
        def on_chunk(count: int) -> None:
            tally.done += count
            if progress is not None:
                progress(tally.done, len(rows))

        if progress is not None:
            progress(0, len(rows))  # every row checked: recording starts
        errors: list[RowError] = []
        for lane in await lanes.record(network_id, terminals, lanes_of(rows, LANES), on_chunk, joint):
            tally.recorded += lane.recorded
            tally.already += lane.already
            tally.amount_minor += lane.amount_minor
            tally.earned += lane.earned
            tally.redeemed += lane.redeemed
            errors += lane.errors
        return errors

    async def _refunds_together(
        self,
        network_id: int,
        rows: list[SaleRow],
        terminals: dict[int, TerminalContext],
        tally: _Tally,
        progress: Progress | None,
    ) -> list[RowError]:
        """Every refund in one transaction: committed when none was refused, else rolled back (the refusals)."""
        errors: list[RowError] = []
        try:
            async with self.transactions.held():
                errors = await self._refunds(network_id, rows, terminals, tally, progress)
                if errors:
                    raise RolledBack
        except RolledBack:
            pass
        return errors

    async def _refunds(
        self,
        network_id: int,
        rows: list[SaleRow],
        terminals: dict[int, TerminalContext],
        tally: _Tally,
        progress: Progress | None,
    ) -> list[RowError]:
        errors: list[RowError] = []
        if progress is not None:
            progress(0, len(rows))  # every row checked: recording starts
        for chunk in chunks(rows, REFUND_CHUNK):
            items = [
                RefundBatchItem(
                    row_key(network_id, row, SalesKind.REFUNDS),
                    row_hash(row),
                    RefundInput(amount=row.amount, cashier=row.cashier),
                    purchase_id=row.purchase_id,
                )
                for row in chunk
            ]
            outcomes = await self.till.refund_batch(terminals[chunk[0].terminal_id], items)
            for row, outcome in zip(chunk, outcomes, strict=True):
                if isinstance(outcome, DomainError):
                    errors.append(refusal(row, outcome))
                elif outcome.replayed or outcome.result is None:
                    tally.already += 1
                else:
                    tally.recorded += 1
                    tally.amount_minor += outcome.result.amount_minor
                    tally.clawed_back += outcome.result.points_clawed_back
                    tally.returned += outcome.result.points_returned
            tally.done += len(chunk)
            if progress is not None:
                progress(tally.done, len(rows))
        return errors


def _cell_checks(
    row: SaleRow, kind: SalesKind, pc: ProgramContext, window: OccurredAtWindow, now: datetime
) -> tuple[list[RowError], SaleRow]:
    """What the till's command would refuse in the row's own cells, found before anything is written."""
    problems: list[RowError] = []
    try:
        window.moment(row.occurred_at, now)
    except DomainError as error:
        problems.append(RowError(row.number, "occurred_at", error.detail))
    try:
        if kind is SalesKind.PURCHASES:
            check_minor, _ = parse_basket(pc.program, row.amount, (), pc.limits)
        else:
            check_minor = parse_amount_minor(row.amount, pc.program.currency)
    except DomainError as error:
        problems.append(RowError(row.number, COLUMN_OF_FIELD.get(error.field or "", "amount"), error.detail))
        return problems, row
    return problems, row.but(amount_minor=check_minor)


async def _with_members(
    uow: SalesFilesUnitOfWork, network_id: int, rows: list[SaleRow], errors: list[RowError], region: str | None
) -> list[SaleRow]:
    """The rows whose customer is a member of the network, each with the member's id."""
    candidates: dict[str, tuple[str, ...]] = {}
    unreadable: dict[str, str] = {}
    for row in rows:
        if row.customer not in candidates:
            try:
                candidates[row.customer] = lookup_candidates(row.customer, region)
            except DomainError as error:
                candidates[row.customer] = ()
                unreadable[row.customer] = error.detail
    owners = await uow.identifier_owners(network_id, sorted({v for values in candidates.values() for v in values}))
    found: list[SaleRow] = []
    for row in rows:
        if row.customer in unreadable:
            errors.append(RowError(row.number, "customer", unreadable[row.customer]))
            continue
        member_id = None
        for value in candidates[row.customer]:  # the most literal form a member has (a loop: no generator a row)
            if value in owners:
                member_id = owners[value]
                break
        if member_id is None:
            errors.append(
                RowError(row.number, "customer", f"no member of this network has the identifier '{row.customer}'")
            )
        else:
            found.append(row.but(member_id=member_id))
    return found


async def _with_purchases(
    uow: SalesFilesUnitOfWork,
    rows: list[SaleRow],
    terminals: dict[int, TerminalContext | None],
    errors: list[RowError],
) -> list[SaleRow]:
    """The refunds whose original receipt names a purchase recorded at the refunding terminal's outlet."""
    by_outlet: dict[int, set[str]] = {}
    for row in rows:
        ctx = terminals[row.terminal_id]
        assert ctx is not None  # rows of unknown terminals were refused before
        by_outlet.setdefault(ctx.outlet_id, set()).add(row.original_receipt)
    purchases: dict[int, dict[str, str]] = {}
    for outlet_id, receipts in by_outlet.items():
        purchases[outlet_id] = await uow.purchases_by_receipt(outlet_id, sorted(receipts))
    found: list[SaleRow] = []
    for row in rows:
        ctx = terminals[row.terminal_id]
        assert ctx is not None
        purchase_id = purchases[ctx.outlet_id].get(row.original_receipt)
        if purchase_id is None:
            errors.append(
                RowError(
                    row.number,
                    "original_receipt",
                    f"no purchase with receipt '{row.original_receipt}' is recorded at this terminal's outlet",
                )
            )
        else:
            found.append(row.but(purchase_id=purchase_id))
    return found


def rejects_file(table: RawTable, errors: list[dict[str, Any]]) -> bytes:
    """The rejected rows as they were read, with an `error` column: every reason of the row."""
    reasons: dict[int, list[str]] = {}
    for error in errors:
        column = f"{error['column']}: " if error["column"] else ""
        reasons.setdefault(int(error["row"]), []).append(column + str(error["reason"]))
    width = len(table.header)
    rows = [
        [*raw.cells[:width], *([""] * (width - len(raw.cells))), "; ".join(reasons[raw.number])]
        for raw in table.rows
        if raw.number in reasons
    ]
    return rejects_bytes(table, rows)
