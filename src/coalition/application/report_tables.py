"""Every console report as a table to download (issue 17): each report's typed result (application/reports.py,
wallet_reports.py, gift_card_reports.py, daily_reports.py) turned into rows by its dataclass's fields
(`record_columns`), and a settlement statement as its existing CSV rows (statement_views.py). The writing, in CSV or
XLSX, is one function for all of them (adapters/documents/tables.py).

Reports are scoped like the console: a partner (an owner's own), optionally one outlet of it; the liabilities are the
node's, so a partner's scope is refused for them (the console shows them to the administrator only). Reports have
no member scope.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from coalition.application.daily_reports import DailyReports, DayTransaction
from coalition.application.exports import (
    Cell,
    ExportScope,
    ExportsService,
    Period,
    Table,
    cell,
    check_day,
    record_cells,
    record_columns,
    table_of,
)
from coalition.application.gift_card_reports import (
    GiftCardLiability,
    GiftCardReports,
    GiftCardRow,
    GiftCardSearch,
)
from coalition.application.ports import Clock
from coalition.application.program_reports import ProgramReports
from coalition.application.program_tables import ThresholdInput, program_table
from coalition.application.reports import MAX_PERIOD_DAYS, Figures, Report, ReportsService
from coalition.application.settlement import SettlementService
from coalition.application.statement_views import statement_view, statement_view_csv_rows
from coalition.application.wallet_reports import WalletLiability, WalletReports
from coalition.domain.errors import InvalidInput

FIGURE_COLUMNS = record_columns(Figures, extra=("average_check_minor", "cash_in_hand_minor"))
MAX_GIFT_CARD_ROWS = 100_000
ANOMALY_COLUMNS = ("day", "kind", "outlet", "explanation", "transactions")
DAY_COLUMNS = record_columns(DayTransaction)


@dataclass(frozen=True, slots=True)
class ReportSpec:
    name: str
    title: str  # what the console's button and the CLI's help call it
    network_only: bool = False  # the node's figures: no partner scope (administrators only)
    outlet_scope: bool = True  # whether its rows can be limited to one outlet


REPORTS = {
    spec.name: spec
    for spec in (
        ReportSpec("sales-by-outlet", "Sales per outlet"),
        ReportSpec("sales-by-cashier", "Sales per cashier"),
        ReportSpec("sales-chart", "Sales per hour or day", outlet_scope=False),
        ReportSpec("day-transactions", "Purchases and refunds, one by one"),
        ReportSpec("anomalies", "Worth a look", outlet_scope=False),
        ReportSpec("wallet-liability", "Wallet liability", network_only=True, outlet_scope=False),
        ReportSpec("gift-cards", "Gift cards", outlet_scope=False),
        ReportSpec("gift-card-liability", "Gift card liability", network_only=True, outlet_scope=False),
        ReportSpec("attendance", "Checks per hour and weekday", outlet_scope=False),
        ReportSpec("customers", "New and returning customers", outlet_scope=False),
        ReportSpec("effectiveness", "The program's effectiveness", outlet_scope=False),
        ReportSpec("threshold", "Entry threshold from the average check", outlet_scope=False),
    )
}


def report_spec(name: str) -> ReportSpec:
    found = REPORTS.get(name)
    if found is None:
        raise InvalidInput(f"no report '{name}'; choose one of {', '.join(REPORTS)}", field="name")
    return found


class ReportTables:
    def __init__(
        self,
        exports: ExportsService,
        reports: ReportsService,
        daily: DailyReports,
        wallets: WalletReports,
        gift_cards: GiftCardReports,
        settlement: SettlementService,
        clock: Clock,
        program: ProgramReports,
    ) -> None:
        self.exports = exports
        self.reports = reports
        self.daily = daily
        self.wallets = wallets
        self.gift_cards = gift_cards
        self.settlement = settlement
        self.clock = clock
        self.program = program
        self._builders: dict[str, Callable[[ExportScope, Period], Awaitable[Table]]] = {
            "sales-by-outlet": self._by_outlet,
            "sales-by-cashier": self._by_cashier,
            "sales-chart": self._chart,
            "day-transactions": self._day_transactions,
            "anomalies": self._anomalies,
            "wallet-liability": self._wallet_liability,
            "gift-cards": self._gift_cards,
            "gift-card-liability": self._gift_card_liability,
        }

    async def table(
        self, name: str, scope: ExportScope, period: Period, threshold: ThresholdInput | None = None
    ) -> Table:
        """The report `name` of the period and scope; its scope is checked first (a foreign id: NotFound)."""
        spec = report_spec(name)
        if scope.member_id is not None:
            raise InvalidInput("reports have no member scope: export the member's transactions", field="member")
        if spec.network_only and scope.partner_id is not None:
            raise InvalidInput(f"the {spec.name} report is the network's: it has no partner scope", field="partner")
        if not spec.outlet_scope and scope.outlet_id is not None:
            raise InvalidInput(f"the {spec.name} report has no outlet scope", field="outlet")
        await self.exports.zone(scope)  # a partner, outlet or member of another network is a 404 naming it
        if name not in self._builders:  # the program's reports (issue 18): program_tables.py
            currency = await self._currency(scope.network_id)
            return await program_table(self.program, name, scope, period, currency, threshold)
        return await self._builders[name](scope, period)

    async def statement(self, network_id: int, number: int, partner_id: int | None) -> Table:
        """A closed statement as the console downloads it (all of it, or a partner's part), in the same rows."""
        found = await self.settlement.statement(network_id, number)
        rows = statement_view_csv_rows(statement_view(found, partner_id))
        suffix = f"-partner-{partner_id}" if partner_id is not None else ""
        return table_of(f"statement-{number}{suffix}", rows[0], rows[1:])

    async def _report(self, scope: ExportScope, period: Period) -> Report:
        if (period.last_day - period.first_day).days + 1 > MAX_PERIOD_DAYS:
            raise InvalidInput(f"a report's period has at most {MAX_PERIOD_DAYS} days", field="to")
        return await self.reports.report(scope.network_id, scope.partner_id, period.first_day, period.last_day)

    async def _currency(self, network_id: int) -> str:
        async with self.exports.unit_of_work() as uow:
            return await uow.network_currency(network_id)

    async def _by_outlet(self, scope: ExportScope, period: Period) -> Table:
        report = await self._report(scope, period)
        currency = await self._currency(scope.network_id)
        header = ("outlet_id", "outlet", "partner_id", "partner", "currency", *FIGURE_COLUMNS)
        rows = [
            [outlet.id, outlet.name, outlet.partner_id, outlet.partner_name, currency, *_figures(figures)]
            for outlet, figures in report.by_outlet
            if scope.outlet_id in (None, outlet.id)
        ]
        return table_of(_name("sales-by-outlet", period), header, rows)

    async def _by_cashier(self, scope: ExportScope, period: Period) -> Table:
        report = await self._report(scope, period)
        currency = await self._currency(scope.network_id)
        header = ("outlet_id", "outlet", "cashier", "cashier_name", "currency", *FIGURE_COLUMNS)
        rows = [
            [line.outlet.id, line.outlet.name, line.login, line.name, currency, *_figures(line.figures)]
            for line in report.by_cashier
            if scope.outlet_id in (None, line.outlet.id)
        ]
        return table_of(_name("sales-by-cashier", period), header, rows)

    async def _chart(self, scope: ExportScope, period: Period) -> Table:
        report = await self._report(scope, period)
        currency = await self._currency(scope.network_id)
        header = (report.chart_unit, "currency", *FIGURE_COLUMNS)  # hour (0–23) of a day, or the day of a period
        rows = [[cell(point.key), currency, *_figures(point.figures)] for point in report.chart]
        return table_of(_name("sales-chart", period), header, rows)

    async def _day_transactions(self, scope: ExportScope, period: Period) -> Table:
        rows: list[list[Cell]] = []
        for day in _days(period):
            found = await self.daily.day_rows(scope.network_id, scope.partner_id, day, scope.outlet_id)
            rows.extend(record_cells(row, DAY_COLUMNS) for row in found)
        currency = await self._currency(scope.network_id)
        return table_of(_name("day-transactions", period), (*DAY_COLUMNS, "currency"), [[*r, currency] for r in rows])

    async def _anomalies(self, scope: ExportScope, period: Period) -> Table:
        currency = await self._currency(scope.network_id)
        rows: list[list[Cell]] = []
        for day in _days(period):
            for flag in await self.daily.anomalies(scope.network_id, scope.partner_id, day):
                sentence = self.daily.explain(flag, currency, "en")
                rows.append([day.isoformat(), flag.kind.value, flag.outlet, sentence, " ".join(flag.transactions)])
        return table_of(_name("anomalies", period), ANOMALY_COLUMNS, rows)

    async def _wallet_liability(self, scope: ExportScope, period: Period) -> Table:
        lines = (await self.wallets.liability(scope.network_id)).wallets
        columns = record_columns(WalletLiability)
        return table_of("wallet-liability", columns, [record_cells(line, columns) for line in lines])

    async def _gift_cards(self, scope: ExportScope, period: Period) -> Table:
        search = GiftCardSearch(partner_id=scope.partner_id, limit=MAX_GIFT_CARD_ROWS)
        found = await self.gift_cards.cards(scope.network_id, search, self.clock.now())
        columns = record_columns(GiftCardRow)
        return table_of("gift-cards", columns, [record_cells(row, columns) for row in found])

    async def _gift_card_liability(self, scope: ExportScope, period: Period) -> Table:
        lines = await self.gift_cards.liability(scope.network_id)
        columns = record_columns(GiftCardLiability)
        return table_of("gift-card-liability", columns, [record_cells(line, columns) for line in lines])


def _figures(figures: Figures) -> list[Cell]:
    return record_cells(figures, FIGURE_COLUMNS)


def _name(report: str, period: Period) -> str:
    if period.first_day == period.last_day:
        return f"{report}-{period.first_day.isoformat()}"
    return f"{report}-{period.first_day.isoformat()}-{period.last_day.isoformat()}"


def _days(period: Period) -> Sequence[date]:
    if (period.last_day - period.first_day).days + 1 > MAX_PERIOD_DAYS:
        raise InvalidInput(f"a report's period has at most {MAX_PERIOD_DAYS} days", field="to")
    return [period.first_day + timedelta(days=n) for n in range((period.last_day - period.first_day).days + 1)]


EXPORTS = ("transactions", "balances", "statement", *REPORTS)


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """What the CLI, the API and the console ask for: `what` (transactions, balances, statement, or a report's
    name), the period's days, the scope, and a statement's number."""

    what: str
    scope: ExportScope
    first_day: date | None = None
    last_day: date | None = None
    number: int | None = None
    threshold: ThresholdInput | None = None  # the threshold helper's old threshold and base period


async def export_table(tables: ReportTables, request: ExportRequest) -> Table:
    """The table asked for, its parameters and scope checked before any row is read (each refusal names its field)."""
    what, scope = request.what, request.scope
    check_day(request.first_day, "from")
    check_day(request.last_day, "to")
    if what not in EXPORTS:
        raise InvalidInput(f"nothing to export called '{what}'; choose one of {', '.join(EXPORTS)}", field="what")
    if what == "statement":
        if request.number is None:
            raise InvalidInput("give the statement's number", field="number")
        if scope.outlet_id is not None or scope.member_id is not None:
            field = "outlet" if scope.outlet_id is not None else "member"
            raise InvalidInput("a statement is scoped by partner only", field=field)
        await tables.exports.zone(scope)
        return await tables.statement(scope.network_id, request.number, scope.partner_id)
    if what == "balances":
        day = request.last_day or request.first_day
        if day is None:
            raise InvalidInput("give the day whose end the balances are at", field="to")
        return await tables.exports.balances(scope, day)
    if request.first_day is None:
        raise InvalidInput("give the period's first day", field="from")
    period = Period(request.first_day, request.last_day or request.first_day)
    if what == "transactions":
        return await tables.exports.transactions(scope, period)
    return await tables.table(what, scope, period, request.threshold)
