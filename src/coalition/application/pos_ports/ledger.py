"""The ledger and the lots: a member's points (balance, lifetime spend, open lots), posting a transaction, taking
from and adding lots, and what the jobs and visits ask of the ledger. Every write runs under the member's lock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from coalition.application.pos_ports.lines import EVERY_LINE, LineWindow
from coalition.application.pos_ports.members import MemberRef
from coalition.application.pos_ports.wallets import PayingWallet
from coalition.domain.ledger import Transaction
from coalition.domain.lots import LotTake
from coalition.domain.purchase import MemberPoints, NewLot


@dataclass(frozen=True, slots=True)
class StatementLine:
    tx_id: int
    kind: str
    occurred_at: datetime
    recorded_at: datetime
    outlet_name: str | None
    amount: int  # the net change of the balance: points_earned - points_spent
    # the gross postings to the member's account: a purchase that earns 1 and spends 3 shows both, not only -2
    points_earned: int  # what came into the balance (earned, a bonus, returned by a refund)
    points_spent: int  # what left it (paid with, taken back by a refund, expired)
    balance_after: int
    memo: str
    reverses_tx_id: int | None


class LedgerPort(Protocol):
    async def member_points(self, member: MemberRef) -> MemberPoints: ...
    async def find_member_points(
        self, network_id: int, candidates: Sequence[str]
    ) -> tuple[MemberRef, MemberPoints] | None:
        """The member and their points in one read, locked for the rest of the unit of work."""
        ...

    async def peek_member_points(
        self, network_id: int, candidates: Sequence[str]
    ) -> tuple[MemberRef, MemberPoints, int] | None:
        """The member, their points and the points' version in one consistent read, without a lock."""
        ...

    async def peek_member_points_paying(
        self, network_id: int, candidates: Sequence[str], currency: str, since: datetime
    ) -> tuple[MemberRef, MemberPoints, int, PayingWallet] | None:
        """`peek_member_points` of a purchase paid from a wallet: in the same statement, the member's wallet of
        `currency` and, under a daily limit, what purchases took from it since `since`."""
        ...

    async def find_member_points_paying(
        self, network_id: int, candidates: Sequence[str], currency: str, since: datetime
    ) -> tuple[MemberRef, MemberPoints, PayingWallet] | None:
        """`find_member_points` of a purchase paid from a wallet, the wallet read after the lock (PostgreSQL: in the
        same round trip)."""
        ...

    async def lock_members_points(
        self, network_id: int, candidates: Sequence[str]
    ) -> list[tuple[str, MemberRef, MemberPoints]]:
        """Every member one of `candidates` identifies, locked in member order, with the value that matched."""
        ...

    async def set_member_points(
        self,
        member_id: int,
        account_id: int,
        balance: int,
        lifetime_spend_minor: int,
        *,
        expected_version: int | None = None,
    ) -> bool: ...
    async def post(
        self,
        network_id: int,
        tx: Transaction,
        outlet_id: int | None,
        occurred_at: datetime,
        now: datetime,
        *,
        cashier_login: str | None = None,  # who took the money at the till (a top-up, a gift card's sale)
    ) -> int: ...
    async def apply_lots(
        self, tx_id: int, account_id: int, takes: Sequence[LotTake], new_lots: Sequence[NewLot]
    ) -> None: ...
    async def transaction(self, tx_id: int) -> Transaction: ...
    async def has_bonus(self, account_id: int, memo: str) -> bool:
        """Whether a bonus transaction with this memo already credited this points account."""
        ...

    async def points_added_since(self, account_id: int, since: datetime) -> int:
        """The net change of a points account by ledger transactions recorded at or after `since`."""
        ...

    async def members_with_expired_lots(self, network_id: int, now: datetime) -> list[tuple[int, int]]:
        """(member id, points account id) of every member with points in a lot expired by `now`."""
        ...

    async def lots_ending_with_visit(self, account_id: int, visit_id: str) -> set[int]:
        """Ids of the account's lots with points left that the end of this visit sweeps (end_of_visit accruals)."""
        ...

    async def statement(self, member: MemberRef, limit: int, window: LineWindow = EVERY_LINE) -> list[StatementLine]:
        """The newest `limit` lines in the window, oldest first, each with the balance after it."""
        ...
