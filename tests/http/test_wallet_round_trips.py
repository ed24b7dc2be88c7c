"""What a purchase paid from a wallet costs the database (issue 14: no more than a points redemption): its first try
reads the member, their points and their wallet in one statement and writes in one more, like a plain purchase,
which still sends the very statement it sent before wallets existed. Counted at the purchase path's driver."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from coalition.adapters.storage import driver
from coalition.adapters.storage.verify import verify
from tests.http.test_wallets import CARD, pay, top_up, wallet
from tests.support import auth, client, enrol, make_network

pytestmark = pytest.mark.anyio

_SENDS = ("fetch", "fetchrow", "fetchval", "execute", "executemany", "insert_many", "update_many")


@contextmanager
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The SQL every statement the purchase path sends through the driver, on either engine, in order."""
    sent: list[str] = []
    with monkeypatch.context() as patch:
        for db_class in (driver.AsyncpgDb, driver.SqliteDb):
            for name in _SENDS:
                original = getattr(db_class, name)

                def counted(self: Any, sql: Any, *args: Any, _original: Any = original) -> Any:
                    sent.append(str(sql))
                    return _original(self, sql, *args)

                patch.setattr(db_class, name, counted)
        yield sent


def reads_before_the_write(sent: list[str]) -> list[str]:
    """The reads a purchase sent before its first write."""
    reads = []
    for sql in sent:
        if not sql.lstrip().upper().startswith("SELECT"):
            break
        reads.append(sql)
    return reads


async def test_a_wallet_payment_reads_the_member_and_the_wallet_in_one_statement(services, monkeypatch):
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        assert (await top_up(http, net.shop_key, "500.00")).status_code == 201
        warm = await pay(http, net.cafe_key, "10.00", [{"kind": "wallet"}])  # the caches: program, accounts, matrix
        assert warm.status_code == 201, warm.text
        plain_warm = await http.post(
            "/v1/purchases",
            json={"customer": CARD, "amount": "10.00", "receipt": "warm"},
            headers=auth(net.cafe_key, "warm-plain"),
        )
        assert plain_warm.status_code == 201, plain_warm.text

        with statements(monkeypatch) as sent:
            paid = await pay(http, net.cafe_key, "100.00", [{"kind": "wallet", "amount": "40.00"}])
        assert paid.status_code == 201, paid.text
        assert paid.json()["to_collect"] == "60.00"
        paying = list(sent)

        with statements(monkeypatch) as sent:
            plain = await http.post(
                "/v1/purchases",
                json={"customer": CARD, "amount": "100.00", "receipt": "plain"},
                headers=auth(net.cafe_key, "plain"),
            )
        assert plain.status_code == 201, plain.text
        plain_sent = list(sent)

        wallet_reads = reads_before_the_write(paying)
        assert len(wallet_reads) == 1, paying
        assert "wallets" in wallet_reads[0] and "lots" in wallet_reads[0]  # one read: member, points, wallet
        plain_reads = reads_before_the_write(plain_sent)
        assert len(plain_reads) == 1, plain_sent
        assert "wallets" not in plain_reads[0]  # a purchase without tenders reads as it always did
        assert not any("accounts" in sql and "prepaid" in sql for sql in paying)  # the PREPAID account is cached
        if services.settings.database_url.startswith("postgresql"):  # read + write, like a plain purchase
            assert len(paying) == len(plain_sent) == 2, (paying, plain_sent)
        assert (await wallet(http, net.shop_key))["balance"] == "450.00"
    assert await verify(services.engine) == []


async def test_a_daily_limit_is_counted_in_the_same_read(services, monkeypatch):
    """Under a daily limit the member's read also sums what the wallet paid today; still one read."""
    net = await make_network(services)
    async with client(services) as http:
        member = await enrol(http, net.shop_key, CARD)
        assert (await top_up(http, net.shop_key, "500.00")).status_code == 201
        member_id = member["member"]["id"] if "member" in member else member["id"]
        limited = await http.put(
            f"/v1/admin/members/{member_id}/wallet", json={"daily_spend_limit": "50.00"}, headers=auth(net.admin_key)
        )
        assert limited.status_code == 200, limited.text
        assert (await pay(http, net.cafe_key, "30.00", [{"kind": "wallet"}])).status_code == 201
        with statements(monkeypatch) as sent:
            paid = await pay(http, net.cafe_key, "100.00", [{"kind": "wallet"}])
        assert paid.status_code == 201, paid.text
        assert paid.json()["tenders"][0]["amount"] == "20.00"  # 50.00 a day, 30.00 of it paid before
        assert len(reads_before_the_write(list(sent))) == 1, sent


async def test_the_locked_retry_reads_the_wallet_after_the_lock(services, monkeypatch):
    """A first try that lost the race (its points' version moved) is redone under the member's lock, which reads the
    wallet and the day's spend again with the member (PostgreSQL: coalition_member_points_paying)."""
    from coalition.adapters.storage.pos_ledger import SqlLedger

    peek = SqlLedger.peek_member_points_paying

    async def lost_the_race(self, *args):
        member, points, version, paying = await peek(self, *args)
        return member, points, version - 1, paying  # a concurrent purchase moved the version since

    net = await make_network(services)
    async with client(services) as http:
        member = await enrol(http, net.shop_key, CARD)
        member_id = member["member"]["id"] if "member" in member else member["id"]
        assert (await top_up(http, net.shop_key, "500.00")).status_code == 201
        limited = await http.put(
            f"/v1/admin/members/{member_id}/wallet", json={"daily_spend_limit": "50.00"}, headers=auth(net.admin_key)
        )
        assert limited.status_code == 200, limited.text
        assert (await pay(http, net.cafe_key, "30.00", [{"kind": "wallet"}])).status_code == 201
        monkeypatch.setattr(SqlLedger, "peek_member_points_paying", lost_the_race)
        with statements(monkeypatch) as sent:
            paid = await pay(http, net.cafe_key, "100.00", [{"kind": "wallet"}])
        assert paid.status_code == 201, paid.text
        assert (paid.json()["tenders"][0]["amount"], paid.json()["to_collect"]) == ("20.00", "80.00")
        if services.settings.database_url.startswith("postgresql"):
            assert any("coalition_member_points_paying" in sql for sql in sent), sent
        assert (await wallet(http, net.shop_key))["balance"] == "450.00"
    assert await verify(services.engine) == []
