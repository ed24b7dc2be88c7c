"""Reports in the console: a day's or a period's figures per outlet and per cashier, with charts drawn on the server.

A chart is inline SVG (no script, no library): bars whose heights are integer fractions of the largest, with
role="img" and a label that says what it shows; the same numbers are in a table beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.problems import status_of
from coalition.adapters.web.anomaly_words import anomaly_sentence
from coalition.adapters.web.console_program_reports import THRESHOLD_FIELDS, ProgramFigures, program_figures
from coalition.adapters.web.console_staff import field_error, network_of, partner_scope
from coalition.adapters.web.sessions import checked_form, services_of, signed_in
from coalition.adapters.web.templating import Formats, gettext, language_of, render
from coalition.application.reports import CashierLine, ChartPoint, Figures, Report, ReportOutlet
from coalition.application.web_sessions import WebIdentity
from coalition.domain.anomalies import Anomaly
from coalition.domain.errors import DomainError, InvalidInput
from coalition.domain.input_text import parse_whole_number

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)
ConsoleUser = Annotated[WebIdentity, Depends(signed_in("console"))]

CHART_WIDTH, CHART_HEIGHT, AXIS_HEIGHT, TOP_MARGIN = 720, 220, 24, 8


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    label: str  # the hour or the day under the bar (some are left out when bars are narrow)
    show_label: bool
    title: str  # a tooltip: the bar's label and value


@dataclass(frozen=True)
class Chart:
    aria_label: str
    bars: list[Bar]
    rows: list[tuple[str, Figures]]  # (label, figures) for the table under the chart
    heading: str
    hidden_hours: bool = False  # hours with no sale and no refund are left out of the table (not 24 rows of zeros)
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT + AXIS_HEIGHT


def typed_date(text: str, field: str) -> date | None:
    """A day typed into a report's form (YYYY-MM-DD); None when left empty."""
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput("a date is written as YYYY-MM-DD, such as 2026-11-26", field=field) from None


def _partner(text: str) -> int | None:
    if not text.strip():
        return None
    return parse_whole_number(text, field="partner", message="choose a partner from the list")


def download_query(first: date, last: date | None, partner: str = "") -> str:
    """The query string of a page's downloads (/console/exports/…): its period and the administrator's partner."""
    values = {"from": first.isoformat(), "to": (last or first).isoformat(), "partner": partner}
    return urlencode({name: value for name, value in values.items() if value})


def point_label(point: ChartPoint, fmt: Formats) -> str:
    if isinstance(point.key, date):
        return fmt.day(point.key, "short")
    return f"{point.key:02d}:00"


@dataclass(frozen=True)
class Measure:
    """What a chart can show: one of the report's figures, per hour of a day or per day of a period."""

    code: str
    per_hour: str  # the chart's heading for a day
    per_day: str  # for a period
    value: Callable[[Figures], int]
    money: bool
    additive: bool = True  # False: the period's figure is not the bars' sum (an average)


MEASURES = {
    measure.code: measure
    for measure in (
        Measure("revenue", "Revenue per hour", "Revenue per day", lambda f: f.revenue_minor, money=True),
        Measure("checks", "Checks per hour", "Checks per day", lambda f: f.checks, money=False),
        Measure(
            "average",
            "Average check per hour",
            "Average check per day",
            lambda f: f.average_check_minor,
            money=True,
            additive=False,
        ),
        Measure("points-issued", "Points issued per hour", "Points issued per day", lambda f: f.points_issued, False),
        Measure("points-spent", "Points spent per hour", "Points spent per day", lambda f: f.points_spent, False),
        Measure("discounts", "Discounts per hour", "Discounts per day", lambda f: f.discount_minor, money=True),
    )
}


def measure_of(text: str) -> Measure:
    found = MEASURES.get(text.strip() or "revenue")
    if found is None:
        raise InvalidInput(f"'{text.strip()}' is not a measure the chart can show", field="measure")
    return found


