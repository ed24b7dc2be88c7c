"""A simulation split over several processes: each prices one stretch of the period; the parts are merged.

CPython runs one core per process, and pricing a stored purchase is CPU work, so on this 2-core machine two
processes nearly halve a long simulation (docs/benchmarks.md). The API runs a simulation in its own process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, wait
from datetime import datetime
from typing import Any

from coalition.application.simulation import check_period, report_of, split_period
from coalition.settings import Settings
from coalition.wiring import build_services


def _part(
    settings: Settings, network: str, start: datetime, end: datetime, version: int | None, done: Any
) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        services = build_services(settings)
        try:
            ref = await services.admin.network(network)
            last = [0]

            def progress(count: int, _total: int) -> None:
                done.put(count - last[0])
                last[0] = count

            return await services.rules.simulate_part(ref, start, end, version, progress)
        finally:
            await services.close()

    return asyncio.run(run())


def simulate_in_processes(
    settings: Settings,
    network: str,
    start: datetime,
    end: datetime,
    version: int | None,
    jobs: int,
    on_total: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    check_period(start, end)

    async def head() -> tuple[str, int]:
        services = build_services(settings)
        try:
            ref = await services.admin.network(network)
            return ref.currency, await services.rules.count_purchases(ref, start, end)
        finally:
            await services.close()

    currency, total = asyncio.run(head())
    if on_total is not None:
        on_total(total)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        done = manager.Queue()
        futures = [
            pool.submit(_part, settings, network, a, b, version, done) for a, b in split_period(start, end, jobs)
        ]
        while not all(future.done() for future in futures):
            wait(futures, timeout=0.2)
            _drain(done, on_progress)
        _drain(done, on_progress)
        partials = [future.result() for future in futures]  # re-raises a part's error here
    return report_of(partials, currency) | {"from": start.isoformat(), "to": end.isoformat()}


def _drain(done: Any, on_progress: Callable[[int], None] | None) -> None:
    while True:
        try:
            count = done.get_nowait()
        except queue.Empty:
            return
        if on_progress is not None:
            on_progress(count)
