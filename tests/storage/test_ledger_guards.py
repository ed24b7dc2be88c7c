"""The database itself guards the ledger; `verify` and `coalition verify` find what the guards cannot prevent."""

from __future__ import annotations

import anyio
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from coalition.adapters.cli.main import app
from coalition.adapters.storage import migrate
from coalition.adapters.storage.engine import backend_of, sync_url
from coalition.adapters.storage.verify import verify
from coalition.settings import Settings
from coalition.wiring import Services, build_services
from tests.support import buy, client, enrol, make_network, table_counts

pytestmark = pytest.mark.anyio

CARD = "1100-0001"
LEDGER_TABLES = ("ledger_transactions", "postings")


async def _ledger_with_a_purchase(services: Services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, CARD)
        assert (await buy(http, net.shop_key, CARD, "5000.00")).status_code == 201
        assert (await buy(http, net.shop_key, CARD, "2000.00", redeem=100)).status_code == 201


async def _scalar(services: Services, sql: str) -> int:
    async with services.engine.connect() as connection:
        return int((await connection.execute(sa.text(sql))).scalar_one())


async def _ledger_fingerprint(services: Services) -> tuple[int, int, int]:
    return (
        await _scalar(services, "SELECT COUNT(*) FROM ledger_transactions"),
        await _scalar(services, "SELECT COUNT(*) FROM postings"),
        await _scalar(services, "SELECT COALESCE(SUM(ABS(amount)), 0) FROM postings"),
    )


def _cli_verify(url: str):
    return CliRunner().invoke(app, ["verify", "--database-url", url])


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE postings SET amount = amount * 2",
        "DELETE FROM postings",
        "UPDATE ledger_transactions SET memo = 'edited'",
        "DELETE FROM ledger_transactions",
    ],
    ids=["update-postings", "delete-postings", "update-transactions", "delete-transactions"],
)
async def test_ledger_rows_cannot_be_updated_or_deleted(services, statement):
    await _ledger_with_a_purchase(services)
    before = await _ledger_fingerprint(services)
    assert before[0] == 2 and before[1] > 0
    with pytest.raises(DBAPIError, match="append-only"):
        async with services.engine.begin() as connection:
            await connection.execute(sa.text(statement))
    assert await _ledger_fingerprint(services) == before
    assert await verify(services.engine) == []


@pytest.mark.postgres
async def test_postgresql_refuses_at_commit_a_transaction_whose_postings_do_not_balance(pg_database_url):
    from coalition.settings import Settings
    from coalition.wiring import build_services

    services = build_services(Settings(database_url=pg_database_url, operator_token=None, public_url="http://t"))
    try:
        await _ledger_with_a_purchase(services)
        before = await _ledger_fingerprint(services)
        async with services.engine.connect() as connection:
            tx_id, account_id, asset = (
                await connection.execute(sa.text("SELECT tx_id, account_id, asset FROM postings ORDER BY id LIMIT 1"))
            ).one()

        insert = sa.text("INSERT INTO postings (tx_id, account_id, asset, amount) VALUES (:tx, :account, :asset, :n)")
        new_tx = sa.text(
            "INSERT INTO ledger_transactions (network_id, kind, memo, occurred_at, recorded_at) "
            "SELECT network_id, 'adjustment', 'test', now(), now() FROM ledger_transactions WHERE id = :tx RETURNING id"
        )
        # Postings may not join a transaction committed earlier, even balanced ones...
        with pytest.raises(DBAPIError, match="same database transaction"):
            async with services.engine.begin() as connection:
                await connection.execute(insert, {"tx": tx_id, "account": account_id, "asset": asset, "n": 5})
                await connection.execute(insert, {"tx": tx_id, "account": account_id, "asset": asset, "n": -5})
        # ...a new transaction's postings are checked at commit, not one by one: a balanced pair inserted
        # separately is accepted...
        async with services.engine.begin() as connection:
            fresh = (await connection.execute(new_tx, {"tx": tx_id})).scalar_one()
            await connection.execute(insert, {"tx": fresh, "account": account_id, "asset": asset, "n": 5})
            await connection.execute(insert, {"tx": fresh, "account": account_id, "asset": asset, "n": -5})
        # ...an unbalanced one is refused when the transaction commits, and so is one without postings.
        with pytest.raises(DBAPIError, match="does not balance"):
            async with services.engine.begin() as connection:
                fresh = (await connection.execute(new_tx, {"tx": tx_id})).scalar_one()
                await connection.execute(insert, {"tx": fresh, "account": account_id, "asset": asset, "n": 7})
                await connection.execute(insert, {"tx": fresh, "account": account_id, "asset": asset, "n": -6})
        with pytest.raises(DBAPIError, match="needs at least two"):
            async with services.engine.begin() as connection:
                await connection.execute(new_tx, {"tx": tx_id})
        after = await _ledger_fingerprint(services)
        assert after[0] == before[0] + 1
        assert after[1] == before[1] + 2
        assert after[2] == before[2] + 10
        assert await verify(services.engine) == []
    finally:
        await services.close()


