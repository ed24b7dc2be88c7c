"""Prepaid money posted straight through the storage layer's generic ledger write (`post` of the POS unit of work),
for the settlement tests (issue 14) — the wallets and gift cards that post it for real live on other branches.

Accounts are made as MONEY.md names them: a member's wallet, a gift card, a partner's or the node's `prepaid`
account and the node's `prepaid_breakage`, all in `money:<currency>`.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from coalition.adapters.storage import tables as t
from coalition.domain.ledger import (
    AccountPurpose,
    OwnerKind,
    Posting,
    Transaction,
    TransactionKind,
    money_asset,
    require_valid,
)
from coalition.wiring import Services


async def account(
    services: Services, network_id: int, owner_kind: OwnerKind, owner_id: int, purpose: AccountPurpose, currency: str
) -> int:
    """The account (made the first time it is asked for)."""
    a = t.accounts
    key = {
        "network_id": network_id,
        "owner_kind": owner_kind.value,
        "owner_id": owner_id,
        "purpose": purpose.value,
        "asset": money_asset(currency),
    }
    async with services.engine.begin() as connection:
        found = (await connection.execute(sa.select(a.c.id).filter_by(**key))).scalar_one_or_none()
        if found is None:
            found = (await connection.execute(sa.insert(a).values(**key).returning(a.c.id))).scalar_one()
    return int(found)


async def node_owner_id(services: Services, network_id: int) -> int:
    """The owner id the network's node accounts carry."""
    a = t.accounts
    async with services.engine.connect() as connection:
        query = sa.select(a.c.owner_id).where(a.c.network_id == network_id, a.c.owner_kind == OwnerKind.NODE.value)
        return int((await connection.execute(query.limit(1))).scalar_one())


async def outlet_id(services: Services, network_id: int, name: str) -> int:
    o = t.outlets
    async with services.engine.connect() as connection:
        query = sa.select(o.c.id).where(o.c.network_id == network_id, o.c.name == name)
        return int((await connection.execute(query)).scalar_one())


async def post(
    services: Services,
    network_id: int,
    kind: TransactionKind,
    postings: dict[int, int],
    at: datetime,
    currency: str = "RUB",
    outlet: int | None = None,
) -> int:
    """One balanced transaction of `kind` ({account id: amount}), recorded at `at`, through the storage layer."""
    asset = money_asset(currency)
    tx = require_valid(
        Transaction(kind, tuple(Posting(account_id, asset, amount) for account_id, amount in postings.items()))
    )
    async with services.store.unit_of_work() as uow:
        return await uow.post(network_id, tx, outlet, at, at)
