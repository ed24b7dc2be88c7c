"""The program's reports (application/program_reports.py) as tables to download, in CSV or XLSX like every other
report (report_tables.py): attendance a row per hour that had checks and per weekday, the customers' and the
effectiveness' figures a row each (their dataclass's fields), the threshold helper a row of its inputs and answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from coalition.application.exports import Cell, ExportScope, Period, Table, record_cells, record_columns, table_of
from coalition.application.program_reports import Customers, Effectiveness, ProgramReports, Threshold
from coalition.domain.errors import InvalidInput

ATTENDANCE_COLUMNS = ("by", "hour_or_weekday", "weekday_name", "checks", "revenue_minor", "currency")
CUSTOMER_COLUMNS = record_columns(Customers, extra=("customers", "new_share_bp"))
EFFECTIVENESS_COLUMNS = record_columns(Effectiveness)
THRESHOLD_COLUMNS = record_columns(Threshold)
PROGRAM_REPORTS = ("attendance", "customers", "effectiveness", "threshold")


@dataclass(frozen=True, slots=True)
class ThresholdInput:
    """What the threshold helper asks besides the (current) period: the old threshold and the base period."""

    old_threshold_minor: int
    base_first_day: date
    base_last_day: date


def threshold_input(old_minor: int | None, base_first: date | None, base_last: date | None) -> ThresholdInput | None:
    """The helper's inputs from a request's parameters (None when no threshold is given)."""
    if old_minor is None:
        return None
    if base_first is None:
        raise InvalidInput("give the base period's first day", field="base_from")
    return ThresholdInput(old_minor, base_first, base_last or base_first)


def _name(report: str, period: Period) -> str:
    if period.first_day == period.last_day:
        return f"{report}-{period.first_day.isoformat()}"
    return f"{report}-{period.first_day.isoformat()}-{period.last_day.isoformat()}"


async def program_table(
    program: ProgramReports,
    name: str,
    scope: ExportScope,
    period: Period,
    currency: str,
    threshold: ThresholdInput | None = None,
) -> Table:
    network, partner, first, last = scope.network_id, scope.partner_id, period.first_day, period.last_day
    if name == "attendance":
        found = await program.attendance(network, partner, first, last)
        rows: list[list[Cell]] = [
            ["hour", line.hour, None, line.checks, line.revenue_minor, currency] for line in found.by_hour
        ]
        rows += [
            ["weekday", line.weekday, line.name, line.checks, line.revenue_minor, currency] for line in found.by_weekday
        ]
        return table_of(_name(name, period), ATTENDANCE_COLUMNS, rows)
    if name == "customers":
        customers = await program.customers(network, partner, first, last)
        return table_of(
            _name(name, period),
            (*CUSTOMER_COLUMNS, "currency"),
            [[*record_cells(customers, CUSTOMER_COLUMNS), currency]],
        )
    if name == "effectiveness":
        effect = await program.effectiveness(network, partner, first, last)
        cells = record_cells(effect, EFFECTIVENESS_COLUMNS)
        return table_of(_name(name, period), (*EFFECTIVENESS_COLUMNS, "currency"), [[*cells, currency]])
    if threshold is None:
        raise InvalidInput(
            "give the old threshold (threshold) and the base period (base_from, base_to)", field="threshold"
        )
    answer = await program.threshold(
        network,
        partner,
        threshold.old_threshold_minor,
        (threshold.base_first_day, threshold.base_last_day),
        (first, last),
    )
    cells = record_cells(answer, THRESHOLD_COLUMNS)
    return table_of(_name(name, period), (*THRESHOLD_COLUMNS, "currency"), [[*cells, currency]])
