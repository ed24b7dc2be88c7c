"""Migration 0034 on a database with data, on both engines: partners and nodes without a PREPAID account get one
(money in the network's currency), those with one keep it, and a wallet payment then reads no account."""

from __future__ import annotations

import anyio
import pytest
import sqlalchemy as sa

from coalition.adapters.storage import migrate
from coalition.adapters.storage.verify import verify
from coalition.wiring import build_services
from tests.http.test_wallets import CARD, pay, top_up, wallet
from tests.support import client, enrol, make_network

pytestmark = pytest.mark.anyio

_PREPAID = (
    "SELECT owner_kind, owner_id, asset, id FROM accounts WHERE purpose = 'prepaid' ORDER BY owner_kind, owner_id, id"
)


async def _prepaid(services) -> list[tuple[str, int, str, int]]:
    async with services.engine.connect() as connection:
        return [(row[0], int(row[1]), row[2], int(row[3])) for row in await connection.execute(sa.text(_PREPAID))]


_OLD_ROWS = (  # what the code before 0034 wrote: a network and a partner with no PREPAID account
    "INSERT INTO networks (code, name, currency, admin_key_hash, created_at) "
    "VALUES ('old', 'Old network', 'EUR', 'old-hash', '2026-01-01 00:00:00')",
    "INSERT INTO partners (network_id, name, created_at) "
    "SELECT id, 'Old partner', '2026-01-01 00:00:00' FROM networks WHERE code = 'old'",
    "INSERT INTO accounts (network_id, owner_kind, owner_id, purpose, asset) "
    "SELECT network_id, 'partner', id, 'obligations', 'money:EUR' FROM partners WHERE name = 'Old partner'",
)


async def test_existing_partners_and_nodes_get_their_prepaid_account(settings):
    services = build_services(settings)
    try:
        net = await make_network(services)
        async with client(services) as http:
            await enrol(http, net.shop_key, CARD)
            assert (await top_up(http, net.shop_key, "100.00")).status_code == 201  # the shop's account is used
        created = await _prepaid(services)
        async with services.engine.connect() as connection:
            partners = sorted(int(row[0]) for row in await connection.execute(sa.text("SELECT id FROM partners")))
    finally:
        await services.close()
    # a network and its partners have theirs from the start
    assert [(kind, owner, asset) for kind, owner, asset, _ in created] == [("node", 0, "money:RUB")] + [
        ("partner", partner, "money:RUB") for partner in partners
    ]

    await anyio.to_thread.run_sync(migrate.downgrade, settings.database_url, "0033")
    services = build_services(settings)
    try:
        assert await _prepaid(services) == created  # kept on the way down
        async with services.engine.begin() as connection:
            for statement in _OLD_ROWS:
                await connection.execute(sa.text(statement))
            old_partner = int(
                (await connection.execute(sa.text("SELECT id FROM partners WHERE name = 'Old partner'"))).scalar_one()
            )
    finally:
        await services.close()

    await anyio.to_thread.run_sync(migrate.upgrade, settings.database_url)
    services = build_services(settings)
    try:
        after = await _prepaid(services)
        assert [row for row in after if row in created] == created  # those there keep their ids
        added = [(kind, owner, asset) for kind, owner, asset, _ in after if (kind, owner, asset, _) not in created]
        assert added == [("node", 0, "money:EUR"), ("partner", old_partner, "money:EUR")]
        async with client(services) as http:  # and a wallet payment at the café credits the café's account
            paid = await pay(http, net.cafe_key, "30.00", [{"kind": "wallet"}])
            assert paid.status_code == 201, paid.text
            assert (await wallet(http, net.shop_key))["balance"] == "70.00"
        assert await verify(services.engine) == []
    finally:
        await services.close()
