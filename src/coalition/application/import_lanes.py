"""An import's purchases recorded lane by lane (application/sales_import.py): each lane a member's share of the
checked rows, recorded in chunks of up to 1,000 of one terminal through the till's batch (`BatchRecorder`), in the
file's order.

A lane is recorded by `record_lane`, the same code wherever it runs: in this process (`InProcessLanes`, the lanes
as tasks on one event loop, each on its own connection) or in worker processes (`LaneProcesses`, given by the
composition root on PostgreSQL: adapters/import_processes.py), each with its own engine, so that planning the
chunks is no longer capped at one core. What crosses to a worker and back is plain data (`SaleRow`,
`TerminalContext`, `LaneTally`, `RowError`), pickled.

Joint (the default, all-or-nothing mode): each lane records all its chunks in one held transaction
(`HeldTransactions.held`) and reports its tally with the transaction still open; when every lane has reported, all
are told to commit if no lane refused a row, else all roll back (`commit_together`). On SQLite (one writer at a time)
the lanes run one after the other in one transaction. Not joint (the partial mode): each chunk commits on its own.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from coalition.application.commands import CommandResult, PurchaseInput, fingerprint
from coalition.application.file_exchange.table import RowError
from coalition.application.pos_ports.reference import TerminalContext
from coalition.application.purchases.batch import MAX_BATCH_SIZE, BatchItem
from coalition.application.sales_files import RowStatus, SaleRow, SalesKind
from coalition.domain.errors import Conflict, DomainError, IdempotencyKeyReused

CHUNK = MAX_BATCH_SIZE  # purchases per unit of work
LANES = 2
# the fewest purchases a file must have for its lanes to be recorded in worker processes (when the composition root
# gives them: PostgreSQL): below it, starting the processes costs more than they save
PROCESS_LANES_MIN_ROWS = 5_000
# the fewest cores a host must have for the lanes to go to worker processes: on 2 cores the processes cost more CPU
# than they free (pickling, the forkserver's start, contention) and the import was slower (docs/benchmarks.md)
PROCESS_LANES_MIN_CORES = 4
COLUMN_OF_FIELD = {
    "customer": "customer",
    "receipt": "receipt",
    "redeem_points": "redeem_points",
    "amount": "amount",
    "cashier": "cashier",
    "occurred_at": "occurred_at",
    "purchase_id": "original_receipt",
}

OnChunk = Callable[[int], None]  # told the number of rows of each chunk recorded


class BatchTill(Protocol):
    """The till's batch of purchases (PosService.purchase_batch)."""

    async def purchase_batch(
        self, ctx: TerminalContext, items: Sequence[BatchItem]
    ) -> list[CommandResult[Any] | DomainError]: ...


@dataclass(frozen=True, slots=True)
class LaneTally:
    """What one lane recorded: counts, sums and the rows the rules refused when they were recorded."""

    recorded: int = 0
    already: int = 0
    amount_minor: int = 0
    earned: int = 0
    redeemed: int = 0
    errors: tuple[RowError, ...] = ()


class LaneRunner(Protocol):
    async def record(
        self,
        network_id: int,
        terminals: dict[int, TerminalContext],
        lanes: list[list[SaleRow]],
        on_chunk: OnChunk,
        joint: bool = False,
    ) -> list[LaneTally]:
        """Each lane's tally, in the lanes' order; raises what a lane raised (the others stopped). `joint`: nothing
        is committed unless no lane refused a row (the tallies then name the refusals, and nothing was written)."""
        ...


class HeldTransactions(Protocol):
    """One transaction held across many units of work of the till (adapters/storage/sql_store.py `SqlStore`)."""

    @property
    def one_writer(self) -> bool:
        """SQLite: one write transaction at a time."""
        ...

    def held(self) -> AbstractAsyncContextManager[None]:
        """Every unit of work this task opens inside joins one transaction, committed when the block ends and rolled
        back when it raises."""
        ...


class RolledBack(Exception):
    """Raised inside a held transaction to roll it back: a row was refused in the all-or-nothing mode."""


