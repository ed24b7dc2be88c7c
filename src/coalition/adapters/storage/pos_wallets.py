"""The POS unit of work's wallets: a member's prepaid money (row `wallets`, its ledger account member_wallet), the
partners' PREPAID accounts (created on first use), top-ups and refunds into a wallet, limits and history.

A wallet's balance changes only by a relative update (`balance_minor + x`): the CHECK
`balance_minor + credit_limit_minor >= 0` refuses the write that would overdraw it, whatever raced it (driver.py
turns that refusal into InsufficientFunds)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coalition.adapters.storage.account_lines import account_lines
from coalition.adapters.storage.driver import Db
from coalition.adapters.storage.pos_base import SqlPart
from coalition.application.pos_ports.lines import EVERY_LINE, LineWindow
from coalition.application.pos_ports.wallets import PaidTender, PayingWallet, WalletLine
from coalition.domain.ledger import AccountPurpose, OwnerKind, money_asset
from coalition.domain.wallets import Wallet, WalletStatus

_WALLET = (
    "SELECT account_id, member_id, currency, balance_minor, credit_limit_minor, daily_spend_limit_minor, status "
    "FROM wallets "
)


# What a wallet `w` paid for purchases since `{since}` (its postings by account, ix_postings_account_tx, each one's
# transaction by its key), and what devices held or took of it in holds begun since then (the member's holds,
# ix_device_holds_member_id_status): a hold counts all it holds while held, then what its capture took. A hold counts
# on the day it began, so one of yesterday given back today (a void, an expiry, a capture's rest) adds nothing to
# what the card may spend today; and what devices' offline uses took of it, uploaded since then (one network, one
# currency: ix_device_offline_uses_member_id). Only under a daily limit (else 0).
_SPENT = """(SELECT COALESCE(SUM(-p.amount), 0) FROM postings p JOIN ledger_transactions t ON t.id = p.tx_id
    WHERE p.account_id = {account} AND t.recorded_at >= {since} AND p.amount < 0 AND t.kind = 'purchase')
  + (SELECT COALESCE(SUM(CASE WHEN h.status = 'held' THEN h.amount_minor ELSE h.captured_minor END), 0)
    FROM device_holds h WHERE h.member_id = {member} AND h.currency = {currency} AND h.started_at >= {since})
  + (SELECT COALESCE(SUM(o.amount_minor - o.unpaid_minor), 0)
    FROM device_offline_uses o WHERE o.member_id = {member} AND o.created_at >= {since})"""
SPENT_TODAY = (
    "CASE WHEN w.daily_spend_limit_minor IS NULL THEN 0 ELSE "
    + _SPENT.format(account="w.account_id", member="w.member_id", currency="w.currency", since="{since}")
    + " END"
)


def wallet_columns(since: str) -> str:
    """The columns of a wallet `w` (LEFT JOINed: NULL when there is none) as a member's read returns them beside the
    points, and what it spent since the parameter `since` (a daily limit's sum)."""
    return (
        "w.account_id AS wallet_account_id, w.balance_minor AS wallet_balance_minor, "
        "w.credit_limit_minor AS wallet_credit_limit_minor, "
        "w.daily_spend_limit_minor AS wallet_daily_spend_limit_minor, w.status AS wallet_status, "
        f"{SPENT_TODAY.format(since=since)} AS wallet_spent_minor"
    )


# One row whether or not the member has a wallet: the wallet and today's spend (only under a daily limit).
_FOR_PAYMENT = (
    f"SELECT {wallet_columns('$3')} FROM (SELECT 1 AS one) AS x "
    "LEFT JOIN wallets w ON w.member_id = $1 AND w.currency = $2"
)


def paying_wallet(row: Any, member_id: int, currency: str) -> PayingWallet:
    """The wallet of a row with the prefixed WALLET_COLUMNS (no wallet: its account is NULL)."""
    if row["wallet_account_id"] is None:
        return PayingWallet(None)
    wallet = Wallet(
        account_id=int(row["wallet_account_id"]),
        member_id=member_id,
        currency=currency,
        balance_minor=int(row["wallet_balance_minor"]),
        credit_limit_minor=int(row["wallet_credit_limit_minor"]),
        daily_spend_limit_minor=row["wallet_daily_spend_limit_minor"],
        status=WalletStatus(row["wallet_status"]),
    )
    return PayingWallet(wallet, max(0, int(row["wallet_spent_minor"] or 0)))


async def read_paying_wallet(db: Db, member_id: int, currency: str, since: datetime) -> PayingWallet:
    row = await db.fetchrow(_FOR_PAYMENT, member_id, currency, since)
    if row is None:
        raise LookupError("the payment read returned no row")
    return paying_wallet(row, member_id, currency)


def _wallet(row: Any) -> Wallet:
    return Wallet(
        account_id=int(row["account_id"]),
        member_id=int(row["member_id"]),
        currency=row["currency"],
        balance_minor=int(row["balance_minor"]),
        credit_limit_minor=int(row["credit_limit_minor"]),
        daily_spend_limit_minor=row["daily_spend_limit_minor"],
        status=WalletStatus(row["status"]),
    )


class SqlWallets(SqlPart):
    """The `WalletsPort` in SQL."""

    async def wallet(self, member_id: int, currency: str) -> Wallet | None:
        row = await self.db.fetchrow(_WALLET + "WHERE member_id = $1 AND currency = $2", member_id, currency)
        return None if row is None else _wallet(row)

    async def wallet_of_account(self, account_id: int) -> Wallet | None:
        row = await self.db.fetchrow(_WALLET + "WHERE account_id = $1", account_id)
        return None if row is None else _wallet(row)

    async def open_wallet(self, network_id: int, member_id: int, currency: str, now: datetime) -> Wallet:
        found = await self.wallet(member_id, currency)
        if found is not None:
            return found
        account_id = await self._account(
            network_id, OwnerKind.MEMBER, member_id, AccountPurpose.MEMBER_WALLET, money_asset(currency)
        )
        await self.db.execute(
            "INSERT INTO wallets (account_id, network_id, member_id, currency, created_at) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT DO NOTHING",
            account_id,
            network_id,
            member_id,
            currency,
            now,
        )
        created = await self.wallet(member_id, currency)
        if created is None:
            raise LookupError(f"member {member_id} has no {currency} wallet")
        return created

    async def wallet_spent_since(self, account_id: int, since: datetime) -> int:
        spent = await self.db.fetchval(
            "SELECT "
            + _SPENT.format(account="$1", member="w.member_id", currency="w.currency", since="$2")
            + " FROM wallets w WHERE w.account_id = $1",
            account_id,
            since,
        )
        return int(spent or 0)

    async def prepaid_account(self, network_id: int, owner: OwnerKind, owner_id: int, currency: str) -> int:
        return await self._account(network_id, owner, owner_id, AccountPurpose.PREPAID, money_asset(currency))

    async def partner_prepaid_account(self, network_id: int, partner_id: int, currency: str) -> int | None:
        found = await self.db.fetchval(
            "SELECT id FROM accounts WHERE network_id = $1 AND owner_kind = $2 AND owner_id = $3 AND purpose = $4 "
            "AND asset = $5",
            network_id,
            OwnerKind.PARTNER.value,
            partner_id,
            AccountPurpose.PREPAID.value,
            money_asset(currency),
        )
        return None if found is None else int(found)

    async def wallet_for_payment(self, member_id: int, currency: str, since: datetime) -> PayingWallet:
        return await read_paying_wallet(self.db, member_id, currency, since)

    async def add_to_wallet(self, account_id: int, amount_minor: int) -> int:
        balance = await self.db.fetchval(
            "UPDATE wallets SET balance_minor = balance_minor + $2, version = version + 1 WHERE account_id = $1 "
            "RETURNING balance_minor",
            account_id,
            amount_minor,
        )
        if balance is None:
            raise LookupError(f"no wallet with account {account_id}")
        return int(balance)

    async def set_wallet_limits(self, account_id: int, credit_limit_minor: int, daily_minor: int | None) -> None:
        await self.db.execute(
            "UPDATE wallets SET credit_limit_minor = $2, daily_spend_limit_minor = $3, version = version + 1 "
            "WHERE account_id = $1",
            account_id,
            credit_limit_minor,
            daily_minor,
        )

    async def set_wallet_status(self, account_id: int, status: WalletStatus) -> None:
        await self.db.execute(
            "UPDATE wallets SET status = $2, version = version + 1 WHERE account_id = $1", account_id, status.value
        )

    async def wallet_history(self, account_id: int, limit: int, window: LineWindow = EVERY_LINE) -> list[WalletLine]:
        def line(row: Any, balance_after: int) -> WalletLine:
            return WalletLine(
                tx_id=int(row["id"]),
                kind=row["kind"],
                occurred_at=self._timestamp(row["occurred_at"]),
                recorded_at=self._timestamp(row["recorded_at"]),
                outlet_name=row["outlet_name"],
                amount_minor=int(row["amount"]),
                balance_after_minor=balance_after,
                memo=row["memo"],
            )

        grouped = "t.kind, t.occurred_at, t.recorded_at, t.memo, o.name"
        columns = "t.kind, t.occurred_at, t.recorded_at, t.memo, o.name AS outlet_name"
        return await account_lines(self.db, account_id, limit, window, columns, grouped, line)

    async def paid_tenders(self, tx_id: int) -> list[PaidTender]:
        rows = await self.db.fetch(
            "SELECT p.account_id, a.purpose, -p.amount AS amount "
            "FROM postings p JOIN accounts a ON a.id = p.account_id "
            "WHERE p.tx_id = $1 AND p.amount < 0 AND a.purpose IN ($2, $3) ORDER BY p.id",
            tx_id,
            AccountPurpose.MEMBER_WALLET.value,
            AccountPurpose.GIFT_CARD.value,
        )
        return [PaidTender(int(r["account_id"]), r["purpose"], int(r["amount"])) for r in rows]
