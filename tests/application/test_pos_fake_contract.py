"""The in-memory fake (tests/fakes/pos.py) keeps the SQL unit of work's semantics: the same checks run against the
fake and against `SqlPosUnitOfWork` on SQLite and on PostgreSQL, so a service tested on the fake behaves the same on
a database (duplicates refused with the same `DuplicateKey`, rollback on error, which candidate wins, reach)."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from coalition.adapters.storage.pos_store import SqlPosUnitOfWork
from coalition.application.audit import AuditTrail
from coalition.application.commands import DuplicateKey, key_hash
from coalition.application.ports import (
    CouponsPort,
    GiftCardsPort,
    GiftsPort,
    IdempotencyPort,
    IdempotencyRecord,
    LedgerBatch,
    LedgerPort,
    LotWrite,
    MemberLabels,
    MemberPointsWrite,
    MemberRef,
    MembersPort,
    NewPurchase,
    NewRefund,
    PayingWallet,
    PlannedTransaction,
    PosUnitOfWork,
    Profile,
    ProgramContext,
    PurchasesPort,
    PurchaseWrite,
    ReferencePort,
    StoredResponse,
    TerminalContext,
    VisitsPort,
    WalletsPort,
)
from coalition.application.record_ids import new_record_id
from coalition.demo import SMALL_SHOP_PROGRAM
from coalition.domain.breakage import BreakagePolicy, PointsBreakage
from coalition.domain.cards import CardState
from coalition.domain.coupons import NewCoupon
from coalition.domain.errors import InsufficientFunds
from coalition.domain.gifts import Gift, GiftBreakage, GiftState, GiftType, grant_transaction
from coalition.domain.identifiers import IdentifierKind
from coalition.domain.ledger import OwnerKind, Posting, Transaction, TransactionKind
from coalition.domain.lots import GrantedPoints, LotTake
from coalition.domain.permissions import Operation, Permission
from coalition.domain.purchase import BasketLine, MemberPoints, NewLot
from coalition.domain.visits import Visit
from coalition.domain.wallets import WalletStatus
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.fakes.pos import FakePos, FakeUnitOfWork, seed_network, small_shop_program
from tests.support import make_network

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
Factory = Callable[[], AbstractAsyncContextManager[PosUnitOfWork]]


@dataclass(frozen=True)
class Store:
    """A unit of work factory and a network with two partners (Shop, Cafe), an outlet and a terminal each."""

    unit_of_work: Factory
    network_id: int
    shop: TerminalContext
    cafe: TerminalContext
    shop_key: str


async def fake_store() -> Store:
    fake = FakePos()
    seeded = seed_network(fake, small_shop_program())
    async with fake.unit_of_work() as uow:
        shop = await uow.terminal_by_key_hash(key_hash(seeded.shop_key))
        cafe = await uow.terminal_by_key_hash(key_hash(seeded.cafe_key))
    assert shop is not None and cafe is not None
    return Store(fake.unit_of_work, seeded.network_id, shop, cafe, seeded.shop_key)


@pytest.fixture(params=["fake", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    if request.param == "fake":
        yield await fake_store()
        return
    url: str = request.getfixturevalue(f"{'pg' if request.param == 'postgresql' else 'sqlite'}_database_url")
    services = build_services(Settings(database_url=url, operator_token=None, public_url="http://t"))
    try:
        network = await make_network(services)
        shop = await services.pos.authenticate(network.shop_key)
        cafe = await services.pos.authenticate(network.cafe_key)
        yield Store(services.store.unit_of_work, network.ref.id, shop, cafe, network.shop_key)
    finally:
        await services.close()


async def _member(store: Store, card: str, *, name: str = "Anna Petrova", phone: str | None = None) -> int:
    async with store.unit_of_work() as uow:
        program = await uow.program_of(store.network_id)
        profile = Profile(name=name, phone=phone)
        member = await uow.create_member(store.network_id, "personal", profile, program, NOW, ("vip", "students"))
        card_id = await uow.add_card(store.network_id, member.member_id, card, CardState.ACTIVE, NOW, "social")
        await uow.add_identifier(store.network_id, member.member_id, card_id, IdentifierKind.CARD, card)
        if phone:
            await uow.add_identifier(store.network_id, member.member_id, None, IdentifierKind.PHONE, phone)
    return member.member_id


async def test_members_cards_and_labels(store: Store) -> None:
    member_id = await _member(store, "10000001", phone="+79990001122")
    async with store.unit_of_work() as uow:
        by_phone = await uow.find_member(store.network_id, ["nobody", "+79990001122", "10000001"], lock=False)
        by_card = await uow.find_member(store.network_id, ["10000001"], lock=True)
        assert by_phone is not None and by_card is not None
        assert (by_phone.member_id, by_phone.card_id) == (member_id, None)  # the earliest candidate wins
        assert (by_card.member_id, by_card.card_number, by_card.card_state) == (member_id, "10000001", CardState.ACTIVE)
        assert by_card.card_id is not None
        assert await uow.card_type(by_card.card_id) == "social"
        assert await uow.member_cards(member_id) == [("10000001", CardState.ACTIVE)]
        assert (await uow.member_labels(member_id)).segments == ("students", "vip")
        assert [m.member_id for m in await uow.members_named(store.network_id, "PETROVA", 10)] == [member_id]
        assert await uow.member_in_network(store.network_id + 1000, member_id) is None
        assert (await uow.member_profile(member_id)).phone == "+79990001122"
        history = await uow.member_history(member_id, by_card.card_id, NOW, NOW - timedelta(days=30))
        assert (history.kind, history.card_type, history.visit_count, history.segments) == (
            "personal", "social", 0, frozenset({"students", "vip"}),
        )  # fmt: skip
        await uow.set_card_state(by_card.card_id, CardState.BLOCKED, NOW)
        await uow.set_member_labels(member_id, tier="gold", segments=None)
    async with store.unit_of_work() as uow:
        blocked = await uow.find_member(store.network_id, ["10000001"], lock=False)
        assert blocked is not None and blocked.card_state is CardState.BLOCKED
        assert await uow.member_labels(member_id) == MemberLabels("gold", ("students", "vip"))
        with pytest.raises(LookupError):
            await uow.member_by_id(member_id + 1000)


async def test_a_taken_key_raises_duplicate_key_and_rolls_back(store: Store) -> None:
    member_id = await _member(store, "10000001")
    with pytest.raises(DuplicateKey) as card:
        async with store.unit_of_work() as uow:
            program = await uow.program_of(store.network_id)
            other = await uow.create_member(store.network_id, "personal", Profile(name="Boris"), program, NOW)
            await uow.add_card(store.network_id, other.member_id, "10000001", CardState.ACTIVE, NOW)
    assert card.value.what == "card"
    with pytest.raises(DuplicateKey) as identifier:
        async with store.unit_of_work() as uow:
            await uow.add_identifier(store.network_id, member_id, None, IdentifierKind.PHONE, "10000001")
    assert identifier.value.what == "identifier"
    response = StoredResponse("hash", 201, {"member": member_id})
    async with store.unit_of_work() as uow:
        await uow.store_response(store.shop.terminal_id, "key-1", response, NOW)
    with pytest.raises(DuplicateKey) as key:
        async with store.unit_of_work() as uow:
            await uow.store_response(store.shop.terminal_id, "key-1", response, NOW)
    assert key.value.what == "idempotency"
    async with store.unit_of_work() as uow:
        assert await uow.members_named(store.network_id, "Boris", 10) == []  # rolled back with the failed card
        assert await uow.stored_response(store.shop.terminal_id, "key-1") == response
        assert await uow.stored_responses(store.shop.terminal_id, ["key-1", "key-2"]) == {"key-1": response}
        assert await uow.stored_response(store.cafe.terminal_id, "key-1") is None


async def test_an_error_rolls_the_unit_of_work_back(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.unit_of_work() as uow:
            program = await uow.program_of(store.network_id)
            member = await uow.create_member(store.network_id, "personal", Profile(name="Vera"), program, NOW)
            await uow.add_identifier(store.network_id, member.member_id, None, IdentifierKind.PHONE, "+79990009999")
            raise RuntimeError("the request failed after writing")
    async with store.unit_of_work() as uow:
        assert await uow.find_member(store.network_id, ["+79990009999"], lock=False) is None


async def test_wallets(store: Store) -> None:
    member_id = await _member(store, "10000009")
    async with store.unit_of_work() as uow:
        assert await uow.wallet(member_id, "RUB") is None
        assert await uow.wallet_for_payment(member_id, "RUB", NOW) == PayingWallet(None, 0)
        opened = await uow.open_wallet(store.network_id, member_id, "RUB", NOW)
        assert (opened.balance_minor, opened.credit_limit_minor, opened.status) == (0, 0, WalletStatus.OPEN)
        assert await uow.open_wallet(store.network_id, member_id, "RUB", NOW) == opened
        account = await uow.prepaid_account(store.network_id, OwnerKind.PARTNER, store.shop.partner_id, "RUB")
        assert await uow.prepaid_account(store.network_id, OwnerKind.PARTNER, store.shop.partner_id, "RUB") == account
        assert await uow.partner_prepaid_account(store.network_id, store.shop.partner_id, "RUB") == account
        assert await uow.partner_prepaid_account(store.network_id, store.shop.partner_id, "EUR") is None
        assert await uow.add_to_wallet(opened.account_id, 500) == 500
        await uow.set_wallet_limits(opened.account_id, 200, 300)
        paying = await uow.wallet_for_payment(member_id, "RUB", NOW)
        found = paying.wallet
        assert found is not None and (found.balance_minor, found.credit_limit_minor) == (500, 200)
        assert (found.daily_spend_limit_minor, paying.spent_today_minor) == (300, 0)
        assert await uow.add_to_wallet(opened.account_id, -700) == -200  # down to −credit limit
        # the purchase's reads of the member return the same wallet beside the points, unlocked and locked
        peeked = await uow.peek_member_points_paying(store.network_id, ["nobody", "10000009"], "RUB", NOW)
        assert peeked is not None and peeked[0].member_id == member_id
        assert peeked[3] == PayingWallet(replace(paying.wallet, balance_minor=-200), 0)
        assert await uow.peek_member_points_paying(store.network_id, ["nobody"], "RUB", NOW) is None
        locked = await uow.find_member_points_paying(store.network_id, ["10000009"], "EUR", NOW)
        assert locked is not None and (locked[0].member_id, locked[2]) == (member_id, PayingWallet(None, 0))
    async with store.unit_of_work() as uow:
        with pytest.raises(InsufficientFunds):  # below it: refused, as the CHECK refuses it in SQL
            await uow.add_to_wallet(opened.account_id, -1)
    async with store.unit_of_work() as uow:
        await uow.set_wallet_status(opened.account_id, WalletStatus.CLOSED)
        closed = await uow.wallet_of_account(opened.account_id)
        assert closed is not None and (closed.status, closed.balance_minor) == (WalletStatus.CLOSED, -200)


async def test_coupons(store: Store) -> None:
    member_id = await _member(store, "10000001")
    until = NOW + timedelta(days=7)
    async with store.unit_of_work() as uow:
        await uow.add_coupons(
            store.network_id,
            [
                NewCoupon("SPRING1", "spring", None, NOW, until, 2),
                NewCoupon("SPRING2", "spring", member_id, NOW, until, 1),
            ],
            NOW,
        )
    with pytest.raises(DuplicateKey):
        async with store.unit_of_work() as uow:
            await uow.add_coupons(store.network_id, [NewCoupon("SPRING1", "autumn", None, NOW, until, 1)], NOW)
    async with store.unit_of_work() as uow:
        found = await uow.coupons(store.network_id, ["SPRING1", "SPRING2", "NONE"], lock=True)
        assert sorted(found) == ["SPRING1", "SPRING2"]
        assert (found["SPRING2"].member_id, found["SPRING1"].max_uses, found["SPRING1"].uses) == (member_id, 2, 0)
        assert found["SPRING1"].valid_until == until
        await uow.use_coupons([(found["SPRING1"].id, "purchase-1")], NOW)
        assert await uow.has_coupon_from(member_id, "spring", NOW)
        assert not await uow.has_coupon_from(member_id, "spring", until)
    async with store.unit_of_work() as uow:
        listed = await uow.list_coupons(store.network_id, "spring", 10)
        assert [(c.code, c.uses) for c in listed] == [("SPRING1", 1), ("SPRING2", 0)]
        assert await uow.list_coupons(store.network_id, "autumn", 10) == []
        assert len(await uow.list_coupons(store.network_id, None, 1)) == 1
        # keyset pagination (docs/api.md "Conventions"): the page after the first coupon starts at the second
        after = await uow.list_coupons(store.network_id, "spring", 10, after_id=listed[0].id)
        assert [c.code for c in after] == ["SPRING2"]
        assert await uow.list_coupons(store.network_id, "spring", 10, after_id=listed[1].id) == []


async def test_gifts_granted_honoured_once_and_expired(store: Store) -> None:
    member_id = await _member(store, "10000001")
    tea = GiftType(0, "tea", "Tea", 150_00, 30, frozenset({store.shop.partner_id}))
    async with store.unit_of_work() as uow:
        tea = replace(tea, id=await uow.create_gift_type(store.network_id, tea, NOW))
    with pytest.raises(DuplicateKey):
        async with store.unit_of_work() as uow:
            await uow.create_gift_type(store.network_id, tea, NOW)
    fresh = Gift(new_record_id(), tea, member_id, frozenset(), NOW, NOW + timedelta(days=30), GiftState.GRANTED)
    stale = replace(fresh, id=new_record_id(), valid_until=NOW - timedelta(days=1))
    async with store.unit_of_work() as uow:
        assert await uow.gift_types(store.network_id) == {"tea": tea}
        program = await uow.program_of(store.network_id)
        partner = await uow.partner_obligations_account(store.network_id, store.shop.partner_id)
        grant = grant_transaction(partner, program.node_obligations_account, program.program.money_asset, 150_00, "g")
        tx_id = await uow.post(store.network_id, grant, store.shop.outlet_id, NOW, NOW)
        assert await uow.transaction(tx_id) == grant
        for gift in (fresh, stale):
            await uow.insert_gift(store.network_id, gift, store.shop.outlet_id, tx_id, None)
    async with store.unit_of_work() as uow:
        assert await uow.gift(store.network_id, fresh.id, lock=True) == fresh
        assert await uow.gift(store.network_id + 1000, fresh.id, lock=False) is None
        assert await uow.member_gifts(member_id, NOW) == [fresh]
        assert await uow.open_gifts_granted_since(member_id, NOW) == sorted([(fresh.id, tx_id), (stale.id, tx_id)])
        assert await uow.gifts_due_to_expire(store.network_id, NOW) == [(stale.id, tx_id)]
        assert await uow.mark_gift_honoured(fresh.id, store.shop.outlet_id, tx_id, NOW)
        assert not await uow.mark_gift_honoured(fresh.id, store.shop.outlet_id, tx_id, NOW)
        assert await uow.mark_gift_expired(stale.id, NOW, None)
        assert not await uow.mark_gift_expired(fresh.id, NOW, None)  # handed over: not granted any more
        assert await uow.gift_breakage(store.network_id) is GiftBreakage.KEPT
        await uow.set_gift_breakage(store.network_id, GiftBreakage.RELEASED)
    async with store.unit_of_work() as uow:
        honoured = await uow.gift(store.network_id, fresh.id, lock=False)
        assert honoured is not None and honoured.state is GiftState.HONOURED
        assert await uow.member_gifts(member_id, NOW) == []
        assert await uow.gifts_due_to_expire(store.network_id, NOW) == []
        assert await uow.gift_breakage(store.network_id) is GiftBreakage.RELEASED


async def test_visits_one_open_per_member_in_the_reach_of_its_partner(store: Store) -> None:
    member_id = await _member(store, "10000001")
    visit = Visit(new_record_id(), member_id, store.shop.outlet_id, NOW)
    async with store.unit_of_work() as uow:
        await uow.insert_visit(store.network_id, visit)
    with pytest.raises(DuplicateKey):
        async with store.unit_of_work() as uow:
            await uow.insert_visit(store.network_id, Visit(new_record_id(), member_id, store.cafe.outlet_id, NOW))
    ended = replace(visit, ended_at=NOW + timedelta(hours=2), exit_outlet_id=store.cafe.outlet_id, points_reset=3)
    async with store.unit_of_work() as uow:
        assert await uow.open_visit_of(member_id) == visit
        assert await uow.visit(store.network_id, visit.id, lock=True, partner_id=store.cafe.partner_id) is None
        assert await uow.visit(store.network_id, visit.id, lock=True, partner_id=store.shop.partner_id) == visit
        assert await uow.end_visit(ended, None)
        assert not await uow.end_visit(ended, None)
    async with store.unit_of_work() as uow:
        assert await uow.open_visit_of(member_id) is None
        assert await uow.visit(store.network_id, visit.id, lock=False, partner_id=store.shop.partner_id) == ended


async def test_reference_data(store: Store) -> None:
    shop, cafe = store.shop, store.cafe
    async with store.unit_of_work() as uow:
        assert await uow.terminal_by_key_hash(key_hash(store.shop_key)) == shop
        assert await uow.terminal_by_key_hash(key_hash("no such key")) is None
        by_id = await uow.terminal_by_id(shop.terminal_id)
        assert by_id is not None and (by_id.outlet_id, by_id.partner_name) == (shop.outlet_id, "Shop")
        assert (shop.outlet_name, cafe.partner_name) == ("Shop till", "Cafe")
        assert await uow.outlet_ids(store.network_id) == {"Shop till": shop.outlet_id, "Cafe till": cafe.outlet_id}
        assert await uow.outlet_ids(store.network_id, ["Cafe till", "Bar"]) == {"Cafe till": cafe.outlet_id}
        assert await uow.partner_ids(store.network_id, ["Shop", "Bar"]) == {"Shop": shop.partner_id}
        assert await uow.outlet_name(cafe.outlet_id) == "Cafe till"
        assert await uow.catalogue_entries(store.network_id, shop.partner_id, ["latte"]) == {}  # no catalogue yet
        assert await uow.catalogue_entries(store.network_id, shop.partner_id, []) == {}
        assert not await uow.cashier_is_active(shop.outlet_id, "nobody")
        program = await uow.program_of(store.network_id)
        assert (program.program.code, program.program.tiers) == ("bonus", SMALL_SHOP_PROGRAM.tiers)
        assert await uow.permissions(store.network_id) == []
        allowed = [
            Permission(cafe.outlet_id, "points", Operation.ACCRUE),
            Permission(shop.outlet_id, "points", Operation.SPEND),
        ]
        await uow.replace_permissions(store.network_id, allowed)
        assert await uow.points_breakage(store.network_id) == BreakagePolicy()
        await uow.set_points_breakage(store.network_id, BreakagePolicy(PointsBreakage.SHARED, 5000))
    async with store.unit_of_work() as uow:
        assert await uow.permissions(store.network_id) == sorted(allowed, key=lambda p: p.outlet_id)
        assert await uow.points_breakage(store.network_id) == BreakagePolicy(PointsBreakage.SHARED, 5000)


async def test_points_a_bonus_and_its_lot(store: Store) -> None:
    """The part of the ledger the faked services lean on: post, lots, a member's points and their version."""
    member_id = await _member(store, "10000001")
    async with store.unit_of_work() as uow:
        program = await uow.program_of(store.network_id)
        found = await uow.find_member_points(store.network_id, ["10000001"])
        assert found is not None
        member, points = found
        assert (points.balance, points.lots) == (0, ())
        asset = program.program.points_asset
        bonus = Transaction(
            TransactionKind.BONUS,
            (Posting(program.points_issued_account, asset, -40), Posting(member.points_account_id, asset, 40)),
            memo="welcome",
        )
        tx_id = await uow.post(store.network_id, bonus, store.shop.outlet_id, NOW, NOW)
        await uow.apply_lots(tx_id, member.points_account_id, (), [NewLot(40, NOW + timedelta(days=90))])
        assert await uow.set_member_points(member_id, member.points_account_id, 40, 0)
    async with store.unit_of_work() as uow:
        peeked = await uow.peek_member_points(store.network_id, ["10000001"])
        assert peeked is not None
        _, points, version = peeked
        assert (points.balance, [lot.remaining for lot in points.lots]) == (40, [40])
        assert points.lots[0].expires_at == NOW + timedelta(days=90)
        assert not await uow.set_member_points(member_id, member.points_account_id, 0, 0, expected_version=version - 1)
        assert await uow.has_bonus(member.points_account_id, "welcome")
        assert not await uow.has_bonus(member.points_account_id, "birthday")
        assert await uow.points_added_since(member.points_account_id, NOW) == 40
        assert await uow.points_added_since(member.points_account_id, NOW + timedelta(seconds=1)) == 0
        assert await uow.members_with_expired_lots(store.network_id, NOW + timedelta(days=91)) == [
            (member_id, member.points_account_id)
        ]
        assert [line.amount for line in await uow.statement(member, 10)] == [40]


