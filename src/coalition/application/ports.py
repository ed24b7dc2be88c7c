"""Ports the application layer owns; the storage adapter implements them.

One `PosUnitOfWork` is one database transaction: everything a request writes commits together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from coalition.application.audit import AuditTrail
from coalition.domain.bonus import BonusProgram
from coalition.domain.breakage import BreakagePolicy
from coalition.domain.cards import CardState
from coalition.domain.coupons import Coupon, NewCoupon
from coalition.domain.gifts import Gift, GiftBreakage, GiftType
from coalition.domain.identifiers import IdentifierKind
from coalition.domain.ledger import Transaction
from coalition.domain.limits import DEFAULT_LIMITS, PurchaseLimits
from coalition.domain.lots import GrantedPoints, LotTake
from coalition.domain.permissions import Permission
from coalition.domain.purchase import BasketLine, MemberPoints, NewLot
from coalition.domain.visits import Visit


@dataclass(frozen=True, slots=True)
class TerminalContext:
    terminal_id: int
    network_id: int
    outlet_id: int
    partner_id: int
    outlet_name: str
    timezone: str
    partner_name: str = ""
    key_valid_until: datetime | None = None  # its key's expiry, or the end of a replaced key's grace period
    key_retired: bool = False  # the key was replaced by a rotation and is in its grace period


@dataclass(frozen=True, slots=True)
class ProgramContext:
    """A network's program and the node-side accounts its transactions touch."""

    program: BonusProgram
    points_issued_account: int
    points_redeemed_account: int
    points_breakage_account: int
    node_obligations_account: int
    limits: PurchaseLimits = DEFAULT_LIMITS  # read with the program, so a purchase checks them without a query


@dataclass(frozen=True, slots=True)
class MemberRef:
    member_id: int
    kind: str
    points_account_id: int
    card_id: int | None
    card_number: str | None
    card_state: CardState | None


@dataclass(frozen=True, slots=True)
class StoredResponse:
    request_hash: str
    status_code: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredPurchase:
    id: str
    outlet_id: int
    partner_id: int
    member_id: int
    points_account_id: int
    check_minor: int
    amount_due_minor: int
    points_earned: int
    points_redeemed: int
    tx_id: int | None
    refunded_before_minor: int
    lines: tuple[BasketLine, ...]
    refunded_quantity_milli: dict[str, int]
    spent: tuple[GrantedPoints, ...] = ()  # the points it spent by grantor, in the order it took them


@dataclass(frozen=True, slots=True)
class NewPurchase:
    id: str
    terminal: TerminalContext
    cashier_login: str | None
    member: MemberRef
    receipt: str
    check_minor: int
    points_redeemed: int
    amount_due_minor: int
    points_earned: int
    lines: tuple[BasketLine, ...]
    occurred_at: datetime
    rule_set_version: int | None = None
    applied_rules: tuple[str, ...] = ()
    discount_minor: int = 0  # given by the rules; not stored apart: check − amount due − points redeemed' value
    new_tier: str | None = None  # the tier a rule moves the member to, when it differs from theirs


@dataclass(frozen=True, slots=True)
class NewRefund:
    id: str
    purchase_id: str
    terminal_id: int
    refund_minor: int
    money_back_minor: int
    points_clawed_back: int
    points_returned: int
    quantities_milli: dict[str, int]
    cashier_login: str | None = None


@dataclass(frozen=True, slots=True)
class MemberHistory:
    """What rules may ask of a member beyond their points: read only when the rule set in force uses it."""

    kind: str
    birth_date: date | None
    visit_count: int  # purchases before this one
    period_spend_minor: int  # this calendar month so far, at the outlet's local time
    previous_period_spend_minor: int  # last calendar month
    tier: str = ""
    segments: frozenset[str] = frozenset()
    card_type: str = ""  # of the card presented; '' when the member was found by another identifier


@dataclass(frozen=True, slots=True)
class MemberLabels:
    """The member's segments and tier, as the administrator or a rule set them."""

    tier: str
    segments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Profile:
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    birth_date: date | None = None
    notes: str | None = None
    consent_data_processing: bool = False
    consent_newsletters: bool = False


