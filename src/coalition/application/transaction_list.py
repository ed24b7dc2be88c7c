"""The network's ledger transactions for the administrator, in pages and filtered (issue 17, point 5): by the time
the server recorded them (`since` inclusive, `until` exclusive), outlet, member and kind; keyset by id, so a page
never repeats or skips a transaction however long a client takes between pages (docs/api.md "Conventions")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from coalition.application.time_window import check_window
from coalition.domain.errors import InvalidInput
from coalition.domain.ledger import TransactionKind
from coalition.domain.money import format_minor


@dataclass(frozen=True, slots=True)
class TransactionFilter:
    network_id: int
    since: datetime | None = None
    until: datetime | None = None
    outlet_id: int | None = None
    member_id: int | None = None
    kind: str | None = None
    after_id: int | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class ListedPosting:
    owner_kind: str
    owner_id: int
    purpose: str
    asset: str
    amount: int  # points, or minor units of the asset's currency

    def json(self) -> dict[str, Any]:
        kind, _, unit = self.asset.partition(":")
        value: dict[str, Any]
        if kind == "money":
            value = {"amount": format_minor(self.amount, unit), "currency": unit}
        elif kind == "points":
            value = {"points": self.amount}
        else:
            value = {"units": self.amount}
        owner = {"owner_kind": self.owner_kind, "owner_id": self.owner_id, "purpose": self.purpose}
        return {**owner, "asset": self.asset, **value}


@dataclass(frozen=True, slots=True)
class ListedTransaction:
    id: int
    kind: str
    outlet_id: int | None
    reverses_tx_id: int | None
    memo: str
    cashier_login: str | None
    occurred_at: datetime
    recorded_at: datetime
    postings: tuple[ListedPosting, ...]

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "outlet_id": self.outlet_id,
            "reverses_tx_id": self.reverses_tx_id,
            "memo": self.memo,
            "cashier_login": self.cashier_login,
            "occurred_at": self.occurred_at.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
            "postings": [posting.json() for posting in self.postings],
        }


class TransactionListStore(Protocol):
    async def transactions(self, query: TransactionFilter) -> list[ListedTransaction]:
        """At most `query.limit` of the network's transactions matching it, in id order after `after_id`."""
        ...


class TransactionList:
    def __init__(self, store: TransactionListStore) -> None:
        self.store = store

    async def page(self, query: TransactionFilter) -> list[ListedTransaction]:
        if query.kind is not None and query.kind not in {kind.value for kind in TransactionKind}:
            kinds = ", ".join(sorted(kind.value for kind in TransactionKind))
            raise InvalidInput(f"kind is one of {kinds}", field="kind")
        check_window(query.since, query.until)
        return await self.store.transactions(query)