def _purchase_write(
    store: Store, member: MemberRef, program: ProgramContext, receipt: str, key: str, earned: int, balance: int
) -> PurchaseWrite:
    """A 1,000.00 purchase of one line that earns `earned` points (a lot of them), leaving `balance`."""
    asset = program.program.points_asset
    purchase = NewPurchase(
        id=new_record_id(),
        terminal=store.shop,
        cashier_login=None,
        member=member,
        receipt=receipt,
        check_minor=100000,
        points_redeemed=0,
        amount_due_minor=100000,
        points_earned=earned,
        lines=(BasketLine("tea", "drinks", 2000, 50000),),
        occurred_at=NOW,
    )
    earn = Transaction(
        TransactionKind.PURCHASE,
        (Posting(program.points_issued_account, asset, -earned), Posting(member.points_account_id, asset, earned)),
    )
    response = StoredResponse(f"hash-{key}", 201, {"receipt": receipt})
    return PurchaseWrite(
        purchase=purchase,
        transaction=earn,
        lot_takes=(),
        new_lots=(NewLot(earned, NOW + timedelta(days=365), granting_partner_id=store.shop.partner_id),),
        balance_after=balance,
        lifetime_spend_after_minor=100000 * (balance // earned),
        idempotency=IdempotencyRecord(store.shop.terminal_id, key, response),
        recorded_at=NOW,
    )


async def test_a_purchase_is_written_at_its_version_once_per_receipt_and_key(store: Store) -> None:
    await _member(store, "10000001")
    async with store.unit_of_work() as uow:
        program = await uow.program_of(store.network_id)
        peeked = await uow.peek_member_points(store.network_id, ["10000001"])
        assert peeked is not None
        member, _, version = peeked
        first = _purchase_write(store, member, program, "R-1", "key-1", 30, 30)
        assert not await uow.record_purchase(first, version + 1)  # the points moved on: nothing written
        ghost = replace(first, purchase=replace(first.purchase, cashier_login="ghost"))
        assert not await uow.record_purchase(ghost, version)  # no such cashier at the outlet: nothing written
        assert await uow.record_purchase(first, version)
    async with store.unit_of_work() as uow:
        _, points, after = await _peeked(uow, store)
        assert (points.balance, points.lifetime_spend_minor, [lot.remaining for lot in points.lots]) == (
            30,
            100000,
            [30],
        )
        assert after != version
        assert await uow.stored_response(store.shop.terminal_id, "key-1") == first.idempotency.response
        assert await uow.existing_receipts(store.shop.outlet_id, ["R-1", "R-2"]) == {"R-1"}
        assert await uow.existing_receipts(store.cafe.outlet_id, ["R-1"]) == set()
        assert await uow.purchase_id_by_receipt(store.shop.outlet_id, "R-1") == first.purchase.id
        assert await uow.purchase_id_by_receipt(store.cafe.outlet_id, "R-1") is None
        history = await uow.member_history(member.member_id, member.card_id, NOW, NOW - timedelta(days=30))
        assert (history.visit_count, history.period_spend_minor) == (1, 100000)
        stored = await uow.purchase_for_refund(store.network_id, first.purchase.id)
        assert stored is not None
        assert (stored.check_minor, stored.points_earned, stored.partner_id, stored.lines) == (
            100000,
            30,
            store.shop.partner_id,
            first.purchase.lines,
        )
        assert (stored.refunded_before_minor, stored.refunded_quantity_milli, stored.spent) == (0, {}, ())
        assert await uow.purchase_for_refund(store.network_id + 1000, first.purchase.id) is None
    for receipt, key, what in (("R-1", "key-2", "receipt"), ("R-2", "key-1", "idempotency")):
        with pytest.raises(DuplicateKey) as taken:
            async with store.unit_of_work() as uow:
                _, _, version = await _peeked(uow, store)
                await uow.record_purchase(_purchase_write(store, member, program, receipt, key, 30, 60), version)
        assert taken.value.what == what
    async with store.unit_of_work() as uow:
        _, points, _ = await _peeked(uow, store)
        assert points.balance == 30  # the refused purchases wrote nothing
        assert await uow.existing_receipts(store.shop.outlet_id, ["R-2"]) == set()


async def _peeked(uow: PosUnitOfWork, store: Store) -> tuple[MemberRef, MemberPoints, int]:
    peeked = await uow.peek_member_points(store.network_id, ["10000001"])
    assert peeked is not None
    return peeked


async def test_a_refund_reads_its_purchase_and_what_it_spent(store: Store) -> None:
    await _member(store, "10000001")
    async with store.unit_of_work() as uow:
        program = await uow.program_of(store.network_id)
        member, _, version = await _peeked(uow, store)
        earned = _purchase_write(store, member, program, "R-1", "key-1", 30, 30)
        assert await uow.record_purchase(earned, version)
    async with store.unit_of_work() as uow:
        member, points, _ = await _peeked(uow, store)
        (lot,) = points.lots
        spend = _purchase_write(store, member, program, "R-2", "key-2", 30, 20)
        asset = program.program.points_asset
        pay = Transaction(
            TransactionKind.PURCHASE,
            (Posting(member.points_account_id, asset, -10), Posting(program.points_issued_account, asset, 10)),
        )
        spend = replace(
            spend,
            purchase=replace(spend.purchase, points_redeemed=10, points_earned=0, amount_due_minor=99000),
            transaction=pay,
            lot_takes=(LotTake(lot.id, 10),),
            new_lots=(),
        )
        assert await uow.record_purchase(spend, None)  # under the member's lock
        refund = NewRefund(new_record_id(), spend.purchase.id, store.shop.terminal_id, 25000, 24750, 0, 3, {"tea": 500})
        await uow.insert_refund(refund, None, NOW)
    async with store.unit_of_work() as uow:
        stored = await uow.purchase_for_refund(store.network_id, spend.purchase.id)
        assert stored is not None
        assert (stored.points_redeemed, stored.refunded_before_minor, stored.refunded_quantity_milli) == (
            10,
            25000,
            {"tea": 500},
        )
        assert stored.spent == (GrantedPoints(store.shop.partner_id, 10),)
        _, points, _ = await _peeked(uow, store)
        assert (points.balance, [lot.remaining for lot in points.lots]) == (20, [20])


async def test_a_batch_is_written_with_the_ids_it_allocated(store: Store) -> None:
    await _member(store, "10000001")
    async with store.unit_of_work() as uow:
        program = await uow.program_of(store.network_id)
        locked = await uow.lock_members_points(store.network_id, ["nobody", "10000001"])
        assert [(value, m.card_number) for value, m, _ in locked] == [("10000001", "10000001")]
        _, member, _ = locked[0]
        (tx_id,), (lot_id,) = await uow.allocate_ids(1, 1)
        write = _purchase_write(store, member, program, "B-1", "batch-1", 30, 30)
        assert write.transaction is not None
        batch = LedgerBatch(store.network_id, NOW)
        batch.transactions.append(PlannedTransaction(tx_id, write.transaction, store.shop.outlet_id, NOW))
        batch.new_lots.append(
            LotWrite(lot_id, member.points_account_id, tx_id, 30, 30, NOW + timedelta(days=365), store.shop.partner_id)
        )
        batch.member_points.append(MemberPointsWrite(member.member_id, member.points_account_id, 30, 100000))
        batch.purchases.append((write.purchase, tx_id))
        batch.responses.append(write.idempotency)
        batch.member_tiers[member.member_id] = "gold"
        await uow.write_batch(batch)
    async with store.unit_of_work() as uow:
        _, points, _ = await _peeked(uow, store)
        assert (points.balance, points.lifetime_spend_minor, [lot.id for lot in points.lots]) == (30, 100000, [lot_id])
        assert (await uow.member_labels(member.member_id)).tier == "gold"
        assert await uow.existing_receipts(store.shop.outlet_id, ["B-1"]) == {"B-1"}
        assert await uow.stored_response(store.shop.terminal_id, "batch-1") == write.idempotency.response
        stored = await uow.purchase_for_refund(store.network_id, write.purchase.id)
        assert stored is not None and stored.tx_id == tx_id
    with pytest.raises(DuplicateKey) as taken:
        async with store.unit_of_work() as uow:
            again = _purchase_write(store, member, program, "B-1", "batch-2", 30, 60)
            retry = LedgerBatch(store.network_id, NOW, purchases=[(again.purchase, None)])
            await uow.write_batch(retry)
    assert taken.value.what == "receipt"


FAKED_PORTS = (
    MembersPort,
    LedgerPort,
    PurchasesPort,
    CouponsPort,
    GiftsPort,
    VisitsPort,
    ReferencePort,
    IdempotencyPort,
    WalletsPort,
    GiftCardsPort,
    AuditTrail,
)


@pytest.mark.parametrize("implementation", [FakeUnitOfWork, SqlPosUnitOfWork])
def test_every_method_of_the_ports_is_offered_with_the_same_parameters(implementation: type) -> None:
    """What mypy checks for SQL (wiring hands SqlStore to the services), checked for the fake too (tests are not
    type-checked): each port's method exists, async, with the port's parameters by name and kind."""
    for port in FAKED_PORTS:
        for name, declared in vars(port).items():
            if name.startswith("_") or not inspect.iscoroutinefunction(declared):
                continue
            offered = getattr(implementation, name, None)
            assert offered is not None and inspect.iscoroutinefunction(offered), f"{implementation.__name__}.{name}"
            wanted = [(p.name, p.kind) for p in inspect.signature(declared).parameters.values()]
            given = [(p.name, p.kind) for p in inspect.signature(offered).parameters.values()]
            assert given[: len(wanted)] == wanted, f"{implementation.__name__}.{name}: {given} is not {wanted}"
