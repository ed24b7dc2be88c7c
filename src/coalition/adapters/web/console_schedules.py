"""Scheduled jobs in the console (issue 16; docs/scheduler.md): the administrator sees when each job runs in the
network's time zone, its next and last runs and the runs' history, and enables, disables or moves a job (the same
command as PUT /v1/admin/schedules/{job}, audited as schedule.set)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from coalition.adapters.http.clean_input import CheckedRoute
from coalition.adapters.http.problems import status_of
from coalition.adapters.web.console_staff import field_error
from coalition.adapters.web.sessions import checked_form, services_of, signed_in
from coalition.adapters.web.templating import gettext, render
from coalition.application.web_sessions import WebIdentity
from coalition.domain.errors import DomainError
from coalition.domain.input_text import parse_whole_number
from coalition.domain.schedules import JOBS, check_job

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)
Administrator = Annotated[WebIdentity, Depends(signed_in("console", "administrator"))]
RUNS_SHOWN = 20


async def _page(
    request: Request, me: WebIdentity, error: dict[str, str] | None, job: str | None, status: int
) -> Response:
    scheduler = services_of(request).scheduler
    listed = await scheduler.schedules(me.network_id)
    context: dict[str, Any] = {
        "me": me,
        "zone": listed.timezone,
        "schedules": listed.schedules,
        "runs": await scheduler.runs(me.network_id, None, RUNS_SHOWN),
        "error": error,
        "error_job": job,
        "done": gettext(request, "The schedule was saved.") if request.query_params.get("done") == "saved" else None,
    }
    return render(request, "console/schedules.html", context, timezone=listed.timezone, status_code=status)


@router.get("/schedules")
async def schedules_page(request: Request, me: Administrator) -> Response:
    return await _page(request, me, None, None, 200)


@router.post("/schedules/{job}")
async def save_schedule(request: Request, me: Administrator, job: str) -> Response:
    form = await checked_form(request, me)
    text = {name: str(form.get(name, "")).strip() for name in ("time", "every_minutes", "day_of_month")}
    try:
        check_job(job)
        every = text["every_minutes"]
        day = text["day_of_month"]
        await services_of(request).scheduler.set_schedule(
            me.network_id,
            job,
            enabled=form.get("enabled") == "on",
            at=text["time"] or None,
            every_minutes=parse_whole_number(every, field="every_minutes", message="a whole number of minutes")
            if every
            else None,
            day_of_month=parse_whole_number(day, field="day_of_month", message="a day from 1 to 28") if day else None,
        )
    except DomainError as raised:
        return await _page(request, me, field_error(request, raised), job if job in JOBS else None, status_of(raised))
    return RedirectResponse(f"/console/schedules?done=saved#job-{job}", 303)
