"""What the web terminal asks besides the POS commands: who the signed-in cashier is, the program's terms, the day's
own purchases with their totals, one purchase of the outlet (by its id or its receipt), and the stored answer of an
attempt (for its receipt).

A cashier's day is the calendar day in the outlet's time zone; only the purchases that name this cashier at this
outlet are theirs.
"""

from __future__ import annotations

import re
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from coalition.application.ports import Clock, StoredResponse, TerminalContext
from coalition.domain.errors import NotFound, Unauthorized

_PURCHASE_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True, slots=True)
class ProgramTerms:
    """The network's currency and the money value of its points; what points earn and pay is the member's terms in
    force (their summary), which a published rule set may set apart from the program's."""

    currency: str
    point_value_minor: int

    def points_value_minor(self, points: int) -> int:
        return points * self.point_value_minor


@dataclass(frozen=True, slots=True)
class DayPurchase:
    id: str
    receipt: str
    occurred_at: datetime
    card_number: str | None
    check_minor: int
    points_redeemed: int
    amount_due_minor: int
    points_earned: int
    refunded_minor: int  # the refunds of it so far, measured on the check total
    prepaid_minor: int = 0  # what the member's wallet and gift cards paid of the amount due: not money at the till

    @property
    def paid_at_till_minor(self) -> int:
        return self.amount_due_minor - self.prepaid_minor

    @property
    def refundable_minor(self) -> int:
        return self.check_minor - self.refunded_minor


@dataclass(frozen=True, slots=True)
class DayRefund:
    """Money the cashier gave back at the outlet: of a purchase of any day, theirs or another cashier's."""

    id: str
    purchase_id: str
    recorded_at: datetime
    card_number: str | None
    refund_minor: int  # measured on the check total
    money_back_minor: int


@dataclass(frozen=True, slots=True)
class TillTaking:
    """Money the cashier took at the till onto a card: a top-up of a member's wallet, or a gift card sold."""

    kind: str  # "top_up" | "gift_card_sale"
    recorded_at: datetime
    amount_minor: int


@dataclass(frozen=True, slots=True)
class DayTotals:
    checks: int
    check_minor: int
    amount_due_minor: int
    points_redeemed: int
    points_earned: int
    refunded_minor: int
    money_back_minor: int = 0  # given back by this cashier on the day (refunds of any day's purchases)
    prepaid_minor: int = 0  # paid from wallets and gift cards: money taken before, not at the till today
    takings: int = 0  # top-ups and gift cards sold by this cashier
    taken_minor: int = 0

    @property
    def paid_at_till_minor(self) -> int:
        return self.amount_due_minor - self.prepaid_minor

    @property
    def cash_in_hand_minor(self) -> int:
        """What this cashier's drawer should hold from the day: paid at the till + taken onto cards − given back."""
        return self.paid_at_till_minor + self.taken_minor - self.money_back_minor

    @property
    def has_prepaid(self) -> bool:
        """Whether money on the card moved: the screen then shows it and the cash in hand."""
        return bool(self.prepaid_minor or self.takings)


@dataclass(frozen=True, slots=True)
class CashierDay:
    day: date
    purchases: tuple[DayPurchase, ...]
    refunds: tuple[DayRefund, ...] = ()
    takings: tuple[TillTaking, ...] = ()

    @property
    def totals(self) -> DayTotals:
        rows = self.purchases
        return DayTotals(
            checks=len(rows),
            check_minor=sum(p.check_minor for p in rows),
            amount_due_minor=sum(p.amount_due_minor for p in rows),
            points_redeemed=sum(p.points_redeemed for p in rows),
            points_earned=sum(p.points_earned for p in rows),
            refunded_minor=sum(p.refunded_minor for p in rows),
            money_back_minor=sum(refund.money_back_minor for refund in self.refunds),
            prepaid_minor=sum(p.prepaid_minor for p in rows),
            takings=len(self.takings),
            taken_minor=sum(taking.amount_minor for taking in self.takings),
        )


@dataclass(frozen=True, slots=True)
class OutletPurchase:
    purchase: DayPurchase
    outlet_id: int
    cashier_login: str | None