class LaneProcesses(Protocol):
    """Lanes recorded in worker processes, opened before the rows are checked (their start-up overlaps the check)
    and closed after (a worker still running is stopped: its chunk's unit of work rolls back)."""

    min_rows: int

    def open(self, lanes: int) -> AbstractAsyncContextManager[LaneRunner]: ...


@contextmanager
def collector_spaced_out() -> Iterator[None]:
    """The cycle collector runs rarely while a file's rows are read, checked and kept until they are recorded (as a
    batch does, application/purchases/batch.py): a young-generation run every 700 allocations would walk the
    file's hundred thousand rows again and again. Spaced out, not switched off; the thresholds come back after."""
    before = gc.get_threshold()
    if before[0]:
        gc.set_threshold(max(before[0], 200_000), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def plain_rows(rows: list[SaleRow]) -> list[tuple[Any, ...]]:
    """The rows as tuples of their fields, to cross to a worker process (a third of the pickling a dataclass costs)."""
    return [
        (
            r.number,
            r.receipt,
            r.occurred_at,
            r.terminal_id,
            r.amount,
            r.cashier,
            r.amount_minor,
            r.customer,
            r.member_id,
            r.redeem_points,
            r.original_receipt,
            r.purchase_id,
        )
        for r in rows
    ]


def rows_of(plain: list[tuple[Any, ...]]) -> list[SaleRow]:
    return [SaleRow(*fields) for fields in plain]


def lanes_of(rows: list[SaleRow], count: int = LANES) -> list[list[SaleRow]]:
    """The rows split by member: a member's rows in one lane, in the file's order (lanes share no member's locks)."""
    lanes: list[list[SaleRow]] = [[] for _ in range(count)]
    for row in rows:
        lanes[row.member_id % count].append(row)
    return lanes


def row_key(network_id: int, row: SaleRow, kind: SalesKind) -> str:
    """The row's idempotency key at its terminal: network, terminal and receipt (a refund's own receipt)."""
    prefix = "import" if kind is SalesKind.PURCHASES else "import-refund"
    return f"{prefix}:{network_id}:{row.terminal_id}:{row.receipt}"[:200]


def row_hash(row: SaleRow) -> str:
    return fingerprint("import sale", row.payload())


def refusal(row: SaleRow, error: DomainError) -> RowError:
    if isinstance(error, IdempotencyKeyReused):  # the receipt was imported before with other cells: an edited receipt
        return RowError(
            row.number,
            "receipt",
            f"receipt '{row.receipt}' was imported before with other values; a receipt once imported cannot be "
            "changed by importing it again",
        )
    return RowError(row.number, COLUMN_OF_FIELD.get(error.field or "", ""), error.detail)


def chunks(rows: list[SaleRow], size: int = CHUNK) -> list[list[SaleRow]]:
    """Runs of up to `size` rows of one terminal, in order."""
    found: list[list[SaleRow]] = []
    for row in rows:
        if found and len(found[-1]) < size and found[-1][0].terminal_id == row.terminal_id:
            found[-1].append(row)
        else:
            found.append([row])
    return found


async def record_lane(
    till: BatchTill,
    network_id: int,
    terminals: dict[int, TerminalContext],
    rows: list[SaleRow],
    on_chunk: OnChunk,
) -> LaneTally:
    """One lane's rows through the till's batch, a chunk per unit of work, in order."""
    recorded = already = amount_minor = earned = redeemed = 0
    errors: list[RowError] = []
    for chunk in chunks(rows, CHUNK):  # CHUNK read when called: a test sets it small
        items = [BatchItem(row_key(network_id, row, SalesKind.PURCHASES), row_hash(row), _input(row)) for row in chunk]
        outcomes = await till.purchase_batch(terminals[chunk[0].terminal_id], items)
        for row, outcome in zip(chunk, outcomes, strict=True):
            status = _status(outcome)
            if status is RowStatus.RECORDED and isinstance(outcome, CommandResult):
                recorded += 1
                amount_minor += row.amount_minor
                earned += int(outcome.body.get("points_earned") or 0)
                redeemed += int(outcome.body.get("points_redeemed") or 0)
            elif status is RowStatus.ALREADY_RECORDED:
                already += 1
            elif isinstance(outcome, DomainError):
                errors.append(refusal(row, outcome))
        on_chunk(len(chunk))
    return LaneTally(recorded, already, amount_minor, earned, redeemed, tuple(errors))


async def commit_together(
    tasks: Sequence[asyncio.Future[Any]],
    recorded: Sequence[asyncio.Future[LaneTally]],
    decide: Callable[[bool], Awaitable[None]],
) -> list[LaneTally]:
    """The joint mode's decision: wait until every lane has recorded its rows (`recorded`, its transaction still
    open), then `decide` commit (no lane refused a row) or rollback, and wait for every lane (`tasks`) to end. A lane
    that fails stops the others, whose transactions roll back."""
    try:
        for lane, task in zip(recorded, tasks, strict=True):
            await asyncio.wait([lane, task], return_when=asyncio.FIRST_COMPLETED)
            if not lane.done():
                task.result()  # the lane's error
                raise RuntimeError("an import lane ended without reporting its rows")
        tallies = [lane.result() for lane in recorded]
        await decide(not any(tally.errors for tally in tallies))
        await asyncio.gather(*tasks)
        return tallies
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


class InProcessLanes:
    """The lanes as tasks of this event loop, each on its own connection: while the database writes one lane's
    chunk the other's next chunk is planned (SQLite, small files, or no worker processes given). Joint: each lane in
    a held transaction, committed together; on SQLite the lanes one after the other in one transaction."""

    def __init__(self, till: BatchTill, transactions: HeldTransactions) -> None:
        self.till = till
        self.transactions = transactions

    async def record(
        self,
        network_id: int,
        terminals: dict[int, TerminalContext],
        lanes: list[list[SaleRow]],
        on_chunk: OnChunk,
        joint: bool = False,
    ) -> list[LaneTally]:
        if joint and self.transactions.one_writer:
            return await self._one_after_another(network_id, terminals, lanes, on_chunk)
        if joint:
            return await self._together(network_id, terminals, lanes, on_chunk)
        tasks = [asyncio.ensure_future(record_lane(self.till, network_id, terminals, rows, on_chunk)) for rows in lanes]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:  # one lane failed (a broken invariant, the database gone): stop the other one too
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _one_after_another(
        self, network_id: int, terminals: dict[int, TerminalContext], lanes: list[list[SaleRow]], on_chunk: OnChunk
    ) -> list[LaneTally]:
        tallies: list[LaneTally] = []
        try:
            async with self.transactions.held():
                for rows in lanes:
                    tallies.append(await record_lane(self.till, network_id, terminals, rows, on_chunk))
                if any(tally.errors for tally in tallies):
                    raise RolledBack
        except RolledBack:
            pass
        return tallies

    async def _together(
        self, network_id: int, terminals: dict[int, TerminalContext], lanes: list[list[SaleRow]], on_chunk: OnChunk
    ) -> list[LaneTally]:
        loop = asyncio.get_running_loop()
        decision: asyncio.Future[bool] = loop.create_future()
        recorded: list[asyncio.Future[LaneTally]] = [loop.create_future() for _ in lanes]

        async def lane(rows: list[SaleRow], done: asyncio.Future[LaneTally]) -> None:
            try:
                async with self.transactions.held():
                    done.set_result(await record_lane(self.till, network_id, terminals, rows, on_chunk))
                    if not await decision:
                        raise RolledBack
            except RolledBack:
                pass

        async def decide(commit: bool) -> None:
            decision.set_result(commit)

        tasks = [asyncio.ensure_future(lane(rows, done)) for rows, done in zip(lanes, recorded, strict=True)]
        return await commit_together(tasks, recorded, decide)


def _input(row: SaleRow) -> PurchaseInput:
    return PurchaseInput(
        customer=row.customer,
        amount=row.amount,
        redeem_points=row.redeem_points or None,
        receipt=row.receipt,
        cashier=row.cashier,
        occurred_at=row.occurred_at,
    )


def _status(outcome: CommandResult[Any] | DomainError) -> RowStatus:
    if isinstance(outcome, CommandResult):
        return RowStatus.ALREADY_RECORDED if outcome.replayed else RowStatus.RECORDED
    if isinstance(outcome, Conflict) and outcome.field == "receipt":  # the till uploaded it under its own key
        return RowStatus.ALREADY_RECORDED
    return RowStatus.REFUSED
