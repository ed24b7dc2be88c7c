"""How long a campaign's segment takes on PostgreSQL with 100,000 members (docs/messages.md, "Campaigns").

`.venv/bin/python -m bench.campaign_segment` makes a throwaway database on COALITION_TEST_PG_URL's server (default
127.0.0.1:5432), migrated to head, with one network of 100,000 personal members (tiers gold/silver/bronze, a tenth
labelled vip, spends spread up to 50,000.00) and 300,000 purchases over the last 120 days, then times the segment's
count (median of 5) and one page of 500 members from the middle, for three segments. It prints the figures and drops
the database.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import asyncpg  # type: ignore[import-untyped]
from alembic import command
from sqlalchemy import text

from coalition.adapters.storage.campaign_store import SqlCampaignStore
from coalition.adapters.storage.engine import create_engine
from coalition.adapters.storage.migrate import alembic_config
from coalition.domain.campaigns import SegmentMoments, parse_segment

DB = "campaigns_bench"
SERVER = os.environ.get("COALITION_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
URL = SERVER.rsplit("/", 1)[0] + f"/{DB}"
SEED = """
INSERT INTO networks (id, code, name, currency, admin_key_hash, created_at) VALUES (1, 'b', 'B', 'RUB', 'x', now());
INSERT INTO partners (id, network_id, name, created_at) VALUES (1, 1, 'P', now());
INSERT INTO outlets (id, network_id, partner_id, name, timezone, created_at)
VALUES (1, 1, 1, 'O', 'Europe/Moscow', now());
INSERT INTO members (id, network_id, kind, name, email, consent_data_processing, consent_newsletters,
                     lifetime_spend_minor, created_at, tier, segments)
SELECT g, 1, 'personal', 'm' || g, 'm' || g || '@x.example', true, g % 3 <> 0, (g * 7919) % 5000000, now(),
       (ARRAY['gold', 'silver', 'bronze'])[1 + g % 3], CASE WHEN g % 10 = 0 THEN 'vip' ELSE '' END
FROM generate_series(1, 100000) g;
INSERT INTO purchases (id, network_id, outlet_id, member_id, receipt, check_minor, points_redeemed, amount_due_minor,
                       points_earned, occurred_at, recorded_at)
SELECT md5(g::text || 'p')::uuid::text, 1, 1, 1 + (g * 31) % 100000, 'r' || g, 100000, 0, 100000, 10,
       now() - ((g % 120) || ' days')::interval, now()
FROM generate_series(1, 300000) g;
ANALYZE
"""
SEGMENTS = {
    "gold, spent >= 10,000.00, visited in the last 30 days": {
        "tier": "gold",
        "spend_from": "10000.00",
        "visited_within_days": 30,
    },
    "every member": {},
    "vip, no visit in the last 60 days": {"segment": "vip", "last_visit_before": "2026-10-07"},
}


async def _database(sql: str) -> None:
    connection = await asyncpg.connect(SERVER)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _measure() -> None:
    engine = create_engine(URL)
    try:
        async with engine.begin() as connection:
            for statement in SEED.strip().split(";\n"):
                await connection.execute(text(statement))
        store = SqlCampaignStore(engine)
        for name, data in SEGMENTS.items():
            segment = parse_segment(data, "RUB")
            moments = SegmentMoments.of(segment, ZoneInfo("Europe/Moscow"), datetime.now(UTC))
            times = []
            for _ in range(5):
                start = time.perf_counter()
                audience = await store.audience_count(1, segment, moments)
                times.append(time.perf_counter() - start)
            start = time.perf_counter()
            await store.audience_page(1, segment, moments, 50_000, 500)
            page = time.perf_counter() - start
            print(
                f"{name}: audience {audience}, count {sorted(times)[2] * 1000:.0f} ms (median of 5), "
                f"a page of 500 from the middle {page * 1000:.0f} ms"
            )
    finally:
        await engine.dispose()


def main() -> None:
    asyncio.run(_database(f"DROP DATABASE IF EXISTS {DB}"))
    asyncio.run(_database(f"CREATE DATABASE {DB}"))
    try:
        command.upgrade(alembic_config(URL), "head")
        asyncio.run(_measure())
    finally:
        asyncio.run(_database(f"DROP DATABASE IF EXISTS {DB}"))


if __name__ == "__main__":
    main()