@pytest.mark.postgres
async def test_postgresql_checks_every_ledger_transaction_of_a_database_transaction(pg_database_url):
    """Several ledger transactions per database transaction, a savepoint rolled back, constraints made immediate."""
    services = build_services(Settings(database_url=pg_database_url, operator_token=None, public_url="http://t"))
    try:
        await _ledger_with_a_purchase(services)
        async with services.engine.connect() as connection:
            tx_id, account_id, asset = (
                await connection.execute(sa.text("SELECT tx_id, account_id, asset FROM postings ORDER BY id LIMIT 1"))
            ).one()
        new_txs = sa.text(
            "INSERT INTO ledger_transactions (network_id, kind, memo, occurred_at, recorded_at) "
            "SELECT network_id, 'adjustment', 'test', now(), now() FROM ledger_transactions, generate_series(1, :n) "
            "WHERE id = :tx RETURNING id"
        )
        insert = sa.text("INSERT INTO postings (tx_id, account_id, asset, amount) VALUES (:tx, :account, :asset, :n)")

        async def pair(connection: sa.ext.asyncio.AsyncConnection, tx: int, plus: int, minus: int) -> None:
            for amount in (plus, -minus):
                await connection.execute(insert, {"tx": tx, "account": account_id, "asset": asset, "n": amount})

        before = await _ledger_fingerprint(services)
        # Only the last of three ledger transactions, inserted by two statements, is unbalanced.
        with pytest.raises(DBAPIError, match=r"does not balance: .* sums to 1"):
            async with services.engine.begin() as connection:
                first = (await connection.execute(new_txs, {"tx": tx_id, "n": 2})).scalars().all()
                last = (await connection.execute(new_txs, {"tx": tx_id, "n": 1})).scalar_one()
                for tx in first:
                    await pair(connection, tx, 3, 3)
                await pair(connection, last, 4, 3)
        assert await _ledger_fingerprint(services) == before
        # A savepoint rolled back takes its ledger transaction (without postings) out of the check; the rest pass.
        async with services.engine.begin() as connection:
            kept = (await connection.execute(new_txs, {"tx": tx_id, "n": 1})).scalar_one()
            await pair(connection, kept, 2, 2)
            savepoint = await connection.begin_nested()
            await connection.execute(new_txs, {"tx": tx_id, "n": 1})
            await savepoint.rollback()
        assert (await _ledger_fingerprint(services))[0] == before[0] + 1
        # Checked immediately, each statement's firings check what it noted: a transaction before its postings fails.
        with pytest.raises(DBAPIError, match="needs at least two"):
            async with services.engine.begin() as connection:
                await connection.execute(sa.text("SET CONSTRAINTS ALL IMMEDIATE"))
                await connection.execute(new_txs, {"tx": tx_id, "n": 1})
        assert await verify(services.engine) == []
    finally:
        await services.close()


