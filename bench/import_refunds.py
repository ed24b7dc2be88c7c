"""Refunds imported from a CSV file per second on PostgreSQL (`python -m bench.imports --refunds --rows 20000`).

The purchases to refund are imported first from a purchases file (untimed); then a refunds file gives 1.00 back on
each of them, naming it by its receipt, and that import is timed as bench/imports.py times a purchases file.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
from datetime import UTC, datetime, timedelta

from bench.imports import import_file, purchases_csv
from bench.purchases import BIN, machine_info, query, say


def refunds_csv(terminal_id: int, rows: int, tag: str) -> bytes:
    """A refund of 1.00 on each purchase `{tag}-{index}` (every purchase's check is at least 1.00)."""
    moment = (datetime.now(UTC) - timedelta(minutes=30)).replace(microsecond=0).isoformat()
    lines = ["receipt,occurred_at,terminal,original_receipt,amount"]
    lines += [f"{tag}-r{index},{moment},{terminal_id},{tag}-{index},1.00" for index in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def bench_refunds(url: str, args: argparse.Namespace, terminal_id: int, tag: str) -> str:
    say(f"importing {args.rows:,} purchases to refund (untimed)")
    asyncio.run(import_file(url, purchases_csv(terminal_id, args.rows, args.members, tag)))
    data = refunds_csv(terminal_id, args.rows, tag)
    say(f"importing {args.rows:,} refunds ({len(data):,} bytes of CSV) through the application layer")
    load = os.getloadavg()[0]
    figures = asyncio.run(import_file(url, data, "refunds"))
    count = int(
        query(
            url,
            f"SELECT COUNT(*) FROM refunds WHERE purchase_id IN (SELECT id FROM purchases "
            f"WHERE receipt LIKE '{tag}-%')",
        )[0][0]
    )
    if count != args.rows:
        raise SystemExit(f"{count} refunds recorded, expected {args.rows}")
    verified = subprocess.run(
        [str(BIN / "coalition"), "verify", "--database-url", url], capture_output=True, text=True, check=False
    )
    machine = machine_info(args.admin_url)
    rate = figures["rows"] / figures["seconds"]
    commit_rate = figures["rows"] / figures["commit_seconds"]
    return "\n".join(
        [
            f"### {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {args.rows:,} refunds from a CSV file "
            f"(`python -m bench.imports --refunds --rows {args.rows}`)",
            "",
            f"Host: {machine['nproc']} cores ({machine['cpu']}), {machine['ram']}; PostgreSQL "
            f"{machine['postgresql']}; Python {machine['python']}; revision {machine['revision']}; load before the "
            f"run: {load:.2f}",
            "",
            "| phase | seconds | refunds/s |",
            "|---|---:|---:|",
            f"| read the file and check every row | {figures['first_chunk_at']:.2f} | |",
            f"| record | {figures['commit_seconds']:.2f} | **{commit_rate:,.0f}** |",
            f"| the whole import | {figures['seconds']:.2f} | **{rate:,.0f}** |",
            "",
            f"CPU per refund: this process {figures['cpu_ms']:.3f} ms, PostgreSQL's backends {figures['pg_ms']:.3f} "
            f"ms. Points clawed back {figures['points_clawed_back']:,}, returned {figures['points_returned']:,}; "
            f"{count:,} refunds recorded once; `coalition verify`: exit {verified.returncode}.",
        ]
    )
