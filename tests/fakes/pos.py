"""An in-memory POS unit of work: every aggregate's port (members and cards, the ledger and its lots, purchases and
refunds, coupons, gifts, visits, reference data, idempotency), so a test of the application layer runs in
milliseconds without a database.

It keeps the SQL unit of work's semantics where a service can tell (tests/application/test_pos_fake_contract.py runs
the same checks against both): a unit of work commits when its block ends and rolls back when it raises; a taken
unique key raises `DuplicateKey` with the same `what` (a receipt at its outlet, an idempotency key at its terminal);
a purchase recorded against a points version that moved on, or by a terminal or cashier no longer active, writes
nothing and answers False; a member found by several candidates is the one of the earliest candidate; reads hand
back copies, never the stored rows. Terminal keys are current keys only (no rotation's grace, no expiry); cashiers
are seeded with `add_cashier` and stopped with `stop_cashier`, terminals with `stop_terminal`.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from coalition.application.audit import AuditEntry
from coalition.application.commands import DuplicateKey, key_hash
from coalition.application.ports import (
    EVERY_LINE,
    CatalogueEntry,
    LedgerBatch,
    LineWindow,
    MemberHistory,
    MemberLabels,
    MemberListing,
    MemberRef,
    NewPurchase,
    NewRefund,
    PayingWallet,
    Profile,
    ProgramContext,
    PurchaseWrite,
    StatementLine,
    StoredPurchase,
    StoredResponse,
    TerminalContext,
)
from coalition.demo import SMALL_SHOP_PROGRAM
from coalition.domain.bonus import BonusProgram
from coalition.domain.breakage import BreakagePolicy
from coalition.domain.cards import CardState
from coalition.domain.coupons import Coupon, NewCoupon
from coalition.domain.gifts import Gift, GiftBreakage, GiftState, GiftType
from coalition.domain.identifiers import IdentifierKind, phone_region
from coalition.domain.ledger import Transaction, TransactionKind
from coalition.domain.lots import GrantedPoints, Lot, LotTake, spend_order
from coalition.domain.members import segments_from_text, segments_to_text
from coalition.domain.permissions import Permission
from coalition.domain.plans import DEFAULT_PLAN_CODE, PlanState, plan_named
from coalition.domain.purchase import MemberPoints, NewLot
from coalition.domain.visits import Visit
from tests.fakes.gift_cards import FakeGiftCards
from tests.fakes.wallets import FakeWallets


@dataclass
class _Member:
    network_id: int
    kind: str
    profile: Profile
    account_id: int
    tier: str = ""
    segments: str = ""
    lifetime_spend_minor: int = 0
    balance: int = 0
    version: int = 0


@dataclass
class _Card:
    network_id: int
    member_id: int
    number: str
    state: CardState
    card_type: str
    replaced_by_card_id: int | None = None


@dataclass
class _Identifier:
    member_id: int
    card_id: int | None
    kind: IdentifierKind


@dataclass
class _Lot:
    account_id: int
    tx_id: int
    points: int
    remaining: int
    expires_at: datetime | None
    granting_partner_id: int | None
    ends_with_visit_id: str | None


@dataclass
class _Posted:
    network_id: int
    transaction: Transaction
    outlet_id: int | None
    occurred_at: datetime
    recorded_at: datetime


@dataclass
class _Gift:
    network_id: int
    gift_type_id: int
    member_id: int
    outlets: frozenset[str]
    granted_at: datetime
    valid_until: datetime
    state: GiftState
    purchase_id: str | None
    grant_tx_id: int


@dataclass
class _Purchase:
    purchase: NewPurchase
    tx_id: int | None
    recorded_at: datetime


@dataclass
class _Refund:
    refund: NewRefund
    tx_id: int | None
    recorded_at: datetime


@dataclass
class _Network:
    program: ProgramContext
    gift_breakage: GiftBreakage = GiftBreakage.KEPT
    points_breakage: BreakagePolicy = field(default_factory=BreakagePolicy)
    permissions: list[Permission] = field(default_factory=list)


@dataclass
class _Outlet:
    network_id: int
    partner_id: int
    name: str
    timezone: str


@dataclass
class _Terminal:
    outlet_id: int
    key_hash: str
    active: bool = True


@dataclass
class FakeState:
    """The rows, by table; a unit of work works on a copy and puts it back on commit."""

    next_id: int = 1
    networks: dict[int, _Network] = field(default_factory=dict)
    partners: dict[int, tuple[int, str]] = field(default_factory=dict)  # id -> (network, name)
    partner_accounts: dict[int, int] = field(default_factory=dict)  # partner -> obligations account
    outlets: dict[int, _Outlet] = field(default_factory=dict)
    terminals: dict[int, _Terminal] = field(default_factory=dict)
    cashiers: set[tuple[int, str]] = field(default_factory=set)  # (outlet, login) of the active cashiers
    members: dict[int, _Member] = field(default_factory=dict)
    cards: dict[int, _Card] = field(default_factory=dict)
    identifiers: dict[tuple[int, str], _Identifier] = field(default_factory=dict)  # (network, value) ->
    transactions: dict[int, _Posted] = field(default_factory=dict)
    lots: dict[int, _Lot] = field(default_factory=dict)
    lot_takes: list[tuple[int, int, int]] = field(default_factory=list)  # (tx, lot, points)
    purchases: dict[str, _Purchase] = field(default_factory=dict)
    refunds: dict[str, _Refund] = field(default_factory=dict)
    coupons: dict[int, tuple[int, Coupon]] = field(default_factory=dict)  # id -> (network, coupon)
    coupon_uses: list[tuple[int, str, datetime]] = field(default_factory=list)
    gift_types: dict[int, tuple[int, GiftType]] = field(default_factory=dict)  # id -> (network, type)
    gifts: dict[str, _Gift] = field(default_factory=dict)
    visits: dict[str, tuple[int, Visit]] = field(default_factory=dict)  # id -> (network, visit)
    responses: dict[tuple[int, str], StoredResponse] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


class FakePos:
    """The in-memory database: seed it, then hand `unit_of_work` to a service as its factory."""

    def __init__(self) -> None:
        self.state = FakeState()
        self._open = False

    @asynccontextmanager
    async def unit_of_work(self, *, autocommit: bool = False) -> AsyncIterator[FakeUnitOfWork]:
        """One transaction at a time, as on SQLite (BEGIN IMMEDIATE): a second one opened inside is a test's bug."""
        if self._open:
            raise RuntimeError("the fake runs one unit of work at a time")
        self._open = True
        try:
            working = copy.deepcopy(self.state)
            yield FakeUnitOfWork(working)
            self.state = working  # commit; an exception skips this: rollback
        finally:
            self._open = False

    # --- seeding: what the administrator's console creates --------------------------------------------------

    def add_network(self, program: BonusProgram) -> int:
        """A network with this program (its id replaced by one of the fake's) and the node's accounts."""
        s = self.state
        network_id = s.new_id()
        context = ProgramContext(
            replace(program, id=s.new_id()), s.new_id(), s.new_id(), s.new_id(), s.new_id(),
            phone_region=phone_region(None, program.currency),
        )  # fmt: skip
        s.networks[network_id] = _Network(context)
        return network_id

    def add_partner(self, network_id: int, name: str) -> int:
        partner_id = self.state.new_id()
        self.state.partners[partner_id] = (network_id, name)
        self.state.partner_accounts[partner_id] = self.state.new_id()
        return partner_id

    def add_outlet(self, network_id: int, partner_id: int, name: str, timezone: str = "Europe/Moscow") -> int:
        outlet_id = self.state.new_id()
        self.state.outlets[outlet_id] = _Outlet(network_id, partner_id, name, timezone)
        return outlet_id

    def add_terminal(self, outlet_id: int, key_hash: str) -> int:
        terminal_id = self.state.new_id()
        self.state.terminals[terminal_id] = _Terminal(outlet_id, key_hash)
        return terminal_id

    def add_cashier(self, outlet_id: int, login: str) -> None:
        self.state.cashiers.add((outlet_id, login))

    def stop_cashier(self, outlet_id: int, login: str) -> None:
        self.state.cashiers.discard((outlet_id, login))

    def stop_terminal(self, terminal_id: int) -> None:
        self.state.terminals[terminal_id].active = False


