"""How long closing a settlement period of 1,000,000 purchases across 50 partners takes (issue 4: under 30 s here).

`.venv/bin/python -m bench.settlement` recreates the PostgreSQL database `coalition_bench_settlement`, migrates it,
creates a network of 50 partners with one outlet each and 10,000 members through the application, then stores
1,000,000 purchase-shaped ledger transactions recorded over one day straight in SQL: each grants points (points
from the node to a member, money from the partner's obligations to the node's) and every fifth also spends points
(the reverse movements), so 4.8 M postings. The load runs with `session_replication_role = replica` (triggers off:
the rows are balanced by construction, and `coalition verify` is not the point here). Then it times
`SettlementService.close` over the day — the same code `POST /v1/admin/settlement/periods` and `coalition settle
close` run — and writes the figures to docs/benchmarks.md between the `settlement:latest` markers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import time
from datetime import UTC, datetime, timedelta

import psycopg

from bench.purchases import database_url, default_admin_url, libpq_url, recreate_database, say
from bench.sections import write_section
from coalition.adapters.storage import migrate
from coalition.demo import SMALL_SHOP_PROGRAM
from coalition.settings import Settings
from coalition.wiring import build_services

TARGET_SECONDS = 30.0
DAY_START = datetime(2026, 7, 1, tzinfo=UTC)
PARTNERS = 50


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def load(url: str, admin_url: str, database: str, purchases: int, members: int) -> None:
    recreate_database(admin_url, database)
    migrate.upgrade(url)

    async def network() -> None:
        clock = Clock(DAY_START - timedelta(days=1))
        services = build_services(Settings(database_url=url, operator_token=None, public_url="http://bench"), clock)
        try:
            await services.admin.create_network("park", "Settlement bench", "RUB", SMALL_SHOP_PROGRAM)
            ref = await services.admin.network("park")
            for number in range(1, PARTNERS + 1):
                partner = await services.admin.create_partner(ref, f"Partner {number:02d}")
                await services.admin.create_outlet(ref, partner["id"], f"Outlet {number:02d}", "Europe/Moscow")
        finally:
            await services.close()

    asyncio.run(network())
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        say(f"storing {members:,} members and {purchases:,} purchase transactions in SQL (triggers off)")
        connection.execute("SET session_replication_role = replica")
        connection.execute(
            "INSERT INTO members (network_id, kind, consent_data_processing, consent_newsletters, "
            "lifetime_spend_minor, created_at) SELECT 1, 'anonymous', false, false, 0, now() "
            "FROM generate_series(1, %s)",
            (members,),
        )
        connection.execute(
            "INSERT INTO accounts (network_id, owner_kind, owner_id, purpose, asset) "
            "SELECT 1, 'member', m.id, 'member_points', 'points:bonus' FROM members m"
        )
        connection.execute(
            """
            INSERT INTO ledger_transactions (id, network_id, kind, outlet_id, memo, occurred_at, recorded_at)
            SELECT g, 1, 'purchase', o.id, '', t.at, t.at
            FROM generate_series(1, %(purchases)s) g
            CROSS JOIN LATERAL (SELECT %(start)s::timestamptz + g * interval '86399 seconds' / %(purchases)s AS at) t
            JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM outlets) o ON o.k = g %% %(partners)s
            """,
            {"purchases": purchases, "start": DAY_START, "partners": PARTNERS},
        )
        connection.execute("SELECT setval('ledger_transactions_id_seq', %s)", (purchases,))
        connection.execute(
            """
            WITH node AS (
              SELECT max(id) FILTER (WHERE purpose = 'points_issued') AS issued,
                     max(id) FILTER (WHERE purpose = 'points_redeemed') AS redeemed,
                     max(id) FILTER (WHERE owner_kind = 'node' AND purpose = 'obligations') AS owed
                FROM accounts WHERE owner_kind = 'node'),
            partner AS (
              SELECT o.id AS outlet_id, a.id AS owed
                FROM outlets o JOIN accounts a ON a.owner_kind = 'partner' AND a.owner_id = o.partner_id
                 AND a.purpose = 'obligations'),
            member AS (SELECT min(id) AS first FROM accounts WHERE owner_kind = 'member'),
            tx AS (
              SELECT t.id, p.owed AS partner_owed, member.first + t.id %% %(members)s AS member_account,
                     10 + t.id %% 200 AS earned, CASE WHEN t.id %% 5 = 0 THEN 5 + t.id %% 50 ELSE 0 END AS spent
                FROM ledger_transactions t JOIN partner p ON p.outlet_id = t.outlet_id, member)
            INSERT INTO postings (tx_id, account_id, asset, amount)
            SELECT tx.id, x.account, x.asset, x.amount
              FROM tx, node, LATERAL (VALUES
                (node.issued, 'points:bonus', -tx.earned), (tx.member_account, 'points:bonus', tx.earned),
                (tx.partner_owed, 'money:RUB', -100 * tx.earned), (node.owed, 'money:RUB', 100 * tx.earned),
                (tx.member_account, 'points:bonus', -tx.spent), (node.redeemed, 'points:bonus', tx.spent),
                (node.owed, 'money:RUB', -100 * tx.spent), (tx.partner_owed, 'money:RUB', 100 * tx.spent)
              ) AS x(account, asset, amount)
             WHERE x.amount <> 0
            """,
            {"members": members},
        )
        connection.execute("ANALYZE")


def measure(url: str) -> dict[str, float]:
    clock = Clock(DAY_START + timedelta(days=2))
    services = build_services(Settings(database_url=url, operator_token=None, public_url="http://bench"), clock)

    async def close() -> dict[str, float]:
        try:
            ref = await services.admin.network("park")
            started = time.perf_counter()
            statement = await services.settlement.close(ref.id, DAY_START + timedelta(days=1), DAY_START)
            seconds = time.perf_counter() - started
            transactions = sum(line["transactions"] for line in statement["partners"])
            return {"seconds": seconds, "transactions": transactions, "partners": len(statement["partners"])}
        finally:
            await services.close()

    return asyncio.run(close())


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--admin-url", default=os.environ.get("COALITION_BENCH_PG_URL") or default_admin_url())
    parser.add_argument("--database", default="coalition_bench_settlement")
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--docs", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    url = database_url(args.admin_url, args.database)
    started = time.perf_counter()
    load(url, args.admin_url, args.database, args.purchases, args.members)
    say(f"loaded in {time.perf_counter() - started:.0f} s; closing the day")
    figures = measure(url)
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    verdict = "meets" if figures["seconds"] < TARGET_SECONDS else "misses"
    text = (
        f"Latest run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, revision {revision}, "
        f"{len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}, PostgreSQL on the same machine.\n"
        f"Command: `.venv/bin/python -m bench.settlement` ({args.purchases:,} purchase transactions recorded over one "
        f"day, {PARTNERS} partners, every fifth also spending points).\n\n"
        f"Closing the day took **{figures['seconds']:.1f} s** ({figures['transactions']:,.0f} partner transactions "
        f"summed, {figures['partners']:.0f} partners). Target (issue 4): under {TARGET_SECONDS:g} s for 1,000,000 "
        f"purchases across 50 partners — {verdict} it."
    )
    print(text)
    if args.docs:
        write_section("settlement", "Settlement: closing a period", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
