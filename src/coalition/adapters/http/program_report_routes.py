"""The program's reports over the API (issue 18; docs/reports.md): attendance by hour and weekday, new and returning
customers, the program's effectiveness and the entry-threshold helper, for a period (`from`/`to`, the network's
days) and the whole network or one `partner`. Money in minor units, shares in basis points; the same figures
download as CSV or XLSX from /v1/admin/exports/<name>."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import NetworkAdmin, Svc
from coalition.adapters.http.schemas import MAX_RECORD_ID
from coalition.application.exports import check_day
from coalition.application.program_reports import Attendance, Customers, Effectiveness, Threshold
from coalition.domain.errors import InvalidInput

router = APIRouter(prefix="/v1/admin/reports", tags=["Reports"], route_class=CheckedRoute)

PartnerId = Annotated[int | None, Query(ge=1, le=MAX_RECORD_ID, description="one partner's outlets (all by default)")]
First = Annotated[date, Query(alias="from", description="the period's first day, YYYY-MM-DD")]
Last = Annotated[date | None, Query(alias="to", description="the period's last day (the first by default)")]
MAX_THRESHOLD_MINOR = 10**12


class Answer(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class HourOut(Answer):
    hour: int
    checks: int
    revenue_minor: int


class WeekdayOut(Answer):
    weekday: int
    name: str
    checks: int
    revenue_minor: int


class AttendanceOut(Answer):
    first_day: date
    last_day: date
    checks: int
    by_hour: list[HourOut]
    by_weekday: list[WeekdayOut]


class CustomersOut(Answer):
    first_day: date
    last_day: date
    customers: int
    new_customers: int
    returning_customers: int
    new_share_bp: int
    new_checks: int
    returning_checks: int
    new_revenue_minor: int
    returning_revenue_minor: int


class EffectivenessOut(Answer):
    first_day: date
    last_day: date
    member_checks: int
    member_revenue_minor: int
    member_average_check_minor: int
    anonymous_checks: int
    anonymous_revenue_minor: int
    anonymous_average_check_minor: int
    members: int
    repeat_members: int
    repeat_rate_bp: int
    points_issued: int
    point_value_minor: int
    points_issued_minor: int
    discount_minor: int
    program_cost_minor: int
    revenue_minor: int
    cost_per_revenue_bp: int


class ThresholdOut(Answer):
    old_threshold_minor: int
    base_first_day: date
    base_last_day: date
    base_checks: int
    base_average_check_minor: int
    current_first_day: date
    current_last_day: date
    current_checks: int
    current_average_check_minor: int
    new_threshold_minor: int
    change_bp: int


def _period(first: date, last: date | None) -> tuple[date, date]:
    check_day(first, "from")
    check_day(last, "to")
    return first, last or first


@router.get("/attendance", response_model=AttendanceOut, summary="Checks per hour of the day and per weekday")
async def attendance(
    svc: Svc, admin: NetworkAdmin, first: First, last: Last = None, partner: PartnerId = None
) -> Attendance:
    return await svc.program_reports.attendance(admin.id, partner, *_period(first, last))


@router.get("/customers", response_model=CustomersOut, summary="New and returning customers")
async def customers(
    svc: Svc, admin: NetworkAdmin, first: First, last: Last = None, partner: PartnerId = None
) -> Customers:
    return await svc.program_reports.customers(admin.id, partner, *_period(first, last))


@router.get("/effectiveness", response_model=EffectivenessOut, summary="Members against anonymous checks, cost")
async def effectiveness(
    svc: Svc, admin: NetworkAdmin, first: First, last: Last = None, partner: PartnerId = None
) -> Effectiveness:
    return await svc.program_reports.effectiveness(admin.id, partner, *_period(first, last))


@router.get("/threshold", response_model=ThresholdOut, summary="A new entry threshold from the average check")
async def threshold(
    svc: Svc,
    admin: NetworkAdmin,
    first: First,
    threshold_minor: Annotated[int, Query(alias="threshold", ge=1, le=MAX_THRESHOLD_MINOR)],
    base_first: Annotated[date, Query(alias="base_from")],
    base_last: Annotated[date | None, Query(alias="base_to")] = None,
    last: Last = None,
    partner: PartnerId = None,
) -> Threshold:
    base = _period(base_first, base_last)
    if base[1] < base[0]:
        raise InvalidInput("the base period's last day comes before its first", field="base_to")
    return await svc.program_reports.threshold(admin.id, partner, threshold_minor, base, _period(first, last))
