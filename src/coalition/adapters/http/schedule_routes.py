"""Scheduled jobs over HTTP (issue 16; docs/scheduler.md): the network's job schedules with their next and last
runs, a schedule changed (enabled, time of day, interval, day of month), and the runs' history (admin key)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import AwareDatetime, Field, StrictBool, StrictInt, StrictStr

from coalition.adapters.http.admin_answers import JobRunsAnswer, ScheduleAnswer, SchedulesAnswer
from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.dependencies import NetworkAdmin, Svc
from coalition.adapters.http.pagination import PAGE_RESPONSES, Paging, announce, next_cursor_of
from coalition.adapters.http.schemas import Body
from coalition.domain.errors import NotFound
from coalition.domain.schedules import JOBS

router = APIRouter(prefix="/v1/admin", tags=["Admin"], route_class=CheckedRoute)

Job = Annotated[str, Path(max_length=32, description=f"one of {', '.join(JOBS)}")]


class ScheduleBody(Body):
    enabled: StrictBool | None = Field(default=None, description="false: the scheduler leaves this job to cron")
    time: StrictStr | None = Field(
        default=None, max_length=16, description="HH:MM in the network's time zone (daily jobs, period close)"
    )
    every_minutes: StrictInt | None = Field(default=None, description="expiry: every N minutes, 5 to 1440")
    day_of_month: StrictInt | None = Field(default=None, description="period close: the day it runs, 1 to 28")


# not paged: bounded, one line per scheduled job kind (a fixed set, domain/schedules.py)
@router.get(
    "/schedules",
    summary="The jobs' schedules in the network's time zone, with their next and last runs",
    response_model=SchedulesAnswer,
)
async def schedules(svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    return (await svc.scheduler.schedules(admin.id)).json()


@router.get(
    "/schedules/runs",
    summary="The jobs' runs, newest first, in pages, by job and start time: period, status, who ran it, error, result",
    response_model=JobRunsAnswer,
    responses=PAGE_RESPONSES,
)
async def runs(
    request: Request,
    response: Response,
    svc: Svc,
    admin: NetworkAdmin,
    page: Paging,
    job: Annotated[StrictStr | None, Query(max_length=32)] = None,
    since: Annotated[AwareDatetime | None, Query(description="started (last claimed) at or after, ISO 8601")] = None,
    until: Annotated[AwareDatetime | None, Query(description="started before")] = None,
) -> dict[str, Any]:
    found = await svc.scheduler.runs(admin.id, job, page.limit + 1, before_id=page.after, since=since, until=until)
    shown, cursor = next_cursor_of(found, page, lambda run: run.id)
    return {"runs": [run.json() for run in shown], "next_cursor": announce(request, response, cursor)}


@router.get("/schedules/{job}", summary="One job's schedule with its next and last runs", response_model=ScheduleAnswer)
async def schedule(job: Job, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    listing = (await svc.scheduler.schedules(admin.id)).json()
    found: dict[str, Any] | None = next((item for item in listing["schedules"] if item["job"] == job), None)
    if found is None:
        raise NotFound(f"no job '{job}': one of {', '.join(JOBS)}", field="job")
    return found


@router.put("/schedules/{job}", summary="Enable or disable a job, or set when it runs", response_model=ScheduleAnswer)
async def set_schedule(job: Job, body: ScheduleBody, svc: Svc, admin: NetworkAdmin) -> dict[str, Any]:
    saved = await svc.scheduler.set_schedule(
        admin.id,
        job,
        enabled=body.enabled,
        at=body.time,
        every_minutes=body.every_minutes,
        day_of_month=body.day_of_month,
    )
    return saved.json()
