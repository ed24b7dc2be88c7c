"""An import's purchase lanes recorded in worker processes (application/import_lanes.py `LaneProcesses`).

One process a lane, started from a clean interpreter ("forkserver": a server process that imported the services'
module once, forked for each worker; never a fork of this process, whose event loop holds connections), each
building its own services — engine, pool, the till's commands — from the same settings with the composition root's
own `build` (passed in, so this module does not import the wiring that wires it), and recording its lane with
`record_lane`, the batch path of the in-process lanes. They start when the import opens them, before the rows are
checked, so that their start-up overlaps the check; each then receives its lane's checked rows (plain, pickled),
sends the number of rows of each chunk it recorded (the progress bar moves with them) and at the end its tally.

A worker that fails sends its error and ends; the import re-raises it (the exception itself when it survives a
pickle, the same the in-process lanes would raise; else a RuntimeError naming it) after stopping the other worker,
whose unit of work in progress rolls back as its connection closes. A worker that dies without a word (killed)
fails the import with a RuntimeError naming its exit code. Nothing is reported as recorded unless every lane
reported its tally.

Joint (the all-or-nothing mode): a worker records its whole lane in one held transaction, reports "recorded" with
its tally and waits, the transaction open, for the import's "commit" (no lane refused a row) or "rollback"; then it
reports "done". It rolls back by itself if the import ends (its pipe closes: the process ends at once) or does not
decide within DECISION_SECONDS.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import pickle
import queue
import threading
import traceback
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any, Protocol

from coalition.adapters.storage.engine import backend_of
from coalition.application.import_lanes import (
    PROCESS_LANES_MIN_CORES,
    PROCESS_LANES_MIN_ROWS,
    BatchTill,
    HeldTransactions,
    LaneTally,
    OnChunk,
    RolledBack,
    collector_spaced_out,
    commit_together,
    plain_rows,
    record_lane,
    rows_of,
)
from coalition.application.pos_ports.reference import TerminalContext
from coalition.application.sales_files import SaleRow
from coalition.settings import Settings

STOP_SECONDS = 10.0  # how long a worker that reported its tally gets to close its connections before it is stopped
# how long a worker that recorded its lane (joint) waits for the import's decision before it rolls back by itself
DECISION_SECONDS = 3600.0


class WorkerServices(Protocol):
    """What a worker uses of the services its `build` gives."""

    @property
    def pos(self) -> BatchTill: ...

    @property
    def store(self) -> HeldTransactions: ...

    async def close(self) -> None: ...


Build = Callable[[Settings, Any], WorkerServices]  # wiring.build_services(settings, clock)


class LaneWorkerFailed(RuntimeError):
    """A worker's error that could not cross back as itself, or a worker that ended without reporting its lane."""


def lane_worker(connection: Connection, build: Build, settings: Settings, clock: Any) -> None:
    """A worker's life: wait for the lane (None: the import ended before recording), record it, report, end."""
    try:
        message = connection.recv()
    except EOFError:
        return
    if message is None:
        return
    network_id, terminals, plain, joint = message
    decisions: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_end_with_the_import, args=(connection, decisions), daemon=True).start()
    rows = rows_of(plain)
    del plain, message
    gc.freeze()  # the modules and the lane's rows live to the end: the collector need not walk them again
    try:
        with collector_spaced_out():
            lane = _Lane(network_id, terminals, rows, joint, decisions)
            tally = asyncio.run(_record(connection, build, settings, clock, lane))
    except BaseException as error:
        connection.send(("failed", _portable(error), f"{type(error).__name__}: {error}", traceback.format_exc()))
        return
    connection.send(("done", tally))


def _end_with_the_import(connection: Connection, decisions: queue.Queue[str]) -> None:
    """The importing process sends nothing after the lane but its decision (joint): when its end of the pipe closes
    (it ended, was killed), this worker ends at once, its transaction rolled back — a killed import leaves no lane
    writing on, nor a transaction open."""
    with suppress(EOFError, OSError):
        while True:
            decisions.put(connection.recv())
    os._exit(1)


@dataclass(slots=True)
class _Lane:
    network_id: int
    terminals: dict[int, TerminalContext]
    rows: list[SaleRow]
    joint: bool
    decisions: queue.Queue[str]


async def _record(connection: Connection, build: Build, settings: Settings, clock: Any, lane: _Lane) -> LaneTally:
    services = build(settings, clock)
    try:

        async def recorded() -> LaneTally:
            def on_chunk(count: int) -> None:
                connection.send(("chunk", count))

            return await record_lane(services.pos, lane.network_id, lane.terminals, lane.rows, on_chunk)

        if not lane.joint:
            return await recorded()
        try:
            async with services.store.held():
                tally = await recorded()
                connection.send(("recorded", tally))
                # queue.Empty after DECISION_SECONDS: the transaction rolls back and the worker reports its failure
                if await asyncio.to_thread(lane.decisions.get, True, DECISION_SECONDS) != "commit":
                    raise RolledBack
        except RolledBack:
            pass
        return tally
    finally:
        await services.close()


def _portable(error: BaseException) -> bytes | None:
    """The error pickled, if it comes back as itself."""
    try:
        data = pickle.dumps(error)
        pickle.loads(data)
    except Exception:
        return None
    return data


@dataclass(slots=True)
class _Worker:
    lane: int
    process: BaseProcess
    connection: Connection
    given: bool = False  # its lane was sent


