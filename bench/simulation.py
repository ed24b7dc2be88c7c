"""How long simulating a draft rule set over 1,000,000 stored purchases takes (issue 3: under a minute here).

`.venv/bin/python -m bench.simulation` recreates the PostgreSQL database `coalition_bench_simulation`, migrates it,
creates a network of 50 partners with one outlet each and 100,000 members, and stores 1,000,000 purchases over 30
days straight in SQL (a tenth of them with three lines; no ledger rows: the simulation reads purchases only). Then it
saves the small-shop rule set of docs/rules.md plus a few more rules as the draft and times
`RulesService.simulate` over the 30 days — the same code the API and `coalition rules simulate` run — and writes the
figures to docs/benchmarks.md between the `simulation:latest` markers (`--no-docs` leaves the file alone).
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
from coalition.adapters.cli.parallel_simulation import simulate_in_processes
from coalition.adapters.storage import migrate
from coalition.demo import SMALL_SHOP_PROGRAM
from coalition.settings import Settings
from coalition.wiring import build_services

TARGET_SECONDS = 60.0
PERIOD_START = datetime(2026, 10, 1, tzinfo=UTC)
PERIOD_DAYS = 30

DRAFT = {
    "rules": [
        {
            "code": "lifetime-below-10000",
            "condition": "member.lifetime_spend_minor < 1000000",
            "stacking": "exclusive",
            "group": "lifetime",
            "effects": [
                {"accrue_percent": {"percent": "3"}},
                {"set_redemption": {"cap_percent": "15", "min_check": "1500.00"}},
            ],
        },
        {
            "code": "lifetime-10000-to-50000",
            "condition": "member.lifetime_spend_minor >= 1000000 && member.lifetime_spend_minor <= 5000000",
            "stacking": "exclusive",
            "group": "lifetime",
            "effects": [
                {"accrue_percent": {"percent": "5"}},
                {"set_redemption": {"cap_percent": "30", "min_check": "1500.00"}},
            ],
        },
        {
            "code": "lifetime-above-50000",
            "condition": "member.lifetime_spend_minor > 5000000",
            "stacking": "exclusive",
            "group": "lifetime",
            "effects": [
                {"accrue_percent": {"percent": "7"}},
                {"set_redemption": {"cap_percent": "50", "min_check": "1500.00"}},
            ],
        },
        {"code": "morning", "window": {"until": "12:00"}, "effects": [{"discount": {"percent": "5"}}]},
        {"code": "day-15", "window": {"days_of_month": [15]}, "effects": [{"discount": {"percent": "15"}}]},
        {
            "code": "coffee",
            "condition": '"coffee" in basket.categories',
            "effects": [{"discount": {"percent": "10", "target": "lines", "lines": {"categories": ["coffee"]}}}],
        },
        {
            "code": "partner-7-double",
            "scope": {"partners": ["Partner 7"]},
            "effects": [{"accrue_percent": {"percent": "3"}}],
        },
    ]
}


def load(url: str, admin_url: str, database: str, purchases: int, members: int) -> None:
    recreate_database(admin_url, database)
    migrate.upgrade(url)

    async def network() -> None:
        services = build_services(Settings(database_url=url, operator_token=None, public_url="http://bench"))
        try:
            created = await services.admin.create_network("sim", "Simulation", "RUB", SMALL_SHOP_PROGRAM)
            ref = await services.admin.network("sim")
            assert created["id"] == ref.id
            for number in range(1, 51):
                partner = await services.admin.create_partner(ref, f"Partner {number}")
                outlet = await services.admin.create_outlet(ref, partner["id"], f"Outlet {number}", "Europe/Moscow")
                await services.admin.create_terminal(ref, outlet["id"], "POS")
        finally:
            await services.close()

    asyncio.run(network())
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        say(f"storing {members:,} members and {purchases:,} purchases in SQL")
        connection.execute(
            "INSERT INTO members (network_id, kind, consent_data_processing, consent_newsletters, "
            "lifetime_spend_minor, created_at) "
            "SELECT n.id, 'anonymous', false, false, 0, now() "
            "FROM networks n, generate_series(1, %s) WHERE n.code = 'sim'",
            (members,),
        )
        connection.execute(
            """
            INSERT INTO purchases (id, network_id, outlet_id, terminal_id, cashier_login, member_id, card_id, receipt,
                                   check_minor, points_redeemed, amount_due_minor, points_earned, tx_id, occurred_at,
                                   recorded_at)
            SELECT md5(g::text)::uuid::text, n.id, o.id, NULL, NULL,
                   m.first_id + (g::bigint * 7919) %% %(members)s, NULL,
                   'r' || g, c.check_minor, 0, c.check_minor, c.check_minor * 3 / 10000, NULL,
                   %(start)s::timestamptz + (g * interval '1 second' * %(spread)s / %(purchases)s),
                   %(start)s::timestamptz + (g * interval '1 second' * %(spread)s / %(purchases)s)
            FROM generate_series(1, %(purchases)s) g
            CROSS JOIN (SELECT id FROM networks WHERE code = 'sim') n
            CROSS JOIN (SELECT min(id) AS first_id FROM members) m
            CROSS JOIN LATERAL (SELECT 10000 + (g::bigint * 104729) %% 500000 AS check_minor) c
            JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM outlets) o ON o.k = g %% 50
            """,
            {"members": members, "purchases": purchases, "start": PERIOD_START, "spread": PERIOD_DAYS * 86400},
        )
        connection.execute(
            """
            INSERT INTO purchase_lines (purchase_id, line_no, sku, category, quantity_milli, unit_price_minor,
                                        total_minor)
            SELECT p.id, l.n, 'sku-' || l.n, (ARRAY['coffee', 'pastry', 'tea'])[l.n], 1000, p.check_minor / 3,
                   p.check_minor / 3
            FROM purchases p CROSS JOIN generate_series(1, 3) AS l(n)
            WHERE p.receipt LIKE '%%0'
            """
        )
        connection.execute("ANALYZE")


def measure(url: str, jobs: int) -> dict[str, float]:
    settings = Settings(database_url=url, operator_token=None, public_url="http://bench")

    async def save_draft() -> None:
        services = build_services(settings)
        try:
            await services.rules.save_draft(await services.admin.network("sim"), DRAFT)
        finally:
            await services.close()

    asyncio.run(save_draft())
    started = time.perf_counter()
    done = [0, started]

    def progress(count: int) -> None:
        done[0] += count
        if time.perf_counter() - done[1] > 5:
            done[1] = time.perf_counter()
            say(f"  {done[0]:,} priced")

    end = PERIOD_START + timedelta(days=PERIOD_DAYS + 1)
    report = simulate_in_processes(settings, "sim", PERIOD_START, end, None, jobs, on_progress=progress)
    return {"seconds": time.perf_counter() - started, "purchases": report["draft"]["purchases"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--admin-url", default=os.environ.get("COALITION_BENCH_PG_URL") or default_admin_url())
    parser.add_argument("--database", default="coalition_bench_simulation")
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--reuse", action="store_true", help="keep the loaded database from the last run")
    parser.add_argument("--jobs", type=int, default=2, help="processes (`coalition rules simulate --jobs`)")
    parser.add_argument("--docs", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    url = database_url(args.admin_url, args.database)
    if not args.reuse:
        started = time.perf_counter()
        load(url, args.admin_url, args.database, args.purchases, args.members)
        say(f"loaded in {time.perf_counter() - started:.0f} s")
    say("simulating the draft over the period")
    figures = measure(url, args.jobs)
    rate = figures["purchases"] / figures["seconds"]
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    verdict = "meets" if figures["seconds"] < TARGET_SECONDS else "misses"
    text = (
        f"Latest run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, revision {revision}, "
        f"{len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}, PostgreSQL on the same machine.\n"
        f"Command: `.venv/bin/python -m bench.simulation` ({figures['purchases']:,.0f} stored purchases over "
        f"{PERIOD_DAYS} days, 50 partners, a tenth with three lines; a draft of {len(DRAFT['rules'])} rules).\n\n"
        f"Simulation took **{figures['seconds']:.1f} s** ({rate:,.0f} purchases/s, {args.jobs} process(es), as "
        f"`coalition rules simulate --jobs {args.jobs}` runs it). Target (issue 3): "
        f"under {TARGET_SECONDS:g} s for 1,000,000 purchases — {verdict} it."
    )
    print(text)
    if args.docs:
        write_section("simulation", "Rule-set simulation", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