def figure_chart(report: Report, measure: Measure, fmt: Formats, request: Request) -> Chart:
    """Bars of one measure per hour of the day (one day) or per day (a period), scaled to the largest bar."""
    points = report.chart
    values = [measure.value(point.figures) for point in points]
    largest = max(values, default=0)
    slot = CHART_WIDTH // max(len(points), 1)
    every = 1 if len(points) <= 12 else (3 if len(points) <= 31 else 7)  # labels that fit under the bars
    bars = []
    for index, (point, value) in enumerate(zip(points, values, strict=True)):
        height = max(value, 0) * CHART_HEIGHT // largest if largest > 0 else 0
        label = point_label(point, fmt)
        tick = fmt.day(point.key, "d MMM") if isinstance(point.key, date) else label  # short under narrow bars
        bars.append(
            Bar(
                x=index * slot + slot // 8,
                y=TOP_MARGIN + CHART_HEIGHT - height,
                width=max(slot - slot // 4, 1),
                height=height,
                label=tick,
                show_label=index % every == 0,
                title=f"{label}: {_shown(measure, value, fmt)}",
            )
        )
    heading = gettext(request, measure.per_hour if report.is_one_day else measure.per_day)
    rows = [(point_label(point, fmt), point.figures) for point in points if not _idle_hour(point)]
    hidden = len(rows) < len(points)
    return Chart(_aria_label(report, measure, heading, values, fmt, request), bars, rows, heading, hidden)


def _idle_hour(point: ChartPoint) -> bool:
    """An hour of a day with neither a sale nor a refund: the table leaves it out (a period's days all stay)."""
    return not isinstance(point.key, date) and not point.figures.checks and not point.figures.refunds


@dataclass(frozen=True)
class ReportTables:
    """The per-outlet and per-cashier tables of the page: rows whose figures are all zero are left out (the downloads
    keep every row); an empty report shows neither table."""

    empty: bool  # no sale, refund, top-up or anything else in the report: the page says so and nothing more
    outlets: list[tuple[ReportOutlet, Figures]]
    idle_outlets: int
    cashiers: list[CashierLine]
    idle_cashiers: int


def report_tables(report: Report) -> ReportTables:
    outlets = [(outlet, figures) for outlet, figures in report.by_outlet if figures != Figures()]
    cashiers = [line for line in report.by_cashier if line.figures != Figures()]
    return ReportTables(
        report.total == Figures(),
        outlets,
        len(report.by_outlet) - len(outlets),
        cashiers,
        len(report.by_cashier) - len(cashiers),
    )


def _shown(measure: Measure, value: int, fmt: Formats) -> str:
    return fmt.money(value) if measure.money else fmt.number(value)


def _aria_label(
    report: Report, measure: Measure, heading: str, values: list[int], fmt: Formats, request: Request
) -> str:
    days = fmt.day(report.first_day)
    if not report.is_one_day:
        days = f"{days} – {fmt.day(report.last_day)}"
    title = f"{heading}, {days}"
    if not report.total.checks and not report.total.refunds:
        return f"{title} — {gettext(request, 'no sales')}"
    largest = max(values)
    peak = report.chart[values.index(largest)]
    total = _shown(measure, measure.value(report.total), fmt)
    summary = (
        "highest %(amount)s (%(when)s), total %(total)s"
        if measure.additive
        else "highest %(amount)s (%(when)s), overall %(total)s"
    )
    return f"{title} — " + gettext(
        request, summary, amount=_shown(measure, largest, fmt), when=point_label(peak, fmt), total=total
    )


def measure_links(values: dict[str, str], chosen: Measure) -> list[tuple[str, str, bool]]:
    """(code, address, chosen) of each measure, keeping the report's day or period and partner."""
    kept = {name: value for name, value in values.items() if value and name != "measure"}
    return [
        (code, "/console/reports?" + urlencode({**kept, "measure": code}), code == chosen.code) for code in MEASURES
    ]


MAIL_NOTICES = {
    "report-sent": "The day's report was e-mailed.",
    "report-nowhere": "Nobody has an address to send the report to yet.",
    "address-saved": "The report e-mail address was saved.",
}
QUERY_FIELDS = ("day", "from", "to", "partner", "measure", *THRESHOLD_FIELDS)


@router.get("/reports")
async def reports(request: Request, user: ConsoleUser) -> Response:
    return await _reports_page(request, user, {name: request.query_params.get(name, "") for name in QUERY_FIELDS})


async def _reports_page(
    request: Request,
    user: WebIdentity,
    values: dict[str, str],
    mail_error: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    services = services_of(request)
    scope = partner_scope(user)
    report: Report | None = None
    error: dict[str, str] | None = None
    measure = MEASURES["revenue"]
    flags: tuple[Anomaly, ...] = ()
    program: ProgramFigures | None = None
    try:
        if scope is None:
            scope = _partner(values["partner"])
        first, last = _period(values)
        measure = measure_of(values["measure"])
        report = await services.reports.report(user.network_id, scope, first, last)
        if report.is_one_day:
            flags = await services.daily_reports.anomalies(user.network_id, scope, report.first_day)
        fmt = Formats(language_of(request), user.currency)
        args = (user.network_id, scope, report, values, user.currency, fmt, request)
        program = await program_figures(services.program_reports, *args)
        if program.threshold_error:
            status_code = 422  # the helper's input, refused beside its field
    except DomainError as error_raised:
        error, status_code = field_error(request, error_raised), status_of(error_raised)
    fmt = Formats(language_of(request), user.currency)
    partners: dict[int, str] = report.partners if report else {}
    if report is None and user.role == "administrator":
        partners = (await services.admin.staff(network_of(user)))["partners"]  # keep the filter after an error
    recipients = [
        recipient
        for recipient in await services.daily_reports.recipients(user.network_id)
        if scope is None or recipient.partner_id == scope
    ]
    notice = request.query_params.get("done", "")
    context: dict[str, Any] = {
        "me": user,
        "values": values,
        "report": report,
        "program": program,
        "chart": figure_chart(report, measure, fmt, request) if report else None,
        "tables": report_tables(report) if report else None,
        "measures": measure_links(values, measure),
        "partners": partners,
        "error": error,
        "previous_day": (report.first_day - timedelta(days=1)).isoformat() if report else "",
        "next_day": (report.first_day + timedelta(days=1)).isoformat() if report else "",
        "recipients": recipients,
        "mail_partner": scope,
        # the downloads of the report shown: its period and, for the administrator, the partner chosen
        "downloads": download_query(report.first_day, report.last_day, values["partner"] if scope is None else "")
        if report
        else "",
        "mail_error": mail_error,
        "mail_notice": gettext(request, MAIL_NOTICES[notice]) if notice in MAIL_NOTICES else None,
        "anomalies": [
            {
                "kind": flag.kind.value,
                "text": anomaly_sentence(flag, user.currency, language_of(request)),
                "transactions": flag.transactions,
            }
            for flag in flags
        ],
    }
    return render(request, "console/reports.html", context, status_code=status_code, currency=user.currency)


@router.post("/reports/send")
async def send_day(request: Request, user: ConsoleUser) -> Response:
    """The shown day's report to the partner's address now (again if it went before): the owner asked for it."""
    form = await checked_form(request, user)
    values = {name: str(form.get(name, "")).strip() for name in QUERY_FIELDS}
    services = services_of(request)
    try:
        scope = partner_scope(user) or _partner(values["partner"])
        day = typed_date(values["day"], "day") or await services.reports.today(user.network_id, scope)
        sent = await services.daily_reports.send(user.network_id, day, again=True, partner_id=scope)
    except DomainError as error:
        return await _reports_page(request, user, values, field_error(request, error), status_of(error))
    done = "report-sent" if sent["sent"] else "report-nowhere"
    return _back_to(values | {"day": day.isoformat()}, done)


@router.post("/reports/address")
async def set_report_address(request: Request, user: ConsoleUser) -> Response:
    """Where the partner's daily reports (and settlement statements) go; an owner sets their own partner's."""
    form = await checked_form(request, user)
    values = {name: str(form.get(name, "")).strip() for name in QUERY_FIELDS}
    try:
        scope = partner_scope(user) or _partner(values["partner"])
        if scope is None:
            raise InvalidInput("choose a partner from the list", field="partner")
        language = str(form.get("language", "")).strip() or None
        await services_of(request).admin.set_partner_email(
            network_of(user), scope, str(form.get("email", "")), language
        )
    except DomainError as error:
        return await _reports_page(request, user, values, field_error(request, error), status_of(error))
    return _back_to(values, "address-saved")


def _back_to(values: dict[str, str], done: str) -> Response:
    kept = {name: value for name, value in values.items() if value}
    return RedirectResponse("/console/reports?" + urlencode({**kept, "done": done}), 303)


def _period(values: dict[str, str]) -> tuple[date | None, date | None]:
    """A period (from–to) when either end is given, else one day (today when none is)."""
    first, last = typed_date(values["from"], "from"), typed_date(values["to"], "to")
    if first or last:
        if first is None:
            raise InvalidInput("give the period's first day", field="from")
        return first, last or first
    day = typed_date(values["day"], "day")
    return day, day
