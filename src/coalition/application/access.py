"""Why a purchase's guarded write refused itself: the terminal was revoked or the cashier blocked meanwhile.

The write refuses atomically (adapters/storage/access_guard.py) and the refusal looks like a lost race, so this is
asked only after the retry under the member's lock was refused too — never on a purchase that goes through.
"""

from __future__ import annotations

from coalition.application.ports import ReferencePort, TerminalContext
from coalition.domain.errors import InvalidInput, Unauthorized


async def refuse_revoked(uow: ReferencePort, ctx: TerminalContext, cashier: str | None) -> None:
    """Raise the refusal the till would get had the change been seen when its request arrived (in the purchase's
    unit of work, which then rolls back); return if neither changed (the write failed for another reason)."""
    if await uow.terminal_by_id(ctx.terminal_id) is None:
        raise Unauthorized("this terminal key is unknown or revoked")
    if cashier is not None and not await uow.cashier_is_active(ctx.outlet_id, cashier):
        raise InvalidInput(f"no active cashier '{cashier}' at {ctx.outlet_name}", field="cashier")
