"""The POS unit of work's one-shot device charge (issue 15, "Performance"): read everything a charge decides on in
one statement, write it in one more on PostgreSQL — the purchase path's shape (pos_store.py), no explicit
transaction.

The read takes no lock. The write locks the member first, as every writer of a member does, then debits the wallet
only if its version is still the one read: a concurrent payment, hold or top-up since (or one holding the member's
lock while it decides) makes the write match no row and write nothing, and the charge is redone under the lock
(application/device_charges.py). The wallets' CHECK still refuses an overdraw whatever raced it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from coalition.adapters.storage.pos_base import SqlPart
from coalition.adapters.storage.pos_members import CARD_JOIN, member_of
from coalition.adapters.storage.pos_wallets import paying_wallet, wallet_columns
from coalition.application.pos_ports.device_charges import ChargeRead, ChargeWrite, DeviceRow

# One row per identifier that matches (the first candidate's wins), the device beside it (NULL: the key is no
# device's). The EXISTS probes use ix_device_holds_member_id_status and the lots of the member's account.
_READ = f"""
SELECT m.id AS member_id, m.kind, b.account_id, c.id AS card_id, c.number, c.state, i.value, b.balance,
       EXISTS (SELECT 1 FROM device_holds h WHERE h.member_id = m.id AND h.status = 'held' AND h.expires_at <= $5)
         AS holds_expired,
       EXISTS (SELECT 1 FROM lots l WHERE l.account_id = b.account_id AND l.remaining > 0 AND l.expires_at <= $5)
         AS lots_expired,
       w.version AS wallet_version, {wallet_columns("$3")},
       d.id AS device_id, d.network_id AS device_network_id, d.outlet_id AS device_outlet_id,
       d.kind AS device_kind, d.price_list, d.opening_hours, d.hold_ttl_seconds, d.active,
       {{next_tx}} AS tx_id
