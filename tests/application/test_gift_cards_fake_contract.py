"""The fake's gift cards (tests/fakes/gift_cards.py) keep the SQL unit of work's semantics: the same checks against
the fake and `SqlPosUnitOfWork` on SQLite and PostgreSQL (the guarded debit, credits, PIN attempts, expiry, the
PREPAID accounts shared with the wallets')."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coalition.application.commands import DuplicateKey
from coalition.application.pos_ports.gift_cards import NewGiftCard
from coalition.domain.breakage import BreakagePolicy, PointsBreakage
from coalition.domain.gift_cards import GiftCardStatus, sale_transaction
from coalition.domain.ledger import OwnerKind
from tests.application.test_pos_fake_contract import NOW, Store, store  # noqa: F401  (the fixture)

pytestmark = pytest.mark.anyio


def _new(where: Store, number: str, days: int = 30) -> NewGiftCard:
    return NewGiftCard(where.network_id, number, None, "RUB", 10_000, NOW, NOW + timedelta(days=days),
                       where.shop.partner_id, where.shop.outlet_id)  # fmt: skip


async def test_gift_cards(store: Store) -> None:  # noqa: F811
    async with store.unit_of_work() as uow:
        card = await uow.insert_gift_card(_new(store, "GC100001"), NOW)
        assert (card.balance_minor, card.status, card.initial_minor) == (0, GiftCardStatus.ACTIVE, 10_000)
        await uow.record_gift_card_sale(card.id, await _tx(uow, store), 10_000)
        assert await uow.gift_card(store.network_id, "GC100001") == await uow.gift_card_by_id(card.id)
        assert (await uow.gift_card_of_account(card.account_id)) == await uow.gift_card_by_id(card.id)
        assert await uow.gift_card_of_account(-1) is None
        assert await uow.gift_card(store.network_id, "NOSUCH01") is None
    with pytest.raises(DuplicateKey):
        async with store.unit_of_work() as uow:
            await uow.insert_gift_card(_new(store, "GC100001"), NOW)
    async with store.unit_of_work() as uow:
        assert await uow.debit_gift_card(card.id, 10_001, NOW) is None  # more than it holds
        assert await uow.debit_gift_card(card.id, 1, NOW - timedelta(seconds=1)) is None  # not valid yet
        assert await uow.debit_gift_card(card.id, 1, NOW + timedelta(days=30)) is None  # expired
        assert await uow.debit_gift_card(card.id, 3_000, NOW) == 7_000
        assert await uow.debit_gift_card(card.id, 7_000, NOW) == 0
        spent = await uow.gift_card_by_id(card.id)
        assert spent is not None and spent.status is GiftCardStatus.SPENT
        assert await uow.debit_gift_card(card.id, 1, NOW) is None
        assert await uow.credit_gift_card(card.id, 2_500) == 2_500
        back = await uow.gift_card_by_id(card.id)
        assert back is not None and back.status is GiftCardStatus.ACTIVE
        assert await uow.set_gift_card_status(card.id, GiftCardStatus.BLOCKED, GiftCardStatus.ACTIVE)
        assert not await uow.set_gift_card_status(card.id, GiftCardStatus.BLOCKED, GiftCardStatus.ACTIVE)
        assert await uow.debit_gift_card(card.id, 1, NOW) is None  # blocked
        assert await uow.credit_gift_card(card.id, 500) == 3_000  # a refund onto a blocked card: it stays blocked
        blocked = await uow.gift_card_by_id(card.id)
        assert blocked is not None and blocked.status is GiftCardStatus.BLOCKED
        await uow.record_pin_attempts(card.id, 3, NOW)
        tried = await uow.gift_card_by_id(card.id)
        assert tried is not None and (tried.failed_pin_attempts, tried.pin_locked_until) == (3, NOW)
        assert await uow.gift_cards_due_to_expire(store.network_id, NOW + timedelta(days=29)) == []
        assert await uow.gift_cards_due_to_expire(store.network_id, NOW + timedelta(days=30)) == [card.id]
        assert not await uow.expire_gift_card(card.id, None, NOW)
        assert await uow.expire_gift_card(card.id, None, NOW + timedelta(days=30))
        expired = await uow.gift_card_by_id(card.id)
        assert expired is not None and (expired.status, expired.balance_minor) == (GiftCardStatus.EXPIRED, 0)
        prepaid = await uow.party_prepaid_account(store.network_id, store.cafe.partner_id, "money:RUB")
        assert prepaid == await uow.prepaid_account(store.network_id, OwnerKind.PARTNER, store.cafe.partner_id, "RUB")
        node = await uow.party_prepaid_account(store.network_id, None, "money:RUB")
        assert node not in (prepaid, await uow.prepaid_breakage_account(store.network_id, "money:RUB"))
        assert await uow.gift_card_breakage(store.network_id) == BreakagePolicy()
        shared = BreakagePolicy(PointsBreakage.SHARED, 2500)
        await uow.set_gift_card_breakage(store.network_id, shared)
        assert await uow.gift_card_breakage(store.network_id) == shared


async def _tx(uow, where: Store) -> int:
    seller = await uow.party_prepaid_account(where.network_id, where.shop.partner_id, "money:RUB")
    card = await uow.gift_card(where.network_id, "GC100001")
    return int(await uow.post(where.network_id, sale_transaction(seller, card.account_id, "money:RUB", 10_000, "sold"),
                              where.shop.outlet_id, NOW, NOW))  # fmt: skip
