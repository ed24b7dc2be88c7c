"""The background loops (issue 16): the scheduler and the outbox's deliveries, run inside every worker of
`coalition serve` unless COALITION_BACKGROUND=off, and by `coalition worker` without HTTP.

Several processes run them at once, so every loop is safe with that by database claims, never by an assumption
about this process. A loop ends when `stop` is set; one that fails is logged and started again after a pause, so a
database outage delays the work and never ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from coalition.adapters.jobs.outbox_loop import outbox_loop
from coalition.wiring import Services

log = logging.getLogger("coalition.jobs")
Loop = Callable[[Services, asyncio.Event], Awaitable[None]]
SCHEDULER_TICK_SECONDS = 30.0
RESTART_PAUSE_SECONDS = 5.0


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def scheduler_loop(services: Services, stop: asyncio.Event) -> None:
    """Every tick, each network's due jobs that no one ran yet (application/scheduler.py)."""
    tick_seconds = services.settings.scheduler_tick_seconds
    while not stop.is_set():
        try:
            await services.scheduler.tick()
        except Exception:  # a database outage or a bug: logged, and the next tick tries again
            log.exception("the scheduler's tick failed")
        await wait_or_stop(stop, tick_seconds)


LOOPS: list[tuple[str, Loop]] = [("scheduler", scheduler_loop), ("outbox", outbox_loop)]


async def _kept_running(name: str, loop: Loop, services: Services, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await loop(services, stop)
        except Exception:
            log.exception("background loop %s failed; starting it again", name)
            await wait_or_stop(stop, RESTART_PAUSE_SECONDS)


async def run_loops(services: Services, stop: asyncio.Event) -> None:
    """Run every loop of LOOPS until `stop` is set; return once they all have ended."""
    log.info("background loops: %s", ", ".join(name for name, _ in LOOPS))
    async with asyncio.TaskGroup() as group:
        for name, loop in LOOPS:
            group.create_task(_kept_running(name, loop, services, stop), name=f"coalition-{name}")
