"""`coalition worker`: the background loops (the scheduler; host.py's LOOPS) without HTTP, until SIGTERM or SIGINT.

Run it beside `coalition serve` with COALITION_BACKGROUND=off there, or as well: database claims keep every job
to one run per period however many processes run the loops.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from coalition.adapters.cli.common import DatabaseOption, console, settings_for
from coalition.adapters.jobs.host import LOOPS, run_loops
from coalition.wiring import build_services


def worker(database_url: DatabaseOption = None) -> None:
    """Run the scheduled jobs (each network's, in its time zone) until stopped with SIGTERM or Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = settings_for(database_url)

    async def main() -> None:
        services = build_services(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        console.print(f"worker running: {', '.join(name for name, _ in LOOPS)} (SIGTERM or Ctrl-C stops it)")
        try:
            await run_loops(services, stop)
        finally:
            await services.close()
        console.print("worker stopped")

    asyncio.run(main())
