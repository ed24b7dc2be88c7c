"""Reports in the console: a day's or a period's figures per outlet and per cashier, with charts drawn on the server.

A chart is inline SVG (no script, no library): bars whose heights are integer fractions of the largest, with
role="img" and a label that says what it shows; the same numbers are in a table beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from coalition.adapters.http.problems import status_of
from coalition.adapters.web.console_staff import field_error, network_of, partner_scope
from coalition.adapters.web.sessions import services_of, signed_in
from coalition.adapters.web.templating import Formats, gettext, language_of, render
from coalition.application.reports import ChartPoint, Report
from coalition.application.web_sessions import WebIdentity
from coalition.domain.errors import DomainError, InvalidInput

router = APIRouter(prefix="/console", include_in_schema=False)
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
    rows: list[tuple[str, int, int]]  # (label, revenue_minor, checks) for the table
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT + AXIS_HEIGHT


def _date(text: str, field: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput("a date is written as YYYY-MM-DD, such as 2026-11-26", field=field) from None


def _partner(text: str) -> int | None:
    if not text.strip():
        return None
    if not text.strip().isdigit():
        raise InvalidInput("choose a partner from the list", field="partner")
    return int(text.strip())


def point_label(point: ChartPoint, fmt: Formats) -> str:
    if isinstance(point.key, date):
        return fmt.day(point.key, "short")
    return f"{point.key:02d}:00"


def revenue_chart(report: Report, fmt: Formats, request: Request) -> Chart:
    """Bars of revenue per hour of the day (one day) or per day (a period), scaled to the largest bar."""
    points = report.chart
    largest = max((point.revenue_minor for point in points), default=0)
    slot = CHART_WIDTH // max(len(points), 1)
    every = 1 if len(points) <= 12 else (3 if len(points) <= 31 else 7)  # labels that fit under the bars
    bars = []
    for index, point in enumerate(points):
        height = point.revenue_minor * CHART_HEIGHT // largest if largest else 0
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
                title=f"{label}: {fmt.money(point.revenue_minor)}",
            )
        )
    return Chart(_aria_label(report, points, largest, fmt, request), bars, _rows(points, fmt))


def _aria_label(report: Report, points: list[ChartPoint], largest: int, fmt: Formats, request: Request) -> str:
    if report.is_one_day:
        title = gettext(request, "Revenue per hour, %(day)s", day=fmt.day(report.first_day))
    else:
        title = gettext(
            request,
            "Revenue per day, %(first)s – %(last)s",
            first=fmt.day(report.first_day),
            last=fmt.day(report.last_day),
        )
    if not largest:
        return f"{title} — {gettext(request, 'no sales')}"
    peak = next(point for point in points if point.revenue_minor == largest)
    summary = gettext(
        request,
        "highest %(amount)s (%(when)s), total %(total)s",
        amount=fmt.money(largest),
        when=point_label(peak, fmt),
        total=fmt.money(report.total.revenue_minor),
    )
    return f"{title} — {summary}"


def _rows(points: list[ChartPoint], fmt: Formats) -> list[tuple[str, int, int]]:
    return [(point_label(point, fmt), point.revenue_minor, point.checks) for point in points]


@router.get("/reports")
async def reports(request: Request, user: ConsoleUser) -> Response:
    query = request.query_params
    values = {name: query.get(name, "") for name in ("day", "from", "to", "partner")}
    services = services_of(request)
    scope = partner_scope(user)
    report: Report | None = None
    error: dict[str, str] | None = None
    status_code = 200
    try:
        if scope is None:
            scope = _partner(values["partner"])
        first, last = _period(values)
        report = await services.reports.report(user.network_id, scope, first, last)
    except DomainError as error_raised:
        error, status_code = field_error(request, error_raised), status_of(error_raised)
    fmt = Formats(language_of(request), user.currency)
    partners: dict[int, str] = report.partners if report else {}
    if report is None and user.role == "administrator":
        partners = (await services.admin.staff(network_of(user)))["partners"]  # keep the filter after an error
    context: dict[str, Any] = {
        "me": user,
        "values": values,
        "report": report,
        "chart": revenue_chart(report, fmt, request) if report else None,
        "partners": partners,
        "error": error,
        "previous_day": (report.first_day - timedelta(days=1)).isoformat() if report else "",
        "next_day": (report.first_day + timedelta(days=1)).isoformat() if report else "",
    }
    return render(request, "console/reports.html", context, status_code=status_code, currency=user.currency)


def _period(values: dict[str, str]) -> tuple[date | None, date | None]:
    """A period (from–to) when either end is given, else one day (today when none is)."""
    first, last = _date(values["from"], "from"), _date(values["to"], "to")
    if first or last:
        if first is None:
            raise InvalidInput("give the period's first day", field="from")
        return first, last or first
    day = _date(values["day"], "day")
    return day, day
