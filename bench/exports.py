"""Exporting 1,000,000 transactions to CSV on PostgreSQL streams in constant memory (issue 17).

`.venv/bin/python -m bench.exports` recreates the PostgreSQL database `coalition_bench_exports` and loads it as
bench/settlement.py does (50 partners, 10,000 members, 1,000,000 purchase transactions over one day, every fifth
also spending points: 4.8 M postings, straight in SQL). Then it exports the day's transactions as the CLI does
(`coalition export transactions`: the same ExportsService, the same writer, the file written as the rows come) and
reports the time and the process's resident memory (RSS, from /proc/self/status) when 100,000 transactions had been
written and at the end: equal figures show the memory does not grow with the export. The figures go to
docs/benchmarks.md between the `exports:latest` markers (`--no-docs` leaves it alone).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.purchases import database_url, default_admin_url, say
from bench.sections import write_section
from bench.settlement import DAY_START, load
from coalition.adapters.documents.tables import CsvOptions, table_bytes
from coalition.application.exports import ExportScope, Period
from coalition.settings import Settings
from coalition.wiring import build_services


def rss_mib() -> tuple[float, float]:
    """The process's resident memory now and its peak so far (MiB)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def export(url: str, out: Path, checkpoint: int) -> dict[str, float]:
    services = build_services(Settings(database_url=url, operator_token=None, public_url="http://bench"))

    async def run() -> dict[str, float]:
        try:
            ref = await services.admin.network("park")
            day = DAY_START.date()
            figures: dict[str, float] = {"start_rss": rss_mib()[0], "start_peak": rss_mib()[1]}
            started = time.perf_counter()
            # the outlets' days (Moscow, UTC+3) that hold the UTC day loaded
            period = Period(day, day + timedelta(days=1))
            table = await services.report_tables.exports.transactions(ExportScope(ref.id), period)
            transactions, rows, last_tx, written = 0, 0, None, 0

            async def counted():  # type: ignore[no-untyped-def]
                nonlocal transactions, rows, last_tx
                async for chunk in table.chunks:
                    for row in chunk:
                        if row[0] != last_tx:
                            transactions, last_tx = transactions + 1, row[0]
                    rows += len(chunk)
                    if "rss_at_checkpoint" not in figures and transactions >= checkpoint:
                        figures["rss_at_checkpoint"], figures["peak_at_checkpoint"] = rss_mib()
                        figures["seconds_at_checkpoint"] = time.perf_counter() - started
                    yield chunk

            counted_table = type(table)(table.name, table.header, counted())
            with out.open("wb") as file:
                async for block in table_bytes(counted_table, "csv", CsvOptions()):
                    file.write(block)
                    written += len(block)
            figures["seconds"] = time.perf_counter() - started
            figures["rss_at_end"], figures["peak_rss"] = rss_mib()
            figures |= {"transactions": transactions, "rows": rows, "bytes": written}
            return figures
        finally:
            await services.close()

    return asyncio.run(run())


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--admin-url", default=os.environ.get("COALITION_BENCH_PG_URL") or default_admin_url())
    parser.add_argument("--database", default="coalition_bench_exports")
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--checkpoint", type=int, default=100_000, help="transactions written at the first RSS")
    parser.add_argument("--reuse", action="store_true", help="keep the database of the last run")
    parser.add_argument("--docs", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    url = database_url(args.admin_url, args.database)
    if not args.reuse:
        started = time.perf_counter()
        load(url, args.admin_url, args.database, args.purchases, args.members)
        say(f"loaded in {time.perf_counter() - started:.0f} s; exporting the day")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as directory:
        f = export(url, Path(directory) / "transactions.csv", args.checkpoint)
    load_after = os.getloadavg()[0]
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    growth = f["rss_at_end"] - f["rss_at_checkpoint"]
    text = (
        f"Latest run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, revision {revision}, {platform.node() or 'this host'}, "
        f"{len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}, PostgreSQL on the same machine.\n"
        f"Command: `.venv/bin/python -m bench.exports` ({args.purchases:,} purchase transactions of one day loaded as "
        f"bench/settlement.py does; exported to CSV as `coalition export transactions` does).\n\n"
        f"| | transactions | rows (postings) | seconds | RSS (MiB) | peak RSS so far (MiB) |\n"
        f"|---|---:|---:|---:|---:|---:|\n"
        f"| before the export | 0 | 0 | 0 | {f['start_rss']:.0f} | {f['start_peak']:.0f} |\n"
        f"| after {args.checkpoint:,} transactions | ≥ {args.checkpoint:,} | | {f['seconds_at_checkpoint']:.1f} | "
        f"{f['rss_at_checkpoint']:.0f} | {f['peak_at_checkpoint']:.0f} |\n"
        f"| at the end | {f['transactions']:,.0f} | {f['rows']:,.0f} | {f['seconds']:.1f} | {f['rss_at_end']:.0f} | "
        f"{f['peak_rss']:.0f} |\n\n"
        f"The file: {f['bytes'] / 2**20:,.0f} MiB, {f['transactions'] / f['seconds']:,.0f} transactions/s "
        f"({f['rows'] / f['seconds']:,.0f} rows/s). From "
        f"{args.checkpoint:,} transactions to the end RSS moved by {growth:+.0f} MiB: memory does not grow with the "
        f"export. The host's load average was {load_before:.1f} before and {load_after:.1f} after (other work "
        f"shares its cores): the time is this host's under that load, the memory is the point."
    )
    print(text)
    if args.docs:
        write_section("exports", "Exports", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
