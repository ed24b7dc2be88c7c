"""A till looks a member up (GET /v1/members/{identifier}, the terminal page): budgeted, and told only what a till
needs.

Each terminal has two budgets in memory: lookups (default 60 a minute) and, of those, lookups that find nobody
(default 10 a minute). Trying card numbers or phones one after another mostly finds nobody, so it is refused after a
few; at 10 a minute, 8 digits of card numbers take about 19 years per terminal and worker. The answer names the
member and their balance, tier and cards, never their phone, e-mail or birth date: a cashier reads those nowhere.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from coalition.application.ports import TerminalContext
from coalition.application.pos import PosService
from coalition.application.pos_results import MemberSummary
from coalition.application.rate_limits import Rate, TokenBuckets, retry_after_seconds
from coalition.domain.errors import MemberNotFound, RateLimited

TOO_MANY_LOOKUPS = "too many lookups of members from this till; try again in a minute"
TOO_MANY_MISSES = "too many lookups that found nobody from this till; try again in a minute"
# what a till is told of the member (pos_results.TillMember): who they are and what the rules read, no contact details
TILL_MEMBER_FIELDS = ("id", "kind", "name", "tier", "segments")
T = TypeVar("T")


class MemberLookups:
    def __init__(
        self,
        pos: PosService,
        lookups: Rate | None,
        misses: Rate | None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pos = pos
        self.lookups = TokenBuckets(lookups) if lookups else None
        self.misses = TokenBuckets(misses) if misses else None
        self.monotonic = monotonic

    async def summary(self, ctx: TerminalContext, identifier: str) -> MemberSummary:
        """The member's summary for a till; RateLimited (429) when a budget of this terminal is spent."""
        return await self.budgeted(ctx, lambda: self.pos.member_summary(ctx, identifier))

    async def budgeted(self, ctx: TerminalContext, look_up: Callable[[], Awaitable[T]]) -> T:
        """A read of a member by identifier (the summary, the wallet), within this terminal's budgets."""
        now = self.monotonic()
        if self.lookups is not None:
            wait = self.lookups.take(ctx.terminal_id, now)
            if wait:
                raise RateLimited(TOO_MANY_LOOKUPS, field="identifier", retry_after_seconds=retry_after_seconds(wait))
        if self.misses is not None:
            # taken before the lookup and given back when it finds someone: lookups at once cannot overdraw it
            wait = self.misses.take(ctx.terminal_id, now)
            if wait:
                raise RateLimited(TOO_MANY_MISSES, field="identifier", retry_after_seconds=retry_after_seconds(wait))
        try:
            found = await look_up()
        except MemberNotFound:
            raise  # a miss: its token stays spent
        except BaseException:
            self._found(ctx)  # refused for another reason (not an identifier at all, a blocked card): not a miss
            raise
        self._found(ctx)
        return found

    def _found(self, ctx: TerminalContext) -> None:
        if self.misses is not None:
            self.misses.give_back(ctx.terminal_id, self.monotonic())