class ProcessLanes:
    """`LaneProcesses` for PostgreSQL: a worker process a lane (wiring.py gives it to `SalesImport`)."""

    def __init__(
        self,
        settings: Settings,
        clock: Any,
        build: Build,
        min_rows: int = PROCESS_LANES_MIN_ROWS,
        method: str | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock  # pickled for each worker: a test's clock as it reads when the import starts
        self.build = build
        self.min_rows = min_rows
        # forkserver where the platform has it (Linux, macOS), else spawn: never a fork of this process
        self.method = method or ("forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn")

    @classmethod
    def for_settings(
        cls, settings: Settings, clock: Any, build: Build, cores: int | None = None
    ) -> ProcessLanes | None:
        """The workers on PostgreSQL with at least PROCESS_LANES_MIN_CORES cores; None on SQLite (one writer at a
        time: the lanes stay in process), on a smaller host, or with a clock that cannot be given to another process
        (a test's). On 2 cores the workers cost more CPU than they free (docs/benchmarks.md, Imports)."""
        if backend_of(settings.database_url) != "postgresql":
            return None
        if ((os.cpu_count() if cores is None else cores) or 1) < PROCESS_LANES_MIN_CORES:
            return None
        try:
            pickle.dumps((settings, clock))
        except Exception:
            return None
        return cls(settings, clock, build)

    @asynccontextmanager
    async def open(self, lanes: int) -> AsyncIterator[_Lanes]:
        context = multiprocessing.get_context(self.method)
        if self.method == "forkserver":  # the workers fork from a server that imported the services once
            context.set_forkserver_preload([self.build.__module__])
        workers: list[_Worker] = []
        starting = asyncio.ensure_future(asyncio.to_thread(self._start, context, lanes, workers))
        failed = True
        try:
            yield _Lanes(starting, workers)
            failed = False
        finally:  # the start is waited for, not cancelled: a worker started after the stop would be left behind
            await asyncio.gather(starting, return_exceptions=True)
            await asyncio.to_thread(_stop, workers, failed)

    def _start(self, context: BaseContext, lanes: int, workers: list[_Worker]) -> None:
        for lane in range(lanes):
            ours, theirs = context.Pipe()
            process = context.Process(  # type: ignore[attr-defined]
                target=lane_worker,
                args=(theirs, self.build, self.settings, self.clock),
                name=f"coalition-import-lane-{lane}",
                daemon=True,
            )
            process.start()
            theirs.close()  # the worker's end is the worker's: when it ends, our end reads EOF
            workers.append(_Worker(lane, process, ours))


class _Lanes:
    def __init__(self, starting: asyncio.Future[None], workers: list[_Worker]) -> None:
        self.starting = starting
        self.workers = workers

    async def record(
        self,
        network_id: int,
        terminals: dict[int, TerminalContext],
        lanes: list[list[SaleRow]],
        on_chunk: OnChunk,
        joint: bool = False,
    ) -> list[LaneTally]:
        await self.starting
        loop = asyncio.get_running_loop()
        recorded: list[asyncio.Future[LaneTally]] = [loop.create_future() for _ in lanes]
        tasks = [
            asyncio.ensure_future(_lane(worker, (network_id, terminals, plain_rows(rows), joint), on_chunk, done))
            for worker, rows, done in zip(self.workers, lanes, recorded, strict=True)
        ]
        if joint:

            async def decide(commit: bool) -> None:
                for worker in self.workers:
                    await asyncio.to_thread(worker.connection.send, "commit" if commit else "rollback")

            return await commit_together(tasks, recorded, decide)
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:  # one lane failed: the other worker is stopped when the lanes close
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise


async def _lane(
    worker: _Worker,
    lane: tuple[int, dict[int, TerminalContext], list[tuple[Any, ...]], bool],
    on_chunk: OnChunk,
    recorded: asyncio.Future[LaneTally],
) -> LaneTally:
    await asyncio.to_thread(worker.connection.send, lane)
    worker.given = True
    while True:
        try:
            message = await asyncio.to_thread(worker.connection.recv)
        except EOFError:
            await asyncio.to_thread(worker.process.join, 5)
            raise LaneWorkerFailed(
                f"import lane {worker.lane}: its worker process ended (exit code {worker.process.exitcode}) "
                "before reporting its lane; the chunks it reported are recorded, the rest is not"
            ) from None
        if message[0] == "chunk":
            on_chunk(message[1])
        elif message[0] == "recorded":  # joint: its transaction open, waiting for the import's decision
            recorded.set_result(message[1])
        elif message[0] == "done":
            tally: LaneTally = message[1]
            return tally
        else:
            _, data, description, remote = message
            error = (
                pickle.loads(data)
                if data is not None
                else LaneWorkerFailed(f"import lane {worker.lane}: {description}")
            )
            if isinstance(error, BaseException):
                error.add_note(f"in import lane {worker.lane}'s worker process:\n{remote}")
                raise error
            raise LaneWorkerFailed(f"import lane {worker.lane}: {description}")


def _stop(workers: list[_Worker], failed: bool) -> None:
    """Every worker ended: the ones never given a lane told to end, the others given time to close their
    connections after their tally (none after a failure), then stopped; the pipes closed."""
    for worker in workers:
        if not worker.given and worker.process.is_alive():
            with suppress(OSError):  # it ended already
                worker.connection.send(None)
    for worker in workers:
        if failed and worker.given:
            worker.process.terminate()
        worker.process.join(STOP_SECONDS)
        if worker.process.is_alive():
            worker.process.terminate()
            worker.process.join(STOP_SECONDS)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.connection.close()
