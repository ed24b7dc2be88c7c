"""The administrator's list of ledger transactions (application/transaction_list.py): one query for the page's
transactions (keyset by id, filtered), one for their postings with their accounts."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.tables import as_utc
from coalition.application.time_window import utc_bound
from coalition.application.transaction_list import ListedPosting, ListedTransaction, TransactionFilter
from coalition.domain.ledger import OwnerKind


class SqlTransactionListStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def transactions(self, query: TransactionFilter) -> list[ListedTransaction]:
        tx, p, a = t.ledger_transactions, t.postings, t.accounts
        statement = select(tx).where(tx.c.network_id == query.network_id)
        if query.after_id is not None:
            statement = statement.where(tx.c.id > query.after_id)
        if query.since is not None:
            statement = statement.where(tx.c.recorded_at >= utc_bound(query.since))  # SQLite: compared as text
        if query.until is not None:
            statement = statement.where(tx.c.recorded_at < utc_bound(query.until))
        if query.outlet_id is not None:
            statement = statement.where(tx.c.outlet_id == query.outlet_id)
        if query.kind is not None:
            statement = statement.where(tx.c.kind == query.kind)
        if query.member_id is not None:
            members_posting = (
                select(p.c.id)
                .join(a, and_(a.c.id == p.c.account_id, a.c.asset == p.c.asset))
                .where(
                    p.c.tx_id == tx.c.id,
                    a.c.owner_kind == OwnerKind.MEMBER.value,
                    a.c.owner_id == query.member_id,
                )
            )
            statement = statement.where(exists(members_posting))
        statement = statement.order_by(tx.c.id).limit(query.limit)
        async with self.engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
            postings: dict[int, list[ListedPosting]] = defaultdict(list)
            if rows:
                found = await connection.execute(
                    select(p.c.tx_id, p.c.asset, p.c.amount, a.c.owner_kind, a.c.owner_id, a.c.purpose)
                    .join(a, and_(a.c.id == p.c.account_id, a.c.asset == p.c.asset))
                    .where(p.c.tx_id.in_([row.id for row in rows]))
                    .order_by(p.c.id)
                )
                for posting in found:
                    postings[posting.tx_id].append(
                        ListedPosting(
                            posting.owner_kind, posting.owner_id, posting.purpose, posting.asset, posting.amount
                        )
                    )
        return [
            ListedTransaction(
                row.id,
                row.kind,
                row.outlet_id,
                row.reverses_tx_id,
                row.memo,
                row.cashier_login,
                as_utc(row.occurred_at),
                as_utc(row.recorded_at),
                tuple(postings[row.id]),
            )
            for row in rows
        ]
