"""The import's CPU per purchase with its caches warm: several imports in one process, the first not counted.

`python -m bench.imports` times one import in a fresh process, where the first use of every module, prepared
statement and cache is paid inside the figure, and one run's noise on a shared host is ±5 %. This runs `--runs` + 1
imports of `--rows`-row files (new receipts each) through `bench.imports.import_file` on the database `bench.imports`
loaded, lanes in this process, and prints the median and each run's CPU per purchase of this process and of
PostgreSQL's backends. Compare two versions by alternating them (`PYTHONPATH` naming each one's `src`).

    PYTHONPATH=src:. .venv/bin/python -m bench.import_cpu --rows 5000 --runs 6
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import uuid

from bench.imports import DEMO_KEY, NAME, database_url, default_admin_url, import_file, purchases_csv, query


async def _runs(url: str, terminal_id: int, rows: int, runs: int, members: int) -> list[dict[str, float]]:
    figures = []
    for run in range(runs + 1):
        data = purchases_csv(terminal_id, rows, members, uuid.uuid4().hex[:8], seed=100 + run)
        figures.append(await import_file(url, data, in_process=True))
    return figures[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--members", type=int, default=10_000, help="as bench.imports loaded them")
    parser.add_argument("--admin-url", default=default_admin_url())
    args = parser.parse_args()
    from coalition.application.commands import key_hash

    url = database_url(args.admin_url, NAME)
    terminal_id = int(query(url, f"SELECT id FROM terminals WHERE key_hash = '{key_hash(DEMO_KEY)}'")[0][0])
    figures = asyncio.run(_runs(url, terminal_id, args.rows, args.runs, args.members))
    for what, key in (("this process", "cpu_ms"), ("PostgreSQL's backends", "pg_ms")):
        each = ", ".join(f"{f[key]:.4f}" for f in figures)
        print(f"{what}: median {statistics.median(f[key] for f in figures):.4f} ms a purchase ({each})")


if __name__ == "__main__":
    main()
