"""The program's reports on the console's Reports page (issue 18; docs/reports.md): attendance by hour and weekday,
new and returning customers, the program's effectiveness, and the entry-threshold helper, for the day or period the
page shows and its scope. Each section links its CSV and XLSX download (/console/exports/<name>)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from fastapi import Request

from coalition.adapters.web.console_staff import field_error
from coalition.adapters.web.templating import Formats, gettext
from coalition.application.program_reports import Attendance, Customers, Effectiveness, ProgramReports, Threshold
from coalition.application.reports import Report
from coalition.domain.errors import DomainError, InvalidInput
from coalition.domain.money import parse_amount_minor

THRESHOLD_FIELDS = ("threshold", "base_from", "base_to")


@dataclass(frozen=True)
class ProgramFigures:
    attendance: Attendance
    customers: Customers
    effectiveness: Effectiveness
    threshold: Threshold | None
    threshold_words: str
    threshold_downloads: str  # the helper's download query (its inputs), empty without an answer
    threshold_error: dict[str, str] | None
    weekday_names: dict[int, str]


WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def threshold_words(found: Threshold, fmt: Formats, request: Request) -> str:
    """The helper's answer as a sentence a shop owner reads."""
    return gettext(
        request,
        "The average check went from %(base)s (%(base_days)s) to %(current)s (%(current_days)s), %(change)s. "
        "The entry threshold of %(old)s becomes %(new)s: %(old)s × %(current)s ÷ %(base)s, rounded half up to a "
        "whole minor unit.",
        base=fmt.money(found.base_average_check_minor),
        base_days=f"{fmt.day(found.base_first_day)} – {fmt.day(found.base_last_day)}",
        current=fmt.money(found.current_average_check_minor),
        current_days=f"{fmt.day(found.current_first_day)} – {fmt.day(found.current_last_day)}",
        change=("+" if found.change_bp > 0 else "") + fmt.percent(found.change_bp),
        old=fmt.money(found.old_threshold_minor),
        new=fmt.money(found.new_threshold_minor),
    )


async def program_figures(
    program: ProgramReports,
    network_id: int,
    scope: int | None,
    report: Report,
    values: dict[str, str],
    currency: str,
    fmt: Formats,
    request: Request,
) -> ProgramFigures:
    first, last = report.first_day, report.last_day
    found: Threshold | None = None
    error: dict[str, str] | None = None
    downloads = ""
    if values.get("threshold", "").strip():
        try:
            old, base_first, base_last = threshold_form(values, currency)
            found = await program.threshold(network_id, scope, old, (base_first, base_last), (first, last))
            downloads = urlencode(
                {"threshold": old, "base_from": base_first.isoformat(), "base_to": base_last.isoformat()}
            )
        except DomainError as raised:
            error = field_error(request, raised)
    attendance, customers, effectiveness = await program.overview(network_id, scope, first, last)
    return ProgramFigures(
        attendance=attendance,
        customers=customers,
        effectiveness=effectiveness,
        threshold=found,
        threshold_words=threshold_words(found, fmt, request) if found else "",
        threshold_downloads=downloads,
        threshold_error=error,
        weekday_names={day: gettext(request, name) for day, name in enumerate(WEEKDAY_NAMES, start=1)},
    )


def threshold_form(values: dict[str, str], currency: str) -> tuple[int, date, date]:
    """What the owner typed into the helper's form: the old threshold (as money) and the base period."""
    old = parse_amount_minor(values["threshold"].strip(), currency, field="threshold")
    if old <= 0:
        raise InvalidInput("the old threshold is a positive amount", field="threshold")
    base_first = typed_date(values.get("base_from", ""), "base_from")
    if base_first is None:
        raise InvalidInput("give the base period's first day", field="base_from")
    return old, base_first, typed_date(values.get("base_to", ""), "base_to") or base_first


def typed_date(text: str, field: str) -> date | None:
    """A day typed into the helper's form (YYYY-MM-DD); None when left empty."""
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput("a date is written as YYYY-MM-DD, such as 2026-11-26", field=field) from None