@dataclass(frozen=True, slots=True)
class MemberListing:
    """A line of a member search: enough to tell two members apart."""

    member_id: int
    kind: str
    name: str | None
    phone: str | None


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


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    terminal_id: int
    key: str
    response: StoredResponse


@dataclass(frozen=True, slots=True)
class PurchaseWrite:
    """Everything a purchase writes, planned before writing so storage can send it in one round trip."""

    purchase: NewPurchase
    transaction: Transaction | None
    lot_takes: tuple[LotTake, ...]
    new_lots: tuple[NewLot, ...]
    balance_after: int
    lifetime_spend_after_minor: int
    idempotency: IdempotencyRecord
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class PlannedTransaction:
    id: int  # allocated before writing, so lots and purchases of the same batch can refer to it
    transaction: Transaction
    outlet_id: int | None
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class LotWrite:
    id: int
    account_id: int
    tx_id: int
    points: int
    remaining: int
    expires_at: datetime | None
    granting_partner_id: int | None  # None: the node granted them
    ends_with_visit_id: str | None = None  # the open visit whose end sweeps them


@dataclass(frozen=True, slots=True)
class MemberPointsWrite:
    member_id: int
    account_id: int
    balance: int
    lifetime_spend_minor: int


@dataclass
class LedgerBatch:
    """The writes of many purchases planned in memory, sent in a few set-based statements."""

    network_id: int
    recorded_at: datetime
    transactions: list[PlannedTransaction] = field(default_factory=list)
    lot_takes: list[tuple[int, int, int]] = field(default_factory=list)  # (tx_id, lot_id, points)
    # lot_id → (points added, remaining added) of a stored lot: takes lower remaining, top-ups raise both
    existing_lot_changes: dict[int, tuple[int, int]] = field(default_factory=dict)
    new_lots: list[LotWrite] = field(default_factory=list)
    member_points: list[MemberPointsWrite] = field(default_factory=list)
    purchases: list[tuple[NewPurchase, int | None]] = field(default_factory=list)
    responses: list[IdempotencyRecord] = field(default_factory=list)
    member_tiers: dict[int, str] = field(default_factory=dict)  # member id -> the tier rules moved them to
    new_coupons: list[NewCoupon] = field(default_factory=list)  # issued by rules to the batch's members
    coupon_uses: list[tuple[int, str]] = field(default_factory=list)  # (coupon id, purchase id)