class FakeUnitOfWork(FakeWallets, FakeGiftCards):
    """The `PosUnitOfWork` port, every aggregate's part, on a `FakeState` (a working copy)."""

    def __init__(self, state: FakeState) -> None:
        self.s = state

    async def audit(self, entry: AuditEntry) -> None:
        self.s.audit.append(entry)

    # --- reference data -----------------------------------------------------------------------------------

    async def terminal_by_key_hash(self, key_hash: str) -> TerminalContext | None:
        found = [i for i, t in self.s.terminals.items() if t.key_hash == key_hash and t.active]
        return self._terminal(found[0]) if found else None

    async def terminal_by_id(self, terminal_id: int) -> TerminalContext | None:
        terminal = self.s.terminals.get(terminal_id)
        return self._terminal(terminal_id) if terminal is not None and terminal.active else None

    def _terminal(self, terminal_id: int) -> TerminalContext:
        outlet_id = self.s.terminals[terminal_id].outlet_id
        outlet = self.s.outlets[outlet_id]
        partner_name = self.s.partners[outlet.partner_id][1]
        network = self.s.networks.get(outlet.network_id)
        currency = network.program.program.currency if network is not None else ""
        return TerminalContext(
            terminal_id,
            outlet.network_id,
            outlet_id,
            outlet.partner_id,
            outlet.name,
            outlet.timezone,
            partner_name,
            phone_region=phone_region(None, currency),
        )

    async def program_of(self, network_id: int) -> ProgramContext:
        if network_id not in self.s.networks:
            raise LookupError(f"network {network_id} has no program")
        return self.s.networks[network_id].program

    async def partner_obligations_account(self, network_id: int, partner_id: int) -> int:
        if self.s.partners.get(partner_id, (None, ""))[0] != network_id:
            raise LookupError(f"partner {partner_id} has no obligations account")
        return self.s.partner_accounts[partner_id]

    async def cashier_is_active(self, outlet_id: int, login: str) -> bool:
        return (outlet_id, login) in self.s.cashiers

    async def partner_ids(self, network_id: int, names: Sequence[str]) -> dict[str, int]:
        return {name: i for i, (n, name) in self.s.partners.items() if n == network_id and name in names}

    async def catalogue_entries(
        self, network_id: int, partner_id: int, skus: Sequence[str]
    ) -> dict[str, CatalogueEntry]:
        return {}  # the fake holds no catalogue: purchases on it send their lines whole

    async def outlet_ids(self, network_id: int, names: Sequence[str] | None = None) -> dict[str, int]:
        mine = {o.name: i for i, o in self.s.outlets.items() if o.network_id == network_id}
        return mine if names is None else {name: i for name, i in mine.items() if name in names}

    async def outlet_name(self, outlet_id: int) -> str:
        if outlet_id not in self.s.outlets:
            raise LookupError(f"outlet {outlet_id} does not exist")
        return self.s.outlets[outlet_id].name

    async def permissions(self, network_id: int) -> list[Permission]:
        found = self.s.networks[network_id].permissions
        return sorted(found, key=lambda p: (p.outlet_id, p.counter, p.operation.value))

    async def replace_permissions(self, network_id: int, permissions: Sequence[Permission]) -> None:
        self.s.networks[network_id].permissions = list(permissions)

    async def points_breakage(self, network_id: int) -> BreakagePolicy:
        if network_id not in self.s.networks:
            raise LookupError(f"network {network_id} does not exist")
        return self.s.networks[network_id].points_breakage

    async def set_points_breakage(self, network_id: int, policy: BreakagePolicy) -> None:
        self.s.networks[network_id].points_breakage = policy

    # --- members and cards --------------------------------------------------------------------------------

    async def find_member(self, network_id: int, candidates: Sequence[str], *, lock: bool) -> MemberRef | None:
        for value in candidates:  # the earliest candidate that matches wins, as on SQL
            found = self.s.identifiers.get((network_id, value))
            if found is not None:
                return self._ref(found.member_id, found.card_id)
        return None

    def _ref(self, member_id: int, card_id: int | None) -> MemberRef:
        member = self.s.members[member_id]
        card = self.s.cards[card_id] if card_id is not None else None
        return MemberRef(
            member_id,
            member.kind,
            member.account_id,
            card_id,
            card.number if card else None,
            card.state if card else None,
        )

    async def lock_member(self, member_id: int) -> None:
        return None  # one unit of work at a time: every member is locked already

    async def member_by_id(self, member_id: int) -> MemberRef:
        if member_id not in self.s.members:
            raise LookupError(f"member {member_id} does not exist")
        return self._ref(member_id, None)

    async def member_in_network(self, network_id: int, member_id: int) -> MemberRef | None:
        member = self.s.members.get(member_id)
        return self._ref(member_id, None) if member is not None and member.network_id == network_id else None

    async def members_named(self, network_id: int, text: str, limit: int) -> list[MemberListing]:
        found = [
            MemberListing(i, m.kind, m.profile.name, m.profile.phone)
            for i, m in sorted(self.s.members.items())
            if m.network_id == network_id and m.profile.name and text.lower() in m.profile.name.lower()
        ]
        return found[:limit]

    async def plan_and_members(self, network_id: int) -> tuple[PlanState, int]:
        """Every fake network is on Custom (no limit), as the networks an operator creates are (docs/plans.md)."""
        members = sum(1 for m in self.s.members.values() if m.network_id == network_id)
        return PlanState(plan_named(DEFAULT_PLAN_CODE), None, None), members

    async def create_member(
        self,
        network_id: int,
        kind: str,
        profile: Profile,
        program: ProgramContext,
        now: datetime,
        segments: tuple[str, ...] = (),
    ) -> MemberRef:
        member_id, account_id = self.s.new_id(), self.s.new_id()
        self.s.members[member_id] = _Member(network_id, kind, profile, account_id, segments=segments_to_text(segments))
        return MemberRef(member_id, kind, account_id, None, None, None)

    async def add_card(
        self, network_id: int, member_id: int, number: str, state: CardState, now: datetime, card_type: str = "standard"
    ) -> int:
        if any(c.network_id == network_id and c.number == number for c in self.s.cards.values()):
            raise DuplicateKey("card")
        card_id = self.s.new_id()
        self.s.cards[card_id] = _Card(network_id, member_id, number, state, card_type)
        return card_id

    async def add_identifier(
        self, network_id: int, member_id: int, card_id: int | None, kind: IdentifierKind, value: str
    ) -> None:
        if (network_id, value) in self.s.identifiers:
            raise DuplicateKey("identifier")
        self.s.identifiers[(network_id, value)] = _Identifier(member_id, card_id, kind)

    async def set_card_state(
        self, card_id: int, state: CardState, now: datetime, replaced_by_card_id: int | None = None
    ) -> None:
        card = self.s.cards[card_id]
        card.state = state
        card.replaced_by_card_id = replaced_by_card_id or card.replaced_by_card_id

    async def card_type(self, card_id: int) -> str:
        if card_id not in self.s.cards:
            raise LookupError(f"card {card_id} does not exist")
        return self.s.cards[card_id].card_type

    async def member_cards(self, member_id: int) -> list[tuple[str, CardState]]:
        return [(c.number, c.state) for _, c in sorted(self.s.cards.items()) if c.member_id == member_id]

    async def member_profile(self, member_id: int) -> Profile:
        if member_id not in self.s.members:
            raise LookupError(f"member {member_id} does not exist")
        return self.s.members[member_id].profile

    async def member_history(
        self, member_id: int, card_id: int | None, month_start: datetime, previous_month_start: datetime
    ) -> MemberHistory:
        member = self.s.members[member_id]
        card = self.s.cards.get(card_id) if card_id is not None else None
        mine = [p.purchase for p in self.s.purchases.values() if p.purchase.member.member_id == member_id]
        return MemberHistory(
            kind=member.kind,
            birth_date=member.profile.birth_date,
            visit_count=len(mine),
            period_spend_minor=sum(p.check_minor for p in mine if p.occurred_at >= month_start),
            previous_period_spend_minor=sum(
                p.check_minor for p in mine if previous_month_start <= p.occurred_at < month_start
            ),
            tier=member.tier,
            segments=segments_from_text(member.segments),
            card_type=card.card_type if card is not None and card.member_id == member_id else "",
        )

    async def member_labels(self, member_id: int) -> MemberLabels:
        if member_id not in self.s.members:
            raise LookupError(f"member {member_id} does not exist")
        member = self.s.members[member_id]
        return MemberLabels(member.tier, tuple(sorted(segments_from_text(member.segments))))

    async def set_member_labels(self, member_id: int, *, tier: str | None, segments: tuple[str, ...] | None) -> None:
        member = self.s.members[member_id]
        if tier is not None:
            member.tier = tier
        if segments is not None:
            member.segments = segments_to_text(segments)

    async def members_born_on(self, network_id: int, month: int, day: int) -> list[tuple[MemberRef, MemberHistory]]:
        return [
            self._with_labels(i, 0, 0)
            for i, m in sorted(self.s.members.items())
            if m.network_id == network_id
            and m.profile.birth_date is not None
            and (m.profile.birth_date.month, m.profile.birth_date.day) == (month, day)
        ]

    async def members_with_spend(
        self, network_id: int, start: datetime, end: datetime, previous_start: datetime
    ) -> list[tuple[MemberRef, MemberHistory]]:
        def spend(member_id: int, first: datetime, end: datetime) -> int:
            return sum(
                p.purchase.check_minor
                for p in self.s.purchases.values()
                if p.purchase.member.member_id == member_id and first <= p.purchase.occurred_at < end
            )

        return [
            self._with_labels(i, spend(i, start, end), spend(i, previous_start, start))
            for i, m in sorted(self.s.members.items())
            if m.network_id == network_id
        ]

    def _with_labels(self, member_id: int, spend: int, previous_spend: int) -> tuple[MemberRef, MemberHistory]:
        m = self.s.members[member_id]
        history = MemberHistory(
            m.kind, m.profile.birth_date, 0, spend, previous_spend, m.tier, segments_from_text(m.segments)
        )
        return self._ref(member_id, None), history

    # --- the ledger, as far as the faked services need it --------------------------------------------------

    async def member_points(self, member: MemberRef) -> MemberPoints:
        m = self.s.members[member.member_id]
        lots = tuple(
            Lot(i, lot.remaining, lot.expires_at, lot.granting_partner_id)
            for i, lot in sorted(self.s.lots.items())
            if lot.account_id == m.account_id and lot.remaining > 0
        )
        return MemberPoints(m.balance, m.lifetime_spend_minor, lots)

    async def find_member_points(
        self, network_id: int, candidates: Sequence[str]
    ) -> tuple[MemberRef, MemberPoints] | None:
        member = await self.find_member(network_id, candidates, lock=True)
        return None if member is None else (member, await self.member_points(member))

    async def peek_member_points(
        self, network_id: int, candidates: Sequence[str]
    ) -> tuple[MemberRef, MemberPoints, int] | None:
        member = await self.find_member(network_id, candidates, lock=False)
        if member is None:
            return None
        return member, await self.member_points(member), self.s.members[member.member_id].version

    async def peek_member_points_paying(
        self, network_id: int, candidates: Sequence[str], currency: str, since: datetime
    ) -> tuple[MemberRef, MemberPoints, int, PayingWallet] | None:
        found = await self.peek_member_points(network_id, candidates)
        if found is None:
            return None
        return (*found, await self.wallet_for_payment(found[0].member_id, currency, since))

    async def find_member_points_paying(
        self, network_id: int, candidates: Sequence[str], currency: str, since: datetime
    ) -> tuple[MemberRef, MemberPoints, PayingWallet] | None:
        found = await self.find_member_points(network_id, candidates)
        if found is None:
            return None
        return (*found, await self.wallet_for_payment(found[0].member_id, currency, since))

    async def lock_members_points(
        self, network_id: int, candidates: Sequence[str]
    ) -> list[tuple[str, MemberRef, MemberPoints]]:
        found = []
        for value in candidates:
            identifier = self.s.identifiers.get((network_id, value))
            if identifier is not None:
                member = self._ref(identifier.member_id, identifier.card_id)
                found.append((value, member, await self.member_points(member)))
        return sorted(found, key=lambda match: match[1].member_id)

    async def set_member_points(
        self,
        member_id: int,
        account_id: int,
        balance: int,
        lifetime_spend_minor: int,
        *,
        expected_version: int | None = None,
    ) -> bool:
        member = self.s.members[member_id]
        if expected_version is not None and member.version != expected_version:
            return False
        member.balance, member.lifetime_spend_minor, member.version = balance, lifetime_spend_minor, member.version + 1
        return True

    async def post(
        self,
        network_id: int,
        tx: Transaction,
        outlet_id: int | None,
        occurred_at: datetime,
        now: datetime,
        *,
        cashier_login: str | None = None,
    ) -> int:
        tx_id = self.s.new_id()
        self.s.transactions[tx_id] = _Posted(network_id, tx, outlet_id, occurred_at, now)
        return tx_id

    async def apply_lots(
        self, tx_id: int, account_id: int, takes: Sequence[LotTake], new_lots: Sequence[NewLot]
    ) -> None:
        for take in takes:
            lot = self.s.lots[take.lot_id]
            if lot.remaining < take.points:  # the CHECK (remaining >= 0) of SQL: loudly, never skipped
                raise ValueError(f"lot {take.lot_id} has {lot.remaining} points, not {take.points}")
            lot.remaining -= take.points
            self.s.lot_takes.append((tx_id, take.lot_id, take.points))
        for new in new_lots:
            if new.top_up_lot_id is not None:
                topped = self.s.lots[new.top_up_lot_id]
                topped.points += new.points
                topped.remaining += new.points
                continue
            self.s.lots[self.s.new_id()] = _Lot(
                account_id,
                tx_id,
                new.points,
                new.points,
                new.expires_at,
                new.granting_partner_id,
                new.ends_with_visit_id,
            )

    async def transaction(self, tx_id: int) -> Transaction:
        if tx_id not in self.s.transactions:
            raise LookupError(f"ledger transaction {tx_id} does not exist")
        return self.s.transactions[tx_id].transaction

    async def has_bonus(self, account_id: int, memo: str) -> bool:
        return any(
            p.transaction.kind is TransactionKind.BONUS
            and p.transaction.memo == memo
            and any(x.account_id == account_id for x in p.transaction.postings)
            for p in self.s.transactions.values()
        )

    async def points_added_since(self, account_id: int, since: datetime) -> int:
        return sum(
            x.amount
            for p in self.s.transactions.values()
            if p.recorded_at >= since
            for x in p.transaction.postings
            if x.account_id == account_id
        )

    async def members_with_expired_lots(self, network_id: int, now: datetime) -> list[tuple[int, int]]:
        accounts = {
            lot.account_id
            for lot in self.s.lots.values()
            if lot.remaining > 0 and lot.expires_at is not None and lot.expires_at <= now
        }
        return sorted(
            (i, m.account_id)
            for i, m in self.s.members.items()
            if m.network_id == network_id and m.account_id in accounts
        )

    async def lots_ending_with_visit(self, account_id: int, visit_id: str) -> set[int]:
        return {
            i
            for i, lot in self.s.lots.items()
            if lot.account_id == account_id and lot.ends_with_visit_id == visit_id and lot.remaining > 0
        }

    async def statement(self, member: MemberRef, limit: int, window: LineWindow = EVERY_LINE) -> list[StatementLine]:
        lines, running = [], 0
        for tx_id, p in sorted(self.s.transactions.items()):
            amounts = [x.amount for x in p.transaction.postings if x.account_id == member.points_account_id]
            if not amounts:
                continue
            running += sum(amounts)
            outlet = self.s.outlets[p.outlet_id].name if p.outlet_id is not None else None
            line = StatementLine(
                tx_id=tx_id,
                kind=p.transaction.kind.value,
                occurred_at=p.occurred_at,
                recorded_at=p.recorded_at,
                outlet_name=outlet,
                amount=sum(amounts),
                points_earned=sum(a for a in amounts if a > 0),
                points_spent=-sum(a for a in amounts if a < 0),
                balance_after=running,
                memo=p.transaction.memo,
                reverses_tx_id=p.transaction.reverses_tx_id,
            )
            if window.admits(tx_id, p.recorded_at):
                lines.append(line)
        return lines[-limit:]

    # --- coupons ------------------------------------------------------------------------------------------

    async def coupons(self, network_id: int, codes: Sequence[str], *, lock: bool) -> dict[str, Coupon]:
        return {c.code: c for n, c in self.s.coupons.values() if n == network_id and c.code in codes}

    async def use_coupons(self, uses: Sequence[tuple[int, str]], now: datetime) -> None:
        for coupon_id, purchase_id in uses:
            network_id, coupon = self.s.coupons[coupon_id]
            self.s.coupons[coupon_id] = (network_id, replace(coupon, uses=coupon.uses + 1))
            self.s.coupon_uses.append((coupon_id, purchase_id, now))

    async def add_coupons(self, network_id: int, coupons: Sequence[NewCoupon], now: datetime) -> None:
        taken = {c.code for n, c in self.s.coupons.values() if n == network_id}
        if len({c.code for c in coupons}) < len(coupons) or taken & {c.code for c in coupons}:
            raise DuplicateKey("unique")
        for new in coupons:
            coupon_id = self.s.new_id()
            coupon = Coupon(
                coupon_id, new.code, new.campaign, new.member_id, new.valid_from, new.valid_until, new.max_uses, 0
            )
            self.s.coupons[coupon_id] = (network_id, coupon)

    async def list_coupons(
        self,
        network_id: int,
        campaign: str | None,
        limit: int,
        after_id: int | None = None,
        *,
        member_id: int | None = None,
    ) -> list[Coupon]:
        found = [
            c
            for _, (n, c) in sorted(self.s.coupons.items())
            if n == network_id
            and campaign in (None, c.campaign)
            and c.id > (after_id or 0)
            and member_id in (None, c.member_id)
        ]
        return sorted(found, key=lambda c: c.id)[:limit]

    async def has_coupon_from(self, member_id: int, campaign: str, valid_from: datetime) -> bool:
        return any(
            c.member_id == member_id and c.campaign == campaign and c.valid_from == valid_from
            for _, c in self.s.coupons.values()
        )

    # --- gifts --------------------------------------------------------------------------------------------

    async def gift_types(self, network_id: int, codes: Sequence[str] | None = None) -> dict[str, GiftType]:
        mine = sorted((t for n, t in self.s.gift_types.values() if n == network_id), key=lambda t: t.code)
        return {t.code: t for t in mine if codes is None or t.code in codes}

    async def create_gift_type(self, network_id: int, gift_type: GiftType, now: datetime) -> int:
        if gift_type.code in await self.gift_types(network_id, [gift_type.code]):
            raise DuplicateKey("unique")
        gift_type_id = self.s.new_id()
        self.s.gift_types[gift_type_id] = (network_id, replace(gift_type, id=gift_type_id))
        return gift_type_id

    async def insert_gift(
        self, network_id: int, gift: Gift, granted_outlet_id: int, grant_tx_id: int, purchase_id: str | None
    ) -> None:
        if gift.id in self.s.gifts:
            raise DuplicateKey("unique")
        self.s.gifts[gift.id] = _Gift(
            network_id,
            gift.gift_type.id,
            gift.member_id,
            gift.outlets,
            gift.granted_at,
            gift.valid_until,
            gift.state,
            purchase_id,
            grant_tx_id,
        )

    def _gift(self, gift_id: str) -> Gift:
        g = self.s.gifts[gift_id]
        gift_type = self.s.gift_types[g.gift_type_id][1]
        return Gift(gift_id, gift_type, g.member_id, g.outlets, g.granted_at, g.valid_until, g.state)

    async def gift(self, network_id: int, gift_id: str, *, lock: bool) -> Gift | None:
        found = self.s.gifts.get(gift_id)
        return self._gift(gift_id) if found is not None and found.network_id == network_id else None

    async def mark_gift_honoured(self, gift_id: str, outlet_id: int, tx_id: int, now: datetime) -> bool:
        return self._leave_granted(gift_id, GiftState.HONOURED)

    async def mark_gift_expired(self, gift_id: str, now: datetime, release_tx_id: int | None) -> bool:
        return self._leave_granted(gift_id, GiftState.EXPIRED)

    def _leave_granted(self, gift_id: str, state: GiftState) -> bool:
        gift = self.s.gifts.get(gift_id)
        if gift is None or gift.state is not GiftState.GRANTED:
            return False
        gift.state = state
        return True

    def _granted(self, keep: Any) -> list[tuple[str, _Gift]]:
        return [(i, g) for i, g in self.s.gifts.items() if g.state is GiftState.GRANTED and keep(g)]

    async def gifts_due_to_expire(self, network_id: int, now: datetime) -> list[tuple[str, int]]:
        due = self._granted(lambda g: g.network_id == network_id and g.valid_until <= now)
        return [(i, g.grant_tx_id) for i, g in sorted(due, key=lambda x: (x[1].valid_until, x[0]))]

    async def member_gifts(self, member_id: int, now: datetime) -> list[Gift]:
        valid = self._granted(lambda g: g.member_id == member_id and g.valid_until > now)
        return [self._gift(i) for i, _ in sorted(valid, key=lambda x: (x[1].valid_until, x[0]))]

    async def open_gifts_granted_since(self, member_id: int, since: datetime) -> list[tuple[str, int]]:
        found = self._granted(lambda g: g.member_id == member_id and g.granted_at >= since)
        return [(i, g.grant_tx_id) for i, g in sorted(found, key=lambda x: (x[1].granted_at, x[0]))]

    async def open_gifts_of_purchase(self, purchase_id: str) -> list[tuple[str, int]]:
        return sorted((i, g.grant_tx_id) for i, g in self._granted(lambda g: g.purchase_id == purchase_id))

    async def gift_breakage(self, network_id: int) -> GiftBreakage:
        return self.s.networks[network_id].gift_breakage

    async def set_gift_breakage(self, network_id: int, policy: GiftBreakage) -> None:
        self.s.networks[network_id].gift_breakage = policy

    # --- visits -------------------------------------------------------------------------------------------

    async def insert_visit(self, network_id: int, visit: Visit) -> None:
        if visit.id in self.s.visits or await self.open_visit_of(visit.member_id) is not None:
            raise DuplicateKey("unique")  # the primary key, or the one open visit per member
        self.s.visits[visit.id] = (network_id, visit)

    async def visit(
        self, network_id: int, visit_id: str, *, lock: bool, partner_id: int, bought_in: bool = False
    ) -> Visit | None:
        """In the reach of `partner_id` when one of its outlets opened it, or (`bought_in`) the member bought at one
        of its outlets during the visit."""
        found = self.s.visits.get(visit_id)
        if found is None or found[0] != network_id:
            return None
        visit = found[1]
        opened = self.s.outlets[visit.entry_outlet_id].partner_id == partner_id
        return visit if opened or (bought_in and self._bought_in(visit, partner_id)) else None

    def _bought_in(self, visit: Visit, partner_id: int) -> bool:
        return any(
            p.purchase.member.member_id == visit.member_id
            and p.purchase.terminal.partner_id == partner_id
            and p.recorded_at >= visit.started_at
            and (visit.ended_at is None or p.recorded_at <= visit.ended_at)
            for p in self.s.purchases.values()
        )

    async def open_visit_of(self, member_id: int) -> Visit | None:
        return next((v for _, v in self.s.visits.values() if v.member_id == member_id and v.is_open), None)

    async def end_visit(self, visit: Visit, reset_tx_id: int | None) -> bool:
        network_id, stored = self.s.visits[visit.id]
        if not stored.is_open:
            return False
        self.s.visits[visit.id] = (network_id, visit)
        return True

    # --- idempotency --------------------------------------------------------------------------------------

    async def stored_response(self, terminal_id: int, key: str) -> StoredResponse | None:
        return self.s.responses.get((terminal_id, key))

    async def stored_responses(self, terminal_id: int, keys: Sequence[str]) -> dict[str, StoredResponse]:
        return {key: self.s.responses[(terminal_id, key)] for key in keys if (terminal_id, key) in self.s.responses}

    async def store_response(self, terminal_id: int, key: str, response: StoredResponse, now: datetime) -> None:
        if (terminal_id, key) in self.s.responses:
            raise DuplicateKey("idempotency")
        self.s.responses[(terminal_id, key)] = copy.deepcopy(response)

    # --- purchases and refunds ----------------------------------------------------------------------------

    async def record_purchase(self, write: PurchaseWrite, expected_version: int | None) -> bool:
        """All or nothing, as PostgreSQL's one statement: nothing when the points' version moved on or the till
        may no longer act; a taken receipt or key raises before anything is written."""
        p = write.purchase
        member = self.s.members[p.member.member_id]
        if expected_version is not None and member.version != expected_version:
            return False
        if not self._still_allowed(p.terminal, p.cashier_login):
            return False
        record = write.idempotency
        self._check_receipts_free(p.terminal.outlet_id, [p.receipt])
        self._check_keys_free(record.terminal_id, [record.key])
        await self.set_member_points(
            p.member.member_id, p.member.points_account_id, write.balance_after, write.lifetime_spend_after_minor
        )
        tx_id = None
        if write.transaction is not None:
            tx_id = await self.post(
                p.terminal.network_id, write.transaction, p.terminal.outlet_id, p.occurred_at, write.recorded_at
            )
            await self.apply_lots(tx_id, p.member.points_account_id, write.lot_takes, write.new_lots)
        await self.insert_purchase(p, tx_id, write.recorded_at)
        await self.store_response(record.terminal_id, record.key, record.response, write.recorded_at)
        return True

    def _still_allowed(self, ctx: TerminalContext, cashier_login: str | None) -> bool:
        """The access guard of the purchase's write: its terminal and its cashier (when named) still active."""
        terminal = self.s.terminals.get(ctx.terminal_id)
        if terminal is None or not terminal.active:
            return False
        return cashier_login is None or (ctx.outlet_id, cashier_login) in self.s.cashiers

    def _check_receipts_free(self, outlet_id: int, receipts: Sequence[str]) -> None:
        taken = {p.purchase.receipt for p in self.s.purchases.values() if p.purchase.terminal.outlet_id == outlet_id}
        if len(set(receipts)) < len(receipts) or taken & set(receipts):
            raise DuplicateKey("receipt")

    def _check_keys_free(self, terminal_id: int, keys: Sequence[str]) -> None:
        if len(set(keys)) < len(keys) or any((terminal_id, key) in self.s.responses for key in keys):
            raise DuplicateKey("idempotency")

    async def insert_purchase(self, purchase: NewPurchase, tx_id: int | None, now: datetime) -> None:
        self._check_receipts_free(purchase.terminal.outlet_id, [purchase.receipt])
        if purchase.id in self.s.purchases:
            raise DuplicateKey("unique")
        self.s.purchases[purchase.id] = _Purchase(purchase, tx_id, now)

    async def existing_receipts(self, outlet_id: int, receipts: Sequence[str]) -> set[str]:
        wanted = set(receipts)
        return {
            p.purchase.receipt
            for p in self.s.purchases.values()
            if p.purchase.terminal.outlet_id == outlet_id and p.purchase.receipt in wanted
        }

    async def purchase_id_by_receipt(self, outlet_id: int, receipt: str) -> str | None:
        return next(
            (
                p.purchase.id
                for p in self.s.purchases.values()
                if p.purchase.terminal.outlet_id == outlet_id and p.purchase.receipt == receipt
            ),
            None,
        )

    async def allocate_ids(self, transactions: int, lots: int) -> tuple[list[int], list[int]]:
        return [self.s.new_id() for _ in range(transactions)], [self.s.new_id() for _ in range(lots)]

    async def write_batch(self, batch: LedgerBatch) -> None:
        """Every write of a batch; its receipts and keys checked first, so a taken one writes nothing."""
        s, now = self.s, batch.recorded_at
        for purchase, _ in batch.purchases:
            self._check_receipts_free(purchase.terminal.outlet_id, [purchase.receipt])
        receipts = [(p.terminal.outlet_id, p.receipt) for p, _ in batch.purchases]
        if len(set(receipts)) < len(receipts):
            raise DuplicateKey("receipt")
        for terminal_id in {r.terminal_id for r in batch.responses}:
            self._check_keys_free(terminal_id, [r.key for r in batch.responses if r.terminal_id == terminal_id])
        for planned in batch.transactions:
            if planned.id in s.transactions:
                raise DuplicateKey("unique")
            s.transactions[planned.id] = _Posted(
                batch.network_id, planned.transaction, planned.outlet_id, planned.occurred_at, now
            )
        for lot in batch.new_lots:
            s.lots[lot.id] = _Lot(
                lot.account_id,
                lot.tx_id,
                lot.points,
                lot.remaining,
                lot.expires_at,
                lot.granting_partner_id,
                lot.ends_with_visit_id,
            )
        for lot_id, (points, remaining) in batch.existing_lot_changes.items():
            changed = s.lots[lot_id]
            if changed.remaining + remaining < 0:  # the CHECK (remaining >= 0) of SQL
                raise ValueError(f"lot {lot_id} has {changed.remaining} points, not {-remaining}")
            changed.points, changed.remaining = changed.points + points, changed.remaining + remaining
        s.lot_takes.extend(batch.lot_takes)
        by_account = {m.account_id: i for i, m in s.members.items()}
        for change in batch.member_points:
            member = s.members[by_account[change.account_id]]
            member.balance, member.version = change.balance, member.version + 1
            s.members[change.member_id].lifetime_spend_minor = change.lifetime_spend_minor
        for member_id, tier in batch.member_tiers.items():
            s.members[member_id].tier = tier
        for account_id, amount in batch.wallet_debits.items():
            await self.add_to_wallet(account_id, -amount)
        for purchase, tx_id in batch.purchases:
            s.purchases[purchase.id] = _Purchase(purchase, tx_id, now)
        if batch.new_coupons:
            await self.add_coupons(batch.network_id, batch.new_coupons, now)
        await self.use_coupons(batch.coupon_uses, now)
        for record in batch.responses:
            s.responses[(record.terminal_id, record.key)] = copy.deepcopy(record.response)

    async def purchase_for_refund(self, network_id: int, purchase_id: str) -> StoredPurchase | None:
        found = self.s.purchases.get(purchase_id)
        if found is None or found.purchase.terminal.network_id != network_id:
            return None
        p = found.purchase
        refunds = [r.refund for r in self.s.refunds.values() if r.refund.purchase_id == purchase_id]
        returned: dict[str, int] = {}
        for refund in refunds:
            for sku, quantity in refund.quantities_milli.items():
                returned[sku] = returned.get(sku, 0) + quantity
        return StoredPurchase(
            id=p.id,
            outlet_id=p.terminal.outlet_id,
            partner_id=p.terminal.partner_id,
            member_id=p.member.member_id,
            points_account_id=p.member.points_account_id,
            check_minor=p.check_minor,
            amount_due_minor=p.amount_due_minor,
            points_earned=p.points_earned,
            points_redeemed=p.points_redeemed,
            tx_id=found.tx_id,
            refunded_before_minor=sum(refund.refund_minor for refund in refunds),
            lines=p.lines,
            refunded_quantity_milli=returned,
            spent=self._spent_by_grantor(found.tx_id) if p.points_redeemed else (),
            clawed_back_before=sum(refund.points_clawed_back for refund in refunds),
            occurred_at=p.occurred_at,
        )

    async def points_expired_of(self, tx_id: int, account_id: int) -> int:
        return sum(
            points
            for taker, lot_id, points in self.s.lot_takes
            if self.s.lots[lot_id].tx_id == tx_id
            and self.s.lots[lot_id].account_id == account_id
            and self.s.transactions[taker].transaction.kind is TransactionKind.EXPIRY
        )

    def _spent_by_grantor(self, tx_id: int | None) -> tuple[GrantedPoints, ...]:
        taken = [
            Lot(lot_id, points, self.s.lots[lot_id].expires_at, self.s.lots[lot_id].granting_partner_id)
            for tx, lot_id, points in self.s.lot_takes
            if tx == tx_id
        ]
        return tuple(GrantedPoints(lot.granting_partner_id, lot.remaining) for lot in spend_order(taken))

    async def insert_refund(self, refund: NewRefund, tx_id: int | None, now: datetime) -> None:
        if refund.id in self.s.refunds:
            raise DuplicateKey("unique")
        self.s.refunds[refund.id] = _Refund(refund, tx_id, now)


@dataclass(frozen=True)
class SeededNetwork:
    network_id: int
    shop_key: str  # the terminal key of the Shop partner's outlet, "Shop till"
    cafe_key: str  # of the Cafe partner's outlet, "Cafe till"


def seed_network(fake: FakePos, program: BonusProgram) -> SeededNetwork:
    """What tests/support.make_network creates through the console, in the fake: two partners, an outlet and a
    terminal each."""
    network_id = fake.add_network(program)
    keys = []
    for name in ("Shop", "Cafe"):
        partner_id = fake.add_partner(network_id, name)
        outlet_id = fake.add_outlet(network_id, partner_id, f"{name} till")
        keys.append(f"{name.lower()}-terminal-key")
        fake.add_terminal(outlet_id, key_hash(keys[-1]))
    return SeededNetwork(network_id, keys[0], keys[1])


def small_shop_program() -> BonusProgram:
    """The demo's small-shop program (what tests/support.make_network gives a network), in roubles."""
    p = SMALL_SHOP_PROGRAM
    return BonusProgram(0, p.code, "RUB", p.tiers, p.min_check_for_redeem_minor, p.point_value_minor)
