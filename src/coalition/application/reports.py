"""Sales reports for the console: a day's or a period's figures per outlet and per cashier, with a chart's series.

Figures come from the stored purchases and refunds. A day is the outlet's calendar day in its own time zone, so the
storage query is given the moments where each hour (a one-day report) or each day (a period) starts, and counts every
purchase in the bucket it falls in. Money is integer minor units; the discount a purchase's rules gave is what its
check lost before points: check − amount due − points redeemed × the point's value.

Money on the card (issue 14) is counted apart from the money taken at the till: what wallets paid of the purchases'
amounts due is not "collected"; top-ups are money the till took; a refund's money back at the till excludes what went
back into a wallet or onto a gift card. Gift cards are the same: what they paid is not collected, a card sold at the
till is money the till took. So `cash_in_hand` = collected + top-ups + gift cards sold − money back still matches the
till's drawer. The movements come from the ledger (`PrepaidBucket`: postings on members' wallets and on gift cards,
by transaction kind); a top-up's or a card sale's cashier is the one its transaction names.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from coalition.application.ports import Clock
from coalition.domain.errors import InvalidInput, NotFound
from coalition.domain.ledger import AccountPurpose, TransactionKind
from coalition.domain.money import round_half_up_div

# the accounts whose postings are money on the card; a partner's PREPAID tells what its devices captured
PREPAID_SOURCES = (AccountPurpose.MEMBER_WALLET, AccountPurpose.GIFT_CARD, AccountPurpose.PREPAID)
MAX_PERIOD_DAYS = 92  # a quarter: the period's chart has a bar per day
ChartUnit = Literal["hour", "day"]


@dataclass(frozen=True, slots=True)
class ReportOutlet:
    id: int
    name: str
    partner_id: int
    partner_name: str
    timezone: str


@dataclass(frozen=True, slots=True)
class SalesBucket:
    """Purchases of one outlet and cashier (login; None: the sale named no cashier) in one hour or day."""

    outlet_id: int
    cashier_login: str | None
    bucket: int
    checks: int
    check_minor: int
    amount_due_minor: int
    points_redeemed: int
    points_earned: int


@dataclass(frozen=True, slots=True)
class RefundBucket:
    """Refunds recorded in one hour or day, of purchases of one outlet and cashier."""

    outlet_id: int
    cashier_login: str | None
    bucket: int
    refunds: int
    refund_minor: int
    money_back_minor: int = 0  # given back at the till (what went back into a wallet is not in it)


@dataclass(frozen=True, slots=True)
class PrepaidBucket:
    """Money on the card that moved at one outlet (cashier: the purchase's or refund's, or the one a top-up or a card
    sale names) in one hour or day: the postings on one purpose of source account (a member's wallet, a gift card) in
    transactions of one kind (top_up, gift_card_sale, purchase, refund), counted per transaction and summed (+ into
    the source, − out of it)."""

    outlet_id: int
    cashier_login: str | None
    bucket: int
    kind: str
    purpose: str
    transactions: int
    amount_minor: int


class ReportsUnitOfWork(Protocol):
    async def report_outlets(self, network_id: int, partner_id: int | None) -> list[ReportOutlet]: ...
    async def partner_names(self, network_id: int) -> dict[int, str]: ...
    async def cashier_names(self, outlet_ids: Sequence[int]) -> dict[tuple[int, str], str]: ...
    async def point_value_minor(self, network_id: int) -> int: ...
    async def sales_by_bucket(
        self, network_id: int, outlet_ids: Sequence[int], boundaries: Sequence[datetime]
    ) -> list[SalesBucket]: ...
    async def refunds_by_bucket(
        self, network_id: int, outlet_ids: Sequence[int], boundaries: Sequence[datetime]
    ) -> list[RefundBucket]: ...
    async def prepaid_by_bucket(
        self,
        network_id: int,
        outlet_ids: Sequence[int],
        boundaries: Sequence[datetime],
        purposes: Sequence[str],
    ) -> list[PrepaidBucket]: ...


class ReportsUnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[ReportsUnitOfWork]: ...


@dataclass(frozen=True, slots=True)
class Figures:
    checks: int = 0
    revenue_minor: int = 0  # the checks' totals: what was sold through the system
    collected_minor: int = 0  # what the customers paid at the till (cash, bank card): after discounts, points, wallets
    points_issued: int = 0
    points_spent: int = 0
    discount_minor: int = 0
    refunds: int = 0
    refund_minor: int = 0  # the refunds' share of the checks
    money_back_minor: int = 0  # what the refunds gave back at the till
    wallet_paid_minor: int = 0  # what members' wallets paid of the purchases
    top_ups: int = 0
    top_up_minor: int = 0  # money taken at the till onto wallets
    wallet_refunded_minor: int = 0  # what refunds put back into wallets
    gift_card_paid_minor: int = 0  # what gift cards paid of the purchases
    gift_cards_sold: int = 0
    gift_card_sold_minor: int = 0  # money taken at the till for gift cards sold
    gift_card_refunded_minor: int = 0  # what refunds put back onto gift cards
    device_charges: int = 0  # charges devices (vending, arcade, a timed table) took from wallets: no till's money
    device_charged_minor: int = 0

    @property
    def average_check_minor(self) -> int:
        return round_half_up_div(self.revenue_minor, self.checks) if self.checks else 0

    @property
    def cash_in_hand_minor(self) -> int:
        """What the tills should hold from these figures: collected + top-ups + gift cards sold − money given back."""
        return self.collected_minor + self.top_up_minor + self.gift_card_sold_minor - self.money_back_minor

    @property
    def has_prepaid(self) -> bool:
        """Whether money on the card moved: the reports then show its lines (none otherwise, as before wallets)."""
        return bool(
            self.wallet_paid_minor
            or self.top_ups
            or self.wallet_refunded_minor
            or self.has_gift_cards
            or self.device_charges
        )

    @property
    def has_gift_cards(self) -> bool:
        """Whether gift-card money moved: the reports then show the cards' lines beside the wallets'."""
        return bool(self.gift_card_paid_minor or self.gift_cards_sold or self.gift_card_refunded_minor)

    def plus(self, other: Figures) -> Figures:
        return Figures(
            *(getattr(self, name) + getattr(other, name) for name in _FIGURE_FIELDS)  # every field is a sum
        )


_FIGURE_FIELDS = tuple(Figures.__dataclass_fields__)


def sales_figures(row: SalesBucket, point_value_minor: int) -> Figures:
    discount = row.check_minor - row.amount_due_minor - row.points_redeemed * point_value_minor
    return Figures(
        checks=row.checks,
        revenue_minor=row.check_minor,
        collected_minor=row.amount_due_minor,
        points_issued=row.points_earned,
        points_spent=row.points_redeemed,
        discount_minor=discount,
    )


def refund_figures(row: RefundBucket) -> Figures:
    return Figures(refunds=row.refunds, refund_minor=row.refund_minor, money_back_minor=row.money_back_minor)


def prepaid_figures(row: PrepaidBucket) -> Figures:
    """A wallet's or a card's postings as figures: what they paid of a purchase is not collected at the till; a
    top-up and a card sold are money the till took."""
    if row.purpose == AccountPurpose.GIFT_CARD.value:
        return _gift_card_figures(row)
    if row.purpose == AccountPurpose.PREPAID.value:  # a partner's: only its devices' captures count here
        if row.kind == TransactionKind.DEVICE_CHARGE.value:
            return Figures(device_charges=row.transactions, device_charged_minor=row.amount_minor)
        return Figures()
    if row.purpose != AccountPurpose.MEMBER_WALLET.value:
        return Figures()
    if row.kind == TransactionKind.PURCHASE.value:
        return Figures(wallet_paid_minor=-row.amount_minor, collected_minor=row.amount_minor)
    if row.kind == TransactionKind.TOP_UP.value:
        return Figures(top_ups=row.transactions, top_up_minor=row.amount_minor)
    if row.kind == TransactionKind.REFUND.value:
        return Figures(wallet_refunded_minor=row.amount_minor)
    return Figures()


def _gift_card_figures(row: PrepaidBucket) -> Figures:
    if row.kind == TransactionKind.PURCHASE.value:
        return Figures(gift_card_paid_minor=-row.amount_minor, collected_minor=row.amount_minor)
    if row.kind == TransactionKind.GIFT_CARD_SALE.value:
        return Figures(gift_cards_sold=row.transactions, gift_card_sold_minor=row.amount_minor)
    if row.kind == TransactionKind.REFUND.value:
        return Figures(gift_card_refunded_minor=row.amount_minor)
    return Figures()  # an expiry is the node's, at no outlet


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """One bar: an hour of the day (0–23, the outlets' local time) or a day of the period."""

    key: int | date
    figures: Figures

    @property
    def revenue_minor(self) -> int:
        return self.figures.revenue_minor

    @property
    def checks(self) -> int:
        return self.figures.checks


@dataclass(frozen=True, slots=True)
class CashierLine:
    outlet: ReportOutlet
    login: str | None  # None: sales that named no cashier (a till's own API calls)
    name: str | None
    figures: Figures


@dataclass(frozen=True)
class Report:
    first_day: date
    last_day: date
    partner_id: int | None
    outlets: list[ReportOutlet]
    total: Figures
    by_outlet: list[tuple[ReportOutlet, Figures]]
    by_cashier: list[CashierLine]
    chart_unit: ChartUnit
    chart: list[ChartPoint]
    partners: dict[int, str] = field(default_factory=dict)

    @property
    def is_one_day(self) -> bool:
        return self.first_day == self.last_day


def local_midnight(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def bucket_starts(first_day: date, last_day: date, timezone: str, unit: ChartUnit) -> list[datetime]:
    """The moments (UTC) where each bucket starts, and the end of the last: hours of a day, or days of a period.

    Hours are counted in real time from the local midnight, so a day when clocks change has 23 or 25 of them."""
    end = local_midnight(last_day + timedelta(days=1), timezone)
    if unit == "day":
        days = (last_day - first_day).days + 1
        return [local_midnight(first_day + timedelta(days=n), timezone) for n in range(days)] + [end]
    start = local_midnight(first_day, timezone)
    hours = int((end - start) / timedelta(hours=1))
    return [start + timedelta(hours=n) for n in range(hours)] + [end]


def bucket_key(starts: Sequence[datetime], bucket: int, timezone: str, unit: ChartUnit, first_day: date) -> int | date:
    if unit == "day":
        return first_day + timedelta(days=bucket)
    return starts[bucket].astimezone(ZoneInfo(timezone)).hour


def check_period(first_day: date, last_day: date) -> None:
    if last_day < first_day:
        raise InvalidInput("the period's last day comes before its first", field="to")
    if (last_day - first_day).days + 1 > MAX_PERIOD_DAYS:
        raise InvalidInput(f"a period has at most {MAX_PERIOD_DAYS} days", field="to")


class ReportsService:
    def __init__(self, unit_of_work: ReportsUnitOfWorkFactory, clock: Clock) -> None:
        self._unit_of_work = unit_of_work
        self._clock = clock

    async def today(self, network_id: int, partner_id: int | None) -> date:
        """Today where the scope's outlets are (the first outlet's time zone; UTC without outlets)."""
        async with self._unit_of_work() as uow:
            outlets = await uow.report_outlets(network_id, partner_id)
        timezone = outlets[0].timezone if outlets else "UTC"
        return self._clock.now().astimezone(ZoneInfo(timezone)).date()

    async def report(
        self, network_id: int, partner_id: int | None, first_day: date | None = None, last_day: date | None = None
    ) -> Report:
        """The figures of [first_day, last_day] (today by default) for one partner's outlets, or the network's."""
        first = first_day or await self.today(network_id, partner_id)
        last = last_day or first
        check_period(first, last)
        unit: ChartUnit = "hour" if first == last else "day"
        async with self._unit_of_work() as uow:
            partners = await uow.partner_names(network_id)
            if partner_id is not None and partner_id not in partners:
                raise NotFound(f"no partner {partner_id} in this network", field="partner")
            outlets = await uow.report_outlets(network_id, partner_id)
            point_value = await uow.point_value_minor(network_id)
            names = await uow.cashier_names([outlet.id for outlet in outlets])
            collected = _Totals(outlets, names)
            for timezone in sorted({outlet.timezone for outlet in outlets}):
                ids = [outlet.id for outlet in outlets if outlet.timezone == timezone]
                starts = bucket_starts(first, last, timezone, unit)
                for sale in await uow.sales_by_bucket(network_id, ids, starts):
                    key = bucket_key(starts, sale.bucket, timezone, unit, first)
                    collected.add(sale.outlet_id, sale.cashier_login, key, sales_figures(sale, point_value))
                for refund in await uow.refunds_by_bucket(network_id, ids, starts):
                    key = bucket_key(starts, refund.bucket, timezone, unit, first)
                    collected.add(refund.outlet_id, refund.cashier_login, key, refund_figures(refund))
                purposes = [purpose.value for purpose in PREPAID_SOURCES]
                for moved in await uow.prepaid_by_bucket(network_id, ids, starts, purposes):
                    key = bucket_key(starts, moved.bucket, timezone, unit, first)
                    collected.add(moved.outlet_id, moved.cashier_login, key, prepaid_figures(moved))
        keys: list[int | date] = (
            list(range(24)) if unit == "hour" else [first + timedelta(days=n) for n in range((last - first).days + 1)]
        )
        return Report(
            first_day=first,
            last_day=last,
            partner_id=partner_id,
            outlets=outlets,
            total=collected.total,
            by_outlet=[(outlet, collected.by_outlet.get(outlet.id, Figures())) for outlet in outlets],
            by_cashier=collected.cashier_lines(),
            chart_unit=unit,
            chart=[collected.point(key) for key in keys],
            partners=partners,
        )


class _Totals:
    """Sums figures per outlet, per cashier and per chart bar as the buckets come in."""

    def __init__(self, outlets: list[ReportOutlet], names: dict[tuple[int, str], str]) -> None:
        self.outlets = {outlet.id: outlet for outlet in outlets}
        self.names = names
        self.total = Figures()
        self.by_outlet: dict[int, Figures] = {}
        # every cashier is listed, with zeros on a day they sold nothing
        self.by_cashier: dict[tuple[int, str | None], Figures] = {key: Figures() for key in names}
        self.by_key: dict[int | date, Figures] = {}

    def add(self, outlet_id: int, login: str | None, key: int | date, figures: Figures) -> None:
        self.total = self.total.plus(figures)
        self.by_outlet[outlet_id] = self.by_outlet.get(outlet_id, Figures()).plus(figures)
        self.by_cashier[(outlet_id, login)] = self.by_cashier.get((outlet_id, login), Figures()).plus(figures)
        self.by_key[key] = self.by_key.get(key, Figures()).plus(figures)

    def point(self, key: int | date) -> ChartPoint:
        return ChartPoint(key, self.by_key.get(key, Figures()))

    def cashier_lines(self) -> list[CashierLine]:
        lines = [
            CashierLine(
                self.outlets[outlet_id],
                login,
                self.names.get((outlet_id, login)) if login is not None else None,
                figures,
            )
            for (outlet_id, login), figures in self.by_cashier.items()
        ]
        return sorted(lines, key=lambda line: (line.outlet.name, line.login is None, line.login or ""))