class PosUnitOfWork(AuditTrail, Protocol):
    async def terminal_by_key_hash(self, key_hash: str) -> TerminalContext | None: ...
    async def terminal_by_id(self, terminal_id: int) -> TerminalContext | None: ...
    async def program_of(self, network_id: int) -> ProgramContext: ...
    async def partner_obligations_account(self, network_id: int, partner_id: int) -> int: ...
    async def cashier_is_active(self, outlet_id: int, login: str) -> bool: ...
    async def members_with_expired_lots(self, network_id: int, now: datetime) -> list[tuple[int, int]]:
        """(member id, points account id) of every member with points in a lot expired by `now`."""
        ...

    async def members_with_spend(
        self, network_id: int, start: datetime, end: datetime, previous_start: datetime
    ) -> list[tuple[MemberRef, MemberHistory]]:
        """Every member with their checks' total in [start, end) (`period_spend_minor`) and in [previous_start,
        start) (`previous_period_spend_minor`)."""
        ...

    async def has_coupon_from(self, member_id: int, campaign: str, valid_from: datetime) -> bool: ...
    async def lock_member(self, member_id: int) -> None: ...
    async def members_born_on(self, network_id: int, month: int, day: int) -> list[tuple[MemberRef, MemberHistory]]:
        """Members whose birthday is this month and day, with what rules may read of them."""
        ...

    async def has_bonus(self, account_id: int, memo: str) -> bool:
        """Whether a bonus transaction with this memo already credited this points account."""
        ...

    async def find_member(self, network_id: int, candidates: Sequence[str], *, lock: bool) -> MemberRef | None: ...
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

    async def record_purchase(self, write: PurchaseWrite, expected_version: int | None) -> bool:
        """Write the purchase if the member's points are still at `expected_version` (None: the caller holds the
        member's lock). False, and nothing written, when they changed."""
        ...

    async def stored_responses(self, terminal_id: int, keys: Sequence[str]) -> dict[str, StoredResponse]: ...
    async def lock_members_points(
        self, network_id: int, candidates: Sequence[str]
    ) -> list[tuple[str, MemberRef, MemberPoints]]:
        """Every member one of `candidates` identifies, locked in member order, with the value that matched."""
        ...

    async def existing_receipts(self, outlet_id: int, receipts: Sequence[str]) -> set[str]: ...
    async def allocate_ids(self, transactions: int, lots: int) -> tuple[list[int], list[int]]: ...
    async def write_batch(self, batch: LedgerBatch) -> None: ...
    async def stored_response(self, terminal_id: int, key: str) -> StoredResponse | None: ...
    async def store_response(self, terminal_id: int, key: str, response: StoredResponse, now: datetime) -> None: ...
    async def post(
        self, network_id: int, tx: Transaction, outlet_id: int | None, occurred_at: datetime, now: datetime
    ) -> int: ...
    async def apply_lots(
        self, tx_id: int, account_id: int, takes: Sequence[LotTake], new_lots: Sequence[NewLot]
    ) -> None: ...
    async def set_member_points(
        self,
        member_id: int,
        account_id: int,
        balance: int,
        lifetime_spend_minor: int,
        *,
        expected_version: int | None = None,
    ) -> bool: ...
    async def insert_purchase(self, purchase: NewPurchase, tx_id: int | None, now: datetime) -> None: ...
    async def purchase_for_refund(self, network_id: int, purchase_id: str) -> StoredPurchase | None: ...
    async def insert_refund(self, refund: NewRefund, tx_id: int | None, now: datetime) -> None: ...
    async def create_member(
        self,
        network_id: int,
        kind: str,
        profile: Profile,
        program: ProgramContext,
        now: datetime,
        segments: tuple[str, ...] = (),
    ) -> MemberRef: ...
    async def add_card(
        self, network_id: int, member_id: int, number: str, state: CardState, now: datetime, card_type: str = "standard"
    ) -> int: ...
    async def add_identifier(
        self, network_id: int, member_id: int, card_id: int | None, kind: IdentifierKind, value: str
    ) -> None: ...
    async def set_card_state(
        self, card_id: int, state: CardState, now: datetime, replaced_by_card_id: int | None = None
    ) -> None: ...
    async def member_profile(self, member_id: int) -> Profile: ...
    async def member_history(
        self, member_id: int, card_id: int | None, month_start: datetime, previous_month_start: datetime
    ) -> MemberHistory: ...
    async def member_labels(self, member_id: int) -> MemberLabels: ...
    async def coupons(self, network_id: int, codes: Sequence[str], *, lock: bool) -> dict[str, Coupon]:
        """The network's coupons with these codes, by code; with `lock`, locked for the rest of the unit of work."""
        ...

    async def use_coupons(self, uses: Sequence[tuple[int, str]], now: datetime) -> None:
        """Count one use of each (coupon id, purchase id); the coupons were read with `lock`."""
        ...

    async def add_coupons(self, network_id: int, coupons: Sequence[NewCoupon], now: datetime) -> None: ...
    async def list_coupons(self, network_id: int, campaign: str | None, limit: int) -> list[Coupon]: ...
    async def gift_types(self, network_id: int, codes: Sequence[str] | None = None) -> dict[str, GiftType]:
        """The network's gift types by code (all of them when `codes` is None)."""
        ...

    async def create_gift_type(self, network_id: int, gift_type: GiftType, now: datetime) -> int:
        """Raises DuplicateKey when the code is taken."""
        ...

    async def partner_ids(self, network_id: int, names: Sequence[str]) -> dict[str, int]: ...
    async def insert_gift(
        self, network_id: int, gift: Gift, granted_outlet_id: int, grant_tx_id: int, purchase_id: str | None
    ) -> None: ...
    async def gift(self, network_id: int, gift_id: str, *, lock: bool) -> Gift | None: ...
    async def mark_gift_honoured(self, gift_id: str, outlet_id: int, tx_id: int, now: datetime) -> bool:
        """False when the gift was honoured already (by a concurrent request)."""
        ...

    async def permissions(self, network_id: int) -> list[Permission]: ...
    async def replace_permissions(self, network_id: int, permissions: Sequence[Permission]) -> None: ...
    async def outlet_ids(self, network_id: int, names: Sequence[str] | None = None) -> dict[str, int]:
        """Outlet ids by name: of these names, or of every outlet of the network."""
        ...

    async def gifts_due_to_expire(self, network_id: int, now: datetime) -> list[tuple[str, int]]:
        """(gift id, grant transaction id) of every gift still granted whose validity has ended."""
        ...

    async def transaction(self, tx_id: int) -> Transaction: ...
    async def mark_gift_expired(self, gift_id: str, now: datetime, release_tx_id: int | None) -> bool:
        """False when the gift is no longer granted (handed over or expired by a concurrent job)."""
        ...

    async def gift_breakage(self, network_id: int) -> GiftBreakage: ...
    async def set_gift_breakage(self, network_id: int, policy: GiftBreakage) -> None: ...
    async def points_breakage(self, network_id: int) -> BreakagePolicy: ...
    async def set_points_breakage(self, network_id: int, policy: BreakagePolicy) -> None: ...
    async def member_gifts(self, member_id: int, now: datetime) -> list[Gift]:
        """The member's gifts not yet handed over and still valid."""
        ...

    async def card_type(self, card_id: int) -> str: ...
    async def set_member_labels(self, member_id: int, *, tier: str | None, segments: tuple[str, ...] | None) -> None:
        """Change what is given (None: keep it)."""
        ...

    async def member_cards(self, member_id: int) -> list[tuple[str, CardState]]: ...
    async def statement(self, member: MemberRef, limit: int) -> list[StatementLine]: ...
    async def insert_visit(self, network_id: int, visit: Visit) -> None: ...
    async def visit(
        self, network_id: int, visit_id: str, *, lock: bool, partner_id: int, bought_in: bool = False
    ) -> Visit | None:
        """The visit if it is in the reach of `partner_id`: opened at one of its outlets, or (`bought_in`) one in
        which the member bought at one of them."""
        ...

    async def open_visit_of(self, member_id: int) -> Visit | None: ...
    async def lots_ending_with_visit(self, account_id: int, visit_id: str) -> set[int]:
        """Ids of the account's lots with points left that the end of this visit sweeps (end_of_visit accruals)."""
        ...

    async def end_visit(self, visit: Visit, reset_tx_id: int | None) -> bool:
        """Record the end of a visit that is still open; False when it ended meanwhile."""
        ...

    async def member_by_id(self, member_id: int) -> MemberRef: ...
    async def points_added_since(self, account_id: int, since: datetime) -> int:
        """The net change of a points account by ledger transactions recorded at or after `since`."""
        ...

    async def open_gifts_granted_since(self, member_id: int, since: datetime) -> list[tuple[str, int]]:
        """(gift id, grant transaction id) of the member's gifts granted at or after `since` and not handed over."""
        ...

    async def outlet_name(self, outlet_id: int) -> str: ...
    async def open_gifts_of_purchase(self, purchase_id: str) -> list[tuple[str, int]]:
        """(gift id, grant transaction id) of the gifts a purchase granted that were not handed over yet."""
        ...

    # --- the administrator's console: members and cards ---
    async def member_in_network(self, network_id: int, member_id: int) -> MemberRef | None:
        """The member (without a card) if they belong to this network."""
        ...

    async def members_named(self, network_id: int, text: str, limit: int) -> list[MemberListing]:
        """Members whose name contains `text`, ignoring case, in id order."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, autocommit: bool = False) -> AbstractAsyncContextManager[PosUnitOfWork]:
        """A unit of work: commits when the block ends normally, rolls back when it raises. With `autocommit`
        the storage may commit each statement on its own: only for work that writes in one statement."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...
