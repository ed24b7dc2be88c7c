"""The application layer on the in-memory fake of its ports (tests/fakes/pos.py): enrolment and a card's life cycle,
a gift handed over, a visit, the catalogues of gifts and coupons — each test in milliseconds, without a database.
The fake keeps the SQL unit of work's semantics (tests/application/test_pos_fake_contract.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from coalition.adapters.http.pos_answers import answer_json
from coalition.application.birthdays import BirthdayBonuses
from coalition.application.coupons import CouponRequest, CouponService
from coalition.application.enrolment import EnrolInput
from coalition.application.gifts import GiftService, GiftTypeRequest
from coalition.application.member_admin import MemberAdministration
from coalition.application.ports import Profile, TerminalContext
from coalition.application.pos import PosService
from coalition.application.record_ids import new_record_id
from coalition.application.visits import VisitService
from coalition.domain.cards import CardAction, CardState
from coalition.domain.errors import CardNotActive, Conflict, Forbidden, IdempotencyKeyReused, NotFound
from coalition.domain.gifts import Gift, GiftState, grant_transaction
from coalition.domain.ledger import TransactionKind
from coalition.domain.rules.engine import CompiledRuleSet, compile_rule_set
from coalition.domain.rules.parsing import parse_rule_set
from tests.fakes.pos import FakePos, seed_network, small_shop_program
from tests.support import SettableClock

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
CARD = "2000-0001"


@dataclass
class World:
    fake: FakePos
    clock: SettableClock
    pos: PosService
    network_id: int
    shop: TerminalContext
    cafe: TerminalContext


@pytest.fixture()
async def world() -> World:
    fake = FakePos()
    seeded = seed_network(fake, small_shop_program())
    clock = SettableClock(NOW)
    pos = PosService(fake.unit_of_work, clock, answer_json=answer_json)
    shop, cafe = await pos.authenticate(seeded.shop_key), await pos.authenticate(seeded.cafe_key)
    return World(fake, clock, pos, seeded.network_id, shop, cafe)


async def _enrol(world: World, card: str = CARD, key: str = "enrol-1") -> int:
    profile = Profile(name="Anna Petrova", consent_data_processing=True)
    result = await world.pos.enrol(world.shop, EnrolInput("personal", card, profile), key, f"hash-{key}")
    assert result.status_code == 201
    member_id: int = result.body["member"]["id"]
    return member_id


async def test_enrolment_is_replayed_by_its_key_and_a_taken_card_is_refused(world: World) -> None:
    profile = Profile(name="Anna Petrova", consent_data_processing=True)
    first = await world.pos.enrol(world.shop, EnrolInput("personal", CARD, profile), "key-1", "hash-1")
    assert first.body["card"] == {"number": "20000001", "state": "active", "type": "standard"}
    again = await world.pos.enrol(world.shop, EnrolInput("personal", CARD, profile), "key-1", "hash-1")
    assert (again.replayed, again.body) == (True, first.body)
    with pytest.raises(IdempotencyKeyReused):
        await world.pos.enrol(world.shop, EnrolInput("personal", "2000-0002", profile), "key-1", "hash-other")
    with pytest.raises(Conflict) as taken:
        await world.pos.enrol(world.shop, EnrolInput("personal", CARD, profile), "key-2", "hash-2")
    assert taken.value.field == "card_number"
    assert len(world.fake.state.members) == 1  # the refused enrolment rolled back with its member


async def test_a_card_is_issued_blocked_and_replaced(world: World) -> None:
    member_id = await _enrol(world)
    issued = await world.pos.issue_card(world.shop, "2000-0002", CARD, "issue-1", "hash-issue")
    assert (issued.status_code, issued.body["member_id"]) == (201, member_id)
    blocked = await world.pos.change_card(world.shop, CARD, CardAction.BLOCK, None, "block-1", "hash-block")
    assert blocked.body["state"] == "blocked"
    with pytest.raises(CardNotActive):
        await VisitService(world.pos).start(world.shop, CARD, "visit-1", "hash-visit")
    admin = MemberAdministration(world.pos)
    replaced = await admin.change_card(world.network_id, member_id, "2000-0002", CardAction.REPLACE, "2000-0003")
    assert replaced["replaced_by"] == {"number": "20000003", "state": "active"}
    overview = await admin.overview(world.network_id, member_id)
    assert overview.cards == [
        ("20000001", CardState.BLOCKED),
        ("20000002", CardState.REPLACED),
        ("20000003", CardState.ACTIVE),
    ]
    assert [entry.action for entry in world.fake.state.audit] == ["card.replace"]


async def test_a_gift_is_handed_over_once_by_a_partner_that_hands_it_over(world: World) -> None:
    member_id = await _enrol(world)
    gifts = GiftService(world.fake.unit_of_work, world.clock)
    made = await gifts.create_type(world.network_id, "RUB", GiftTypeRequest("tea", "Tea", "150.00", 30, ("Shop",)))
    with pytest.raises(Conflict):
        await gifts.create_type(world.network_id, "RUB", GiftTypeRequest("tea", "Tea", "1.00", 1, ("Shop",)))
    gift_id = new_record_id()
    async with world.fake.unit_of_work() as uow:  # what a rule's grant writes
        program = await uow.program_of(world.network_id)
        tea = (await uow.gift_types(world.network_id))["tea"]
        partner = await uow.partner_obligations_account(world.network_id, world.shop.partner_id)
        grant = grant_transaction(partner, program.node_obligations_account, "RUB", tea.price_minor, "tea granted")
        tx_id = await uow.post(world.network_id, grant, world.shop.outlet_id, NOW, NOW)
        gift = Gift(gift_id, tea, member_id, frozenset(), NOW, NOW + timedelta(days=30), GiftState.GRANTED)
        await uow.insert_gift(world.network_id, gift, world.shop.outlet_id, tx_id, None)
    assert made["partner_ids"] == [world.shop.partner_id]
    with pytest.raises(Forbidden):
        await world.pos.honour_gift(world.cafe, gift_id, "honour-cafe", "hash-cafe")
    honoured = await world.pos.honour_gift(world.shop, gift_id, "honour-1", "hash-1")
    assert (honoured.status_code, honoured.body["state"], honoured.body["price"]) == (200, "honoured", "150.00")
    with pytest.raises(Conflict):
        await world.pos.honour_gift(world.shop, gift_id, "honour-2", "hash-2")
    posted = [p.transaction for p in world.fake.state.transactions.values()]
    assert [tx.kind for tx in posted] == [TransactionKind.GIFT, TransactionKind.GIFT]
    assert sorted(x.amount for x in posted[1].postings) == [-150_00, 150_00]  # the node now owes the Shop the price


async def test_a_visit_starts_once_and_ends_in_the_reach_of_its_partner(world: World) -> None:
    await _enrol(world)
    visits = VisitService(world.pos)
    started = await visits.start(world.shop, CARD, "visit-1", "hash-1")
    assert (started.status_code, started.body["state"], started.body["entry_outlet"]) == (201, "open", "Shop till")
    with pytest.raises(Conflict):
        await visits.start(world.cafe, CARD, "visit-2", "hash-2")
    visit_id = started.body["id"]
    with pytest.raises(NotFound):
        await visits.end(world.cafe, visit_id, "end-cafe", "hash-cafe")  # another partner's visit: not in reach
    world.clock.moment = NOW + timedelta(hours=3)
    ended = await visits.end(world.shop, visit_id, "end-1", "hash-end")
    assert (ended.body["state"], ended.body["exit_outlet"], ended.body["reset"]["points"]) == ("ended", "Shop till", 0)
    async with world.fake.unit_of_work() as uow:
        stored = await uow.visit(world.network_id, visit_id, lock=False, partner_id=world.shop.partner_id)
    assert stored is not None and (stored.ended_at, stored.exit_outlet_id) == (world.clock.now(), world.shop.outlet_id)


async def test_coupons_are_created_once_per_code(world: World) -> None:
    coupons = CouponService(world.fake.unit_of_work, world.clock)
    request = CouponRequest("spring", NOW + timedelta(days=30), codes=("SPRING1", "SPRING2"))
    created = await coupons.create(world.network_id, request)
    assert created["codes"] == ["SPRING1", "SPRING2"]
    with pytest.raises(Conflict):
        await coupons.create(world.network_id, CouponRequest("again", NOW + timedelta(days=1), codes=("SPRING2",)))
    listed = await coupons.listing(world.network_id, "spring", 10)
    assert [coupon["code"] for coupon in listed["coupons"]] == ["SPRING1", "SPRING2"]


async def test_the_birthday_job_grants_its_bonus_once_a_year(world: World) -> None:
    """A job on the ledger's part of the fake: the rule set's birthday points, and the memo that makes them once."""
    document = {
        "rules": [
            {"code": "birthday", "trigger": "birthday", "effects": [{"accrue_fixed": {"points": 100}}]},
            {
                "code": "vip-birthday",
                "trigger": "birthday",
                "condition": '"vip" in member.segments',
                "effects": [{"accrue_fixed": {"points": 50}}],
            },
        ]
    }
    compiled = compile_rule_set(parse_rule_set(document, "RUB"), 1)

    async def in_force(network_id: int) -> CompiledRuleSet | None:
        return compiled

    pos = PosService(world.fake.unit_of_work, world.clock, rules_in_force=in_force, answer_json=answer_json)
    for card, born, segments in (("4100-0001", date(1990, 7, 1), ("vip",)), ("4100-0002", date(1990, 7, 2), ())):
        profile = Profile(birth_date=born, consent_data_processing=True)
        await pos.enrol(world.shop, EnrolInput("personal", card, profile, segments=segments), card, card)
    jobs = BirthdayBonuses(pos)
    assert await jobs.grant(world.network_id, date(2026, 7, 1)) == {
        "date": "2026-07-01",
        "members": 1,
        "granted": 1,
        "points": 150,
    }
    assert (await jobs.grant(world.network_id, date(2026, 7, 1)))["granted"] == 0  # once a year
    async with world.fake.unit_of_work() as uow:
        found = await uow.find_member_points(world.network_id, ["41000001"])
        assert found is not None and found[1].balance == 150
