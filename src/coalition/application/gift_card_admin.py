"""The administrator's gift cards: cards issued for promotions (funded by the node's PREPAID account), a card looked
up, blocked and unblocked, the network's gift-card breakage policy, and the expiry sweep that posts what is left on
expired cards to breakage under that policy (`coalition gift-cards expire`, POST /v1/admin/jobs/expire-gift-cards).
Every change records an audit entry in its own unit of work."""

from __future__ import annotations

from typing import Any

from coalition.application.audit import entry
from coalition.application.commands import DuplicateKey
from coalition.application.events import GIFT_CARD_EXPIRED
from coalition.application.gift_cards import GiftCardRequest, GiftCards, GiftCardView
from coalition.application.network_ref import NetworkRef
from coalition.application.points_expiry import breakage_json
from coalition.domain.breakage import parse_breakage_policy
from coalition.domain.errors import Conflict
from coalition.domain.gift_cards import GiftCard, GiftCardStatus, expiry_split, expiry_transaction, normalize_number
from coalition.domain.gift_cards import not_found as card_not_found


class GiftCardAdmin(GiftCards):
    async def issue(self, network: NetworkRef, request: GiftCardRequest) -> GiftCardView:
        """A card the administrator gives away (a promotion): the node funds it, no outlet sold it."""
        async with self.unit_of_work() as uow:
            pc = await self.pos.program_context(uow, network.id)
        parsed = await self.parse(request, network.currency, pc.limits.max_amount_minor)
        try:
            async with self.unit_of_work() as uow:
                card = await self.create(uow, network.id, network.currency, parsed, None, None)
                made = {"number": card.number, "amount_minor": card.initial_minor, "valid_until": card.valid_until}
                made |= {"has_pin": card.has_pin}
                await uow.audit(entry(network.id, "gift_card.issue", "gift_card", card.id, after=_plain(made)))
        except DuplicateKey:  # the same number issued at the same moment by another request
            raise Conflict("this gift card number was taken at the same moment; try again", field="number") from None
        return GiftCardView.of(card)

    async def show(self, network_id: int, number: str) -> GiftCardView:
        return GiftCardView.of(await self._card(network_id, number), self.clock.now())

    async def set_blocked(self, network_id: int, number: str, blocked: bool) -> GiftCardView:
        """Block a card (nothing can be spent from it) or unblock it; an expired or spent card stays as it is."""
        normalized = normalize_number(number, field="card_number")
        wanted, expected = (
            (GiftCardStatus.BLOCKED, GiftCardStatus.ACTIVE)
            if blocked
            else (GiftCardStatus.ACTIVE, GiftCardStatus.BLOCKED)
        )
        async with self.unit_of_work() as uow:
            card = await uow.gift_card(network_id, normalized, lock=True)
            if card is None:
                raise card_not_found(normalized, field="card_number")
            if card.status is not wanted:
                if card.status is not expected:
                    raise Conflict(f"gift card {card.number} is {card.status.value}", field="card_number")
                if not await uow.set_gift_card_status(card.id, wanted, expected):
                    raise Conflict(f"gift card {card.number} changed meanwhile; try again", field="card_number")
                action = "gift_card.block" if blocked else "gift_card.unblock"
                before, after = {"status": expected.value}, {"status": wanted.value}
                await uow.audit(entry(network_id, action, "gift_card", card.id, before=before, after=after))
            changed = await uow.gift_card_by_id(card.id)
        return GiftCardView.of(changed or card, self.clock.now())

    async def breakage(self, network_id: int) -> dict[str, Any]:
        async with self.unit_of_work() as uow:
            return breakage_json(await uow.gift_card_breakage(network_id))

    async def set_breakage(self, network_id: int, policy: object, share_bp: object = None) -> dict[str, Any]:
        """What an expired card's balance becomes from the next sweep on: kept by the node, returned to the seller,
        or shared (`share_bp` to the seller, rounded down)."""
        chosen = parse_breakage_policy(policy, share_bp)
        async with self.unit_of_work() as uow:
            before = breakage_json(await uow.gift_card_breakage(network_id))
            await uow.set_gift_card_breakage(network_id, chosen)
            after = breakage_json(chosen)
            await uow.audit(entry(network_id, "gift_cards.breakage", "network", network_id, before=before, after=after))
        return breakage_json(chosen)

    async def expire(self, network_id: int) -> dict[str, Any]:
        """Every card whose validity ended: what is left posted to breakage (one GIFT_CARD_EXPIRY transaction and
        one unit of work per card, under its lock), the card marked expired."""
        now = self.clock.now()
        async with self.unit_of_work() as uow:
            due = await uow.gift_cards_due_to_expire(network_id, now)
            policy = await uow.gift_card_breakage(network_id)
        cards = kept = returned = 0
        for card_id in due:
            async with self.unit_of_work() as uow:
                card = await uow.gift_card_by_id(card_id, lock=True)
                if card is None or card.status not in (GiftCardStatus.ACTIVE, GiftCardStatus.BLOCKED):
                    continue  # expired by a concurrent sweep
                asset = f"money:{card.currency}"
                seller = None
                if card.seller_partner_id is not None:
                    seller = await uow.party_prepaid_account(network_id, card.seller_partner_id, asset)
                node = await uow.prepaid_breakage_account(network_id, asset)
                tx = expiry_transaction(card, policy, node, seller, asset, f"gift card {card.number} expired")
                tx_id = None if tx is None else await uow.post(network_id, tx, None, now, now)
                if not await uow.expire_gift_card(card.id, tx_id, now):
                    raise RuntimeError(f"gift card {card.id} changed under its lock")
                split = expiry_split(card, policy)
                data = {
                    "card_number": card.number,
                    "currency": card.currency,
                    "balance_minor": card.balance_minor,  # what was left on it, now gone to breakage
                    "kept_minor": split.kept_minor,
                    "returned_minor": split.returned_minor,
                    "valid_until": card.valid_until.isoformat(),
                    "expired_at": now.isoformat(),
                }
                await self.pos.emit(uow, network_id, GIFT_CARD_EXPIRED, f"gift_card_expired:{card.id}", data, now)
                cards, kept, returned = cards + 1, kept + split.kept_minor, returned + split.returned_minor
        result = {"cards": cards, "kept_minor": kept, "returned_minor": returned} | breakage_json(policy)
        async with self.unit_of_work() as uow:
            await uow.audit(entry(network_id, "job.expire_gift_cards", "network", network_id, after=result))
        return result

    async def _card(self, network_id: int, number: str) -> GiftCard:
        normalized = normalize_number(number, field="card_number")
        async with self.unit_of_work() as uow:
            card = await uow.gift_card(network_id, normalized)
        if card is None:
            raise card_not_found(normalized, field="card_number")
        return card


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value.isoformat() if hasattr(value, "isoformat") else value for name, value in values.items()}