_NEW_TX = (
    "INSERT INTO ledger_transactions (network_id, kind, memo, occurred_at, recorded_at) "
    "SELECT network_id, 'adjustment', 'test', occurred_at, recorded_at FROM ledger_transactions "
    "WHERE id = (SELECT min(id) FROM ledger_transactions);"
)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO postings (tx_id, account_id, asset, amount) SELECT 999999, account_id, asset, 1 FROM postings",
        _NEW_TX + "INSERT INTO postings (tx_id, account_id, asset, amount) "
        "SELECT (SELECT max(id) FROM ledger_transactions), 999999, asset, 1 FROM postings",
        _NEW_TX + "INSERT INTO postings (tx_id, account_id, asset, amount) "
        "SELECT (SELECT max(id) FROM ledger_transactions), account_id, 'points:other', 1 FROM postings",
        "INSERT INTO ledger_transactions (network_id, kind, memo, occurred_at, recorded_at) "
        "SELECT 999999, kind, memo, occurred_at, recorded_at FROM ledger_transactions",
        "INSERT INTO purchase_lines (purchase_id, line_no, sku, quantity_milli, unit_price_minor, total_minor) "
        "VALUES ('no-such-purchase', 1, 'sku', 1000, 100, 100)",
        "UPDATE purchases SET member_id = 999999",
        "UPDATE lots SET account_id = 999999",
        "DELETE FROM terminals",
        "DELETE FROM accounts",
        "DELETE FROM networks",
        "UPDATE outlets SET id = id + 1000",
        "INSERT INTO lots (account_id, tx_id, points, remaining, expires_at, granting_partner_id) "
        "SELECT account_id, tx_id, 1, 1, NULL, 999999 FROM lots",
        "UPDATE lots SET granting_partner_id = 999999",
        "INSERT INTO lot_takes (tx_id, lot_id, points) SELECT tx_id, 999999, 1 FROM lots",
        "INSERT INTO lot_takes (tx_id, lot_id, points) SELECT 999999, id, 1 FROM lots",
        "INSERT INTO purchases (id, network_id, outlet_id, terminal_id, member_id, receipt, check_minor, "
        "points_redeemed, amount_due_minor, points_earned, occurred_at, recorded_at) SELECT 'p-x', network_id, "
        "outlet_id, 999999, member_id, 'r-x', 100, 0, 100, 0, occurred_at, recorded_at FROM purchases LIMIT 1",
        "INSERT INTO idempotency_keys (terminal_id, key, request_hash, status_code, response, created_at) "
        "SELECT 999999, 'k-x', request_hash, status_code, response, created_at FROM idempotency_keys LIMIT 1",
    ],
    ids=[
        "posting-tx",
        "posting-account",
        "posting-asset",
        "transaction-network",
        "line-purchase",
        "purchase-member",
        "lot-account",
        "delete-terminals",
        "delete-accounts",
        "delete-networks",
        "outlet-id",
        "lot-grantor",
        "lot-grantor-changed",
        "take-lot",
        "take-tx",
        "purchase-terminal",
        "idempotency-terminal",
    ],
)
async def test_references_of_the_purchase_path_cannot_dangle(services, statement):
    """Row-level foreign keys on SQLite; on PostgreSQL foreign keys for purchase lines and lot takes, one set-based
    check per statement for the rest (migrations 0005, 0029)."""
    await _ledger_with_a_purchase(services)
    before = await table_counts(services)
    with pytest.raises(DBAPIError, match=r"(?i)foreign key|refers to a row|refused"):
        async with services.engine.begin() as connection:
            for part in statement.split(";"):
                await connection.execute(sa.text(part))
    assert await table_counts(services) == before
    assert await verify(services.engine) == []