FROM identifiers i
JOIN members m ON m.id = i.member_id
JOIN member_balances b ON b.member_id = m.id
{{card_join}}
LEFT JOIN wallets w ON w.member_id = m.id AND w.currency = $2
LEFT JOIN devices d ON d.terminal_id = $4
WHERE i.network_id = $1 AND {{value_matches}}
"""
# PostgreSQL draws the transaction's id with the read, so the answer stored by the write can name it; SQLite holds
# the database's write lock from BEGIN IMMEDIATE, so the next id is ours.
_NEXT_TX = {
    "postgresql": "nextval('ledger_transactions_id_seq')",
    "sqlite": "(SELECT COALESCE(MAX(id), 0) + 1 FROM ledger_transactions)",
}

_HOLD_COLUMNS = (
    "id, network_id, device_id, member_id, currency, amount_minor, captured_minor, status, kind, product, "
    "started_at, expires_at, closed_at, hold_tx_id, close_tx_id, created_at"
)
# Everything hangs on `debit`: the member locked, then the wallet debited when its version is still the one read.
_PG_WRITE = f"""
WITH member AS (
  SELECT member_id FROM member_balances WHERE member_id = $1::bigint FOR UPDATE
), debit AS (
  UPDATE wallets SET balance_minor = wallets.balance_minor - $2::bigint, version = wallets.version + 1
  FROM member WHERE wallets.account_id = $3::bigint AND wallets.version = $4::bigint
  RETURNING wallets.account_id
), tx AS (
  INSERT INTO ledger_transactions (id, network_id, kind, outlet_id, reverses_tx_id, memo, occurred_at, recorded_at)
  SELECT $5::bigint, $6::bigint, $7::text, $8::bigint, NULL, $9::text, $10::timestamptz, $10::timestamptz
  FROM debit
  RETURNING id
), posted AS (
  INSERT INTO postings (tx_id, account_id, asset, amount)
  SELECT tx.id, x.account_id, x.asset, x.amount
  FROM tx, unnest($11::bigint[], $12::text[], $13::bigint[]) AS x(account_id, asset, amount)
), charge AS (
  INSERT INTO device_holds ({_HOLD_COLUMNS})
  SELECT $14::text, $6::bigint, $15::bigint, $1::bigint, $16::text, $2::bigint, $2::bigint, 'captured', 'charge',
         $17::text, $10::timestamptz, $18::timestamptz, $10::timestamptz, tx.id, tx.id, $10::timestamptz
  FROM tx
)
INSERT INTO idempotency_keys (terminal_id, key, request_hash, status_code, response, created_at)
SELECT $19::bigint, $20::text, $21::text, 201, $22::text, $10::timestamptz FROM tx
RETURNING terminal_id
"""


def _response_text(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"))


class SqlOneShotCharges(SqlPart):
    """`read_for_charge` and `record_charge` of the `DeviceChargesPort`."""

    async def read_for_charge(
        self,
        terminal_id: int,
        network_id: int,
        candidates: Sequence[str],
        currency: str,
        since: datetime,
        now: datetime,
        *,
        draw_tx_id: bool = True,
    ) -> ChargeRead | None:
        value_matches, arguments = self.db.any_of("i.value", 6, candidates)
        next_tx = _NEXT_TX[self.db.backend] if draw_tx_id else "NULL"
        sql = _READ.format(value_matches=value_matches, next_tx=next_tx, card_join=CARD_JOIN[self.db.backend])
        rows = await self.db.fetch(sql, network_id, currency, since, terminal_id, now, *arguments)
        if not rows:
            return None
        order = list(candidates)
        row = min(rows, key=lambda found: order.index(found["value"]))
        member = member_of(row)
        device = None
        if row["device_id"] is not None:
            device = DeviceRow(
                id=int(row["device_id"]),
                network_id=int(row["device_network_id"]),
                outlet_id=int(row["device_outlet_id"]),
                kind=row["device_kind"],
                price_list=row["price_list"],
                opening_hours=row["opening_hours"],
                hold_ttl_seconds=int(row["hold_ttl_seconds"]),
                active=bool(row["active"]),
            )
        return ChargeRead(
            device=device,
            member=member,
            points_balance=int(row["balance"]),
            paying=paying_wallet(row, member.member_id, currency),
            wallet_version=None if row["wallet_version"] is None else int(row["wallet_version"]),
            holds_expired=bool(row["holds_expired"]),
            lots_expired=bool(row["lots_expired"]),
            tx_id=None if row["tx_id"] is None else int(row["tx_id"]),
        )

    async def record_charge(self, write: ChargeWrite) -> bool:
        if self.db.backend == "postgresql":
            return await self._record_charge_pg(write)
        return await self._record_charge_portable(write)

    async def _record_charge_pg(self, write: ChargeWrite) -> bool:
        tx, charge = write.transaction, write.charge
        written = await self.db.fetchval(
            _PG_WRITE,
            charge.member_id,
            charge.captured_minor,
            write.wallet_account,
            write.wallet_version,
            charge.hold_tx_id,
            charge.network_id,
            tx.kind.value,
            charge.outlet_id,
            tx.memo,
            write.recorded_at,
            [x.account_id for x in tx.postings],
            [x.asset for x in tx.postings],
            [x.amount for x in tx.postings],
            charge.id,
            charge.device_id,
            charge.currency,
            charge.product,
            charge.expires_at,
            write.terminal_id,
            write.key,
            write.request_hash,
            _response_text(write.response),
        )
        return written is not None

    async def _record_charge_portable(self, write: ChargeWrite) -> bool:
        """SQLite: the same rows, one statement each, in the unit of work's transaction."""
        tx, charge, now = write.transaction, write.charge, write.recorded_at
        debited = await self.db.fetchval(
            "UPDATE wallets SET balance_minor = balance_minor - $2, version = version + 1 "
            "WHERE account_id = $1 AND version = $3 RETURNING account_id",
            write.wallet_account,
            charge.captured_minor,
            write.wallet_version,
        )
        if debited is None:
            return False
        await self.db.execute(
            "INSERT INTO ledger_transactions (id, network_id, kind, outlet_id, reverses_tx_id, memo, occurred_at, "
            "recorded_at) VALUES ($1, $2, $3, $4, NULL, $5, $6, $6)",
            charge.hold_tx_id,
            charge.network_id,
            tx.kind.value,
            charge.outlet_id,
            tx.memo,
            now,
        )
        rows = [(charge.hold_tx_id, x.account_id, x.asset, x.amount) for x in tx.postings]
        values = ", ".join(f"(${4 * n + 1}, ${4 * n + 2}, ${4 * n + 3}, ${4 * n + 4})" for n in range(len(rows)))
        await self.db.execute(
            f"INSERT INTO postings (tx_id, account_id, asset, amount) VALUES {values}",
            *(value for row in rows for value in row),
        )
        await self.db.execute(
            f"INSERT INTO device_holds ({_HOLD_COLUMNS}) "
            "VALUES ($1, $2, $3, $4, $5, $6, $6, 'captured', 'charge', $7, $8, $9, $8, $10, $10, $8)",
            charge.id,
            charge.network_id,
            charge.device_id,
            charge.member_id,
            charge.currency,
            charge.captured_minor,
            charge.product,
            now,
            charge.expires_at,
            charge.hold_tx_id,
        )
        await self.db.execute(
            "INSERT INTO idempotency_keys (terminal_id, key, request_hash, status_code, response, created_at) "
            "VALUES ($1, $2, $3, 201, $4, $5)",
            write.terminal_id,
            write.key,
            write.request_hash,
            _response_text(write.response),
            now,
        )
        return True
