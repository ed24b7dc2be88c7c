"""/v1/admin/schedules (issue 16) on both engines: the list with next and last runs in the network's zone, a change,
the runs' history, and bad input refused with a problem naming the field (never a 500, nothing written)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from coalition.settings import Settings
from coalition.wiring import build_services
from tests.support import SettableClock, assert_problem, auth, client, make_network

pytestmark = pytest.mark.anyio
MOSCOW = ZoneInfo("Europe/Moscow")


async def test_schedules_listed_changed_and_refused_by_field(settings: Settings) -> None:
    clock = SettableClock(datetime(2026, 12, 6, 22, 0, tzinfo=MOSCOW))
    services = build_services(settings, clock=clock)
    try:
        net = await make_network(services)
        other = await make_network(services, "other")
        async with client(services) as http:
            listed = (await http.get("/v1/admin/schedules", headers=auth(net.admin_key))).json()
            assert listed["timezone"] == "Europe/Moscow"
            by_job = {item["job"]: item for item in listed["schedules"]}
            assert by_job["birthdays"]["next_run"] == {"period": "2026-12-07", "at": "2026-12-07T06:00:00+03:00"}
            assert by_job["daily_reports"]["blocked"] is not None and by_job["expire"]["every_minutes"] == 60
            assert by_job["period_close"]["next_run"]["period"] == "2026-12"

            changed = await http.put(
                "/v1/admin/schedules/daily_reports", json={"time": "23:30"}, headers=auth(net.admin_key)
            )
            assert changed.status_code == 200, changed.text
            assert changed.json()["next_run"] == {"period": "2026-12-06", "at": "2026-12-06T23:30:00+03:00"}
            off = await http.put("/v1/admin/schedules/expire", json={"enabled": False}, headers=auth(net.admin_key))
            assert off.json()["enabled"] is False and off.json()["next_run"] is None
            # the other network's schedules are its own
            theirs = (await http.get("/v1/admin/schedules", headers=auth(other.admin_key))).json()
            assert {item["job"]: item["enabled"] for item in theirs["schedules"]}["expire"] is True

            for job, body, field in [
                ("birthdays", {"time": "25:00"}, "time"),
                ("birthdays", {"time": "12:00\x00"}, "time"),
                ("birthdays", {"time": 1200}, "time"),
                ("payroll", {"enabled": True}, "job"),
                ("expire", {"time": "03:00"}, "time"),
                ("expire", {"every_minutes": 2}, "every_minutes"),
                ("period_close", {"day_of_month": 31}, "day_of_month"),
                ("birthdays", {"enabled": "yes"}, "enabled"),
                ("birthdays", {"network_id": other.ref.id}, "network_id"),
            ]:
                refused = await http.put(f"/v1/admin/schedules/{job}", json=body, headers=auth(net.admin_key))
                assert_problem(refused, 422, refused.json()["type"].rsplit("/", 1)[1], field)
            bad_runs = await http.get("/v1/admin/schedules/runs?job=payroll", headers=auth(net.admin_key))
            assert_problem(bad_runs, 422, "invalid-input", "job")
            nul = await http.get("/v1/admin/schedules/runs?job=%00", headers=auth(net.admin_key))
            assert nul.status_code == 422 and nul.json()["field"] == "job", nul.text
            assert (await http.get("/v1/admin/schedules", headers=auth("nope"))).status_code == 401

            await services.scheduler.tick()
            history = (await http.get("/v1/admin/schedules/runs?job=birthdays", headers=auth(net.admin_key))).json()
            assert [(run["period"], run["status"], run["trigger"]) for run in history["runs"]] == [
                ("2026-12-06", "done", "scheduler")
            ]
            listed = (await http.get("/v1/admin/schedules", headers=auth(net.admin_key))).json()
            last = {item["job"]: item["last_run"] for item in listed["schedules"]}
            assert last["birthdays"]["status"] == "done" and last["expire"] is None  # expiry is off
            theirs = (await http.get("/v1/admin/schedules/runs", headers=auth(other.admin_key))).json()
            assert {run["job"] for run in theirs["runs"]} == {
                "birthdays",
                "expire",
                "period_close",
                "outbox_cleanup",
                "points_expiring",
                "campaigns",
            }
    finally:
        await services.close()