async def test_migrations_upgrade_downgrade_and_upgrade_again(database_url):
    def tables() -> set[str]:
        engine = sa.create_engine(sync_url(database_url))
        try:
            return set(sa.inspect(engine).get_table_names())
        finally:
            engine.dispose()

    migrated = tables()
    assert {
        "networks",
        "members",
        "cards",
        "ledger_transactions",
        "postings",
        "purchases",
        "refunds",
        "idempotency_keys",
        "lots",
    } <= migrated
    await anyio.to_thread.run_sync(migrate.downgrade, database_url, "base")
    assert tables() <= {"alembic_version"}
    await anyio.to_thread.run_sync(migrate.upgrade, database_url)
    assert tables() == migrated

    # The guards are back after the round trip.
    from coalition.settings import Settings
    from coalition.wiring import build_services

    services = build_services(Settings(database_url=database_url, operator_token=None, public_url="http://t"))
    try:
        await _ledger_with_a_purchase(services)
        with pytest.raises(DBAPIError, match="append-only"):
            async with services.engine.begin() as connection:
                await connection.execute(sa.text("DELETE FROM postings"))
        assert await verify(services.engine) == []
    finally:
        await services.close()


async def test_verify_and_the_cli_find_a_running_balance_that_differs_from_its_postings(services):
    await _ledger_with_a_purchase(services)
    url = services.settings.database_url
    clean = await anyio.to_thread.run_sync(_cli_verify, url)
    assert clean.exit_code == 0, clean.output
    assert "FAIL" not in clean.output

    async with services.engine.begin() as connection:
        await connection.execute(sa.text("UPDATE member_balances SET balance = balance + 1"))
    violations = await verify(services.engine)
    names = {violation.check.name for violation in violations}
    assert "member-balances-equal-postings" in names
    assert "lots-cover-balance" in names
    rows = next(v.rows for v in violations if v.check.name == "member-balances-equal-postings")
    assert [(int(row[1]), int(row[2])) for row in rows] == [(108, 107)]

    failed = await anyio.to_thread.run_sync(_cli_verify, url)
    assert failed.exit_code == 1, failed.output
    assert "FAIL" in failed.output
    assert "member-balances-equal-postings" in failed.output


async def test_verify_finds_lots_that_do_not_match_their_takes(services):
    await _ledger_with_a_purchase(services)
    async with services.engine.begin() as connection:
        await connection.execute(sa.text("UPDATE lots SET remaining = remaining - 1 WHERE remaining > 0"))
    names = {violation.check.name for violation in await verify(services.engine)}
    assert names == {"lots-cover-balance", "lots-equal-takes"}


async def test_verify_finds_a_lifetime_spend_that_differs_from_the_history(services):
    await _ledger_with_a_purchase(services)
    async with services.engine.begin() as connection:
        await connection.execute(sa.text("UPDATE members SET lifetime_spend_minor = lifetime_spend_minor + 100"))
    names = {violation.check.name for violation in await verify(services.engine)}
    assert names == {"lifetime-spend-equals-history"}
    failed = await anyio.to_thread.run_sync(_cli_verify, services.settings.database_url)
    assert failed.exit_code == 1, failed.output


async def test_verify_and_the_cli_find_unbalanced_postings_on_sqlite(sqlite_database_url):
    """SQLite has no deferred triggers, so an unbalanced insert gets in; verify must catch it."""
    from coalition.settings import Settings
    from coalition.wiring import build_services

    assert backend_of(sqlite_database_url) == "sqlite"
    services = build_services(Settings(database_url=sqlite_database_url, operator_token=None, public_url="http://t"))
    try:
        await _ledger_with_a_purchase(services)
        async with services.engine.begin() as connection:
            tx_id, asset = (
                await connection.execute(
                    sa.text(
                        "SELECT p.tx_id, p.asset FROM postings p JOIN accounts a ON a.id = p.account_id "
                        "WHERE a.owner_kind = 'node' ORDER BY p.id LIMIT 1"
                    )
                )
            ).one()
            account_id = (
                await connection.execute(
                    sa.text("SELECT account_id FROM postings WHERE tx_id = :tx AND asset = :asset ORDER BY id LIMIT 1"),
                    {"tx": tx_id, "asset": asset},
                )
            ).scalar_one()
            await connection.execute(
                sa.text("INSERT INTO postings (tx_id, account_id, asset, amount) VALUES (:tx, :a, :asset, 3)"),
                {"tx": tx_id, "a": account_id, "asset": asset},
            )
        violations = await verify(services.engine)
        assert [v.check.name for v in violations] == ["transactions-balance"]
        assert [(row[0], row[1], int(row[2])) for row in violations[0].rows] == [(tx_id, asset, 3)]
        failed = await anyio.to_thread.run_sync(_cli_verify, sqlite_database_url)
        assert failed.exit_code == 1, failed.output
        assert "transactions-balance" in failed.output
    finally:
        await services.close()


