"""A gift card's sale checked before the cashier takes the money (the web terminal's review step): the amount within
the network's limit and its currency, the permissions matrix letting this outlet sell (`top_up` on `gift_card`).
The sale itself (`GiftCards.sell`) checks all of it again at the confirm."""

from __future__ import annotations

from coalition.application.gift_cards import GiftCards
from coalition.application.ports import TerminalContext
from coalition.domain.gift_cards import require_amount
from coalition.domain.money import parse_amount_minor
from coalition.domain.permissions import GIFT_CARD, Operation


async def check_sale(cards: GiftCards, ctx: TerminalContext, amount: str, *, field: str = "amount") -> int:
    """The amount in minor units, or a refusal naming `field` (the amount) or the outlet (the matrix)."""
    async with cards.unit_of_work() as uow:
        pc = await cards.pos.program_context(uow, ctx.network_id)
        matrix = await cards.pos.matrix(uow, ctx.network_id)
    amount_minor = parse_amount_minor(amount, pc.program.currency, field=field)
    require_amount(amount_minor, pc.limits.max_amount_minor, pc.program.currency, field=field)
    matrix.require(ctx.outlet_id, ctx.outlet_name, GIFT_CARD, Operation.TOP_UP)
    return amount_minor