class WebTerminalUnitOfWork(Protocol):
    async def cashier_login(self, cashier_id: int) -> str | None: ...
    async def program_terms(self, network_id: int) -> ProgramTerms | None: ...
    async def cashier_purchases(
        self, outlet_id: int, cashier_login: str, start: datetime, end: datetime
    ) -> list[DayPurchase]:
        """The purchases at the outlet that name the cashier and occurred in [start, end), oldest first."""
        ...

    async def cashier_refunds(
        self, outlet_id: int, cashier_login: str, start: datetime, end: datetime
    ) -> list[DayRefund]:
        """The refunds the cashier made at the outlet, recorded in [start, end), oldest first."""
        ...

    async def cashier_takings(
        self, outlet_id: int, cashier_login: str, start: datetime, end: datetime
    ) -> list[TillTaking]:
        """The top-ups and gift cards the cashier took money for at the outlet, recorded in [start, end)."""
        ...

    async def outlet_purchase(
        self, outlet_id: int, purchase_id: str | None, receipt: str | None = None
    ) -> OutletPurchase | None: ...
    async def stored_answer(self, terminal_id: int, key: str) -> StoredResponse | None: ...


class WebTerminalUnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[WebTerminalUnitOfWork]: ...


class WebTerminal:
    def __init__(self, unit_of_work: WebTerminalUnitOfWorkFactory, clock: Clock) -> None:
        self.unit_of_work = unit_of_work
        self.clock = clock

    async def cashier_login(self, cashier_id: int) -> str:
        """The login purchases name their cashier by (the per-cashier reports group by it)."""
        async with self.unit_of_work() as uow:
            login = await uow.cashier_login(cashier_id)
        if login is None:
            raise Unauthorized("this cashier no longer exists")
        return login

    async def program_terms(self, network_id: int) -> ProgramTerms:
        async with self.unit_of_work() as uow:
            terms = await uow.program_terms(network_id)
        if terms is None:
            raise NotFound("this network has no bonus program", field="network")
        return terms

    def local_today(self, ctx: TerminalContext) -> date:
        """Today's date at the terminal's outlet."""
        return self.clock.now().astimezone(ZoneInfo(ctx.timezone)).date()

    async def cashier_day(self, ctx: TerminalContext, cashier_login: str, day: date | None = None) -> CashierDay:
        """The cashier's own purchases and refunds at the outlet on `day` (today by default), in its time zone."""
        zone = ZoneInfo(ctx.timezone)
        chosen = day or self.local_today(ctx)
        start = datetime.combine(chosen, time(), zone)
        end = datetime.combine(chosen + timedelta(days=1), time(), zone)
        async with self.unit_of_work() as uow:
            first, last = start.astimezone(UTC), end.astimezone(UTC)
            rows = await uow.cashier_purchases(ctx.outlet_id, cashier_login, first, last)
            refunds = await uow.cashier_refunds(ctx.outlet_id, cashier_login, first, last)
            takings = await uow.cashier_takings(ctx.outlet_id, cashier_login, first, last)
        return CashierDay(chosen, tuple(rows), tuple(refunds), tuple(takings))

    async def outlet_purchase(self, ctx: TerminalContext, purchase_id: str) -> OutletPurchase:
        """A purchase made at the terminal's outlet; another outlet's purchase is not found here."""
        async with self.unit_of_work() as uow:
            found = await uow.outlet_purchase(ctx.outlet_id, purchase_id.strip())
        if found is None:
            raise NotFound("this outlet has no such purchase", field="purchase_id")
        return found

    async def outlet_purchase_named(self, ctx: TerminalContext, typed: str) -> OutletPurchase:
        """A purchase of the terminal's outlet by its receipt as printed, or by its id (text shaped like one is
        tried as an id first); another outlet's is not found here."""
        typed = typed.strip()
        async with self.unit_of_work() as uow:
            found = await uow.outlet_purchase(ctx.outlet_id, typed.lower()) if _PURCHASE_ID.match(typed) else None
            found = found or await uow.outlet_purchase(ctx.outlet_id, None, receipt=typed)
        if found is None:
            raise NotFound("this outlet has no purchase with this receipt", field="purchase")
        return found

    async def stored_answer(self, ctx: TerminalContext, key: str) -> StoredResponse:
        """The answer first given to an attempt (a purchase, a refund, an enrolment) made through this terminal."""
        async with self.unit_of_work() as uow:
            found = await uow.stored_answer(ctx.terminal_id, key)
        if found is None:
            raise NotFound("no such receipt at this terminal", field="key")
        return found