async def test_verify_finds_a_transaction_without_postings(sqlite_database_url):
    """On SQLite a transaction row with no postings passes the database guards; verify reports it.
    (PostgreSQL refuses it at commit: see the deferred-trigger test above.)"""
    services = build_services(Settings(database_url=sqlite_database_url, operator_token=None, public_url="http://t"))
    try:
        await _sqlite_empty_transaction_is_reported(services)
    finally:
        await services.close()


async def _sqlite_empty_transaction_is_reported(services: Services) -> None:
    await _ledger_with_a_purchase(services)
    async with services.engine.begin() as connection:
        network_id = (await connection.execute(sa.text("SELECT id FROM networks"))).scalar_one()
        await connection.execute(
            sa.text(
                "INSERT INTO ledger_transactions (network_id, kind, memo, occurred_at, recorded_at) "
                "VALUES (:n, 'adjustment', 'empty', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"n": network_id},
        )
    names = [violation.check.name for violation in await verify(services.engine)]
    assert names == ["transactions-have-postings"]


_BULK_WRITE = "SELECT set_config('coalition.bulk_write', 'on', true);"


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO postings (tx_id, account_id, asset, amount) SELECT 999999, account_id, asset, 1 FROM postings",
        _NEW_TX + "INSERT INTO postings (tx_id, account_id, asset, amount) "
        "SELECT (SELECT max(id) FROM ledger_transactions), 999999, asset, 1 FROM postings",
        _NEW_TX + "INSERT INTO postings (tx_id, account_id, asset, amount) "
        "SELECT (SELECT max(id) FROM ledger_transactions), account_id, 'points:other', 1 FROM postings",
        "INSERT INTO postings (tx_id, account_id, asset, amount) SELECT tx_id, account_id, asset, amount FROM postings",
    ],
    ids=["posting-tx", "posting-account", "posting-asset", "posting-on-an-earlier-transaction"],
)
async def test_a_bulk_write_checks_the_postings_references_as_strictly(pg_database_url, statement):
    """A batch says it writes in bulk (migration 0033): its postings' references are probed once per distinct
    value instead of once per row, and a missing one, or a ledger transaction of another database transaction,
    is refused all the same."""
    services = build_services(Settings(database_url=pg_database_url, operator_token=None, public_url="http://t"))
    try:
        await _ledger_with_a_purchase(services)
        before = await table_counts(services)
        with pytest.raises(DBAPIError, match=r"insert into postings refused: (refers to a row|postings may join)"):
            async with services.engine.begin() as connection:
                for part in (_BULK_WRITE + statement).split(";"):
                    await connection.execute(sa.text(part))
        assert await table_counts(services) == before
        # the same rows on the ledger transaction of their own database transaction pass in bulk too
        async with services.engine.begin() as connection:
            await connection.execute(sa.text(_BULK_WRITE))
            await connection.execute(sa.text(_NEW_TX))
            await connection.execute(
                sa.text(
                    "INSERT INTO postings (tx_id, account_id, asset, amount) "
                    "SELECT (SELECT max(id) FROM ledger_transactions), account_id, asset, amount FROM postings "
                    "WHERE tx_id = (SELECT min(tx_id) FROM postings)"
                )
            )
        after = await table_counts(services)
        assert after["ledger_transactions"] == before["ledger_transactions"] + 1
        assert after["postings"] > before["postings"]
    finally:
        await services.close()
