"""Migration 0058 on both engines: `members.opening_spend_minor` comes with 0 for the members there, refuses a
negative opening spend, goes with the downgrade (the members stay) and comes back with the upgrade."""

from __future__ import annotations

import anyio
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from coalition.adapters.storage import migrate
from coalition.wiring import Services, build_services
from tests.support import make_network

pytestmark = pytest.mark.anyio


async def _member_columns(settings) -> list[str]:
    services = build_services(settings)
    try:
        async with services.engine.connect() as connection:

            def inspect(sync_connection: sa.Connection) -> list[str]:
                return [str(column["name"]) for column in sa.inspect(sync_connection).get_columns("members")]

            return await connection.run_sync(inspect)
    finally:
        await services.close()


async def test_the_opening_spend_column_comes_and_goes(settings, services: Services) -> None:
    net = await make_network(services)
    async with services.engine.begin() as connection:
        await connection.execute(
            sa.text(
                "INSERT INTO members (network_id, kind, consent_data_processing, consent_newsletters, "
                "lifetime_spend_minor, created_at) VALUES (:n, 'anonymous', false, false, 500, CURRENT_TIMESTAMP)"
            ),
            {"n": net.ref.id},
        )
    async with services.engine.connect() as connection:
        spends = (await connection.execute(sa.text("SELECT DISTINCT opening_spend_minor FROM members"))).all()
    assert [tuple(row) for row in spends] == [(0,)]
    with pytest.raises(IntegrityError):
        async with services.engine.begin() as connection:
            await connection.execute(sa.text("UPDATE members SET opening_spend_minor = -1"))
    await services.close()
    await anyio.to_thread.run_sync(migrate.downgrade, settings.database_url, "0057")
    assert "opening_spend_minor" not in await _member_columns(settings)
    await anyio.to_thread.run_sync(migrate.upgrade, settings.database_url)
    assert "opening_spend_minor" in await _member_columns(settings)
