"""The scheduler (issue 16; docs/scheduler.md) on both engines: two schedulers with engines of their own run each
due job once per period; a period missed while no server ran runs once on start; a dead claim is taken over; a
failed run is retried after its back-off; cron's runs count; a network in Tokyo gets its report at its own 23:30."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from coalition.adapters.storage.schedule_store import SqlScheduleStore
from coalition.application.admin import NetworkRef
from coalition.application.scheduler import Scheduler
from coalition.demo import SMALL_SHOP_PROGRAM
from coalition.settings import Settings
from coalition.wiring import Services, build_services
from tests.mail_support import Inbox, smtp
from tests.support import SettableClock, auth, client, make_network

pytestmark = pytest.mark.anyio
__all__ = ["smtp"]

MOSCOW, TOKYO = ZoneInfo("Europe/Moscow"), ZoneInfo("Asia/Tokyo")


async def _runs(services: Services) -> list[dict[str, Any]]:
    async with services.engine.connect() as connection:
        rows = await connection.execute(
            sa.text(
                "SELECT job, period_key, status, attempts, claimed_by, trigger FROM job_runs ORDER BY job, period_key"
            )
        )
        return [dict(row._mapping) for row in rows]


async def _audited(services: Services, action: str) -> int:
    async with services.engine.connect() as connection:
        count = await connection.scalar(sa.text("SELECT COUNT(*) FROM audit_entries WHERE action = :a"), {"a": action})
        return int(count or 0)


async def test_two_schedulers_run_each_due_job_once_per_period(settings: Settings) -> None:
    clock = SettableClock(datetime(2026, 12, 6, 10, 0, tzinfo=MOSCOW))
    first, second = build_services(settings, clock=clock), build_services(settings, clock=clock)
    try:
        await make_network(first)
        for _ in range(3):  # ticks of both at once, again and again: each period is claimed once
            await asyncio.gather(first.scheduler.tick(), second.scheduler.tick())
        runs = await _runs(first)
        # no SMTP: the daily report waits (shown as blocked), the others ran once each
        assert [(run["job"], run["period_key"], run["status"], run["attempts"]) for run in runs] == [
            ("birthdays", "2026-12-06", "done", 1),
            ("campaigns", "2026-12-06T07:00Z", "done", 1),
            ("expire", "2026-12-06T07:00Z", "done", 1),
            ("outbox_cleanup", "2026-12-06", "done", 1),
            ("period_close", "2026-11", "done", 1),
            ("points_expiring", "2026-12-06", "done", 1),
        ]
        assert {run["claimed_by"] for run in runs} <= {first.scheduler.name, second.scheduler.name}
        assert await _audited(first, "job.birthdays") == 1 and await _audited(first, "job.expire") == 1

        clock.moment = datetime(2026, 12, 7, 6, 0, tzinfo=MOSCOW)  # the next day's birthdays, the next hour's expiry
        for _ in range(2):
            await asyncio.gather(first.scheduler.tick(), second.scheduler.tick())
        keys = [(run["job"], run["period_key"]) for run in await _runs(first)]
        assert keys == [
            ("birthdays", "2026-12-06"),
            ("birthdays", "2026-12-07"),
            ("campaigns", "2026-12-06T07:00Z"),
            ("campaigns", "2026-12-07T03:00Z"),
            ("expire", "2026-12-06T07:00Z"),
            ("expire", "2026-12-07T03:00Z"),
            ("outbox_cleanup", "2026-12-06"),
            ("outbox_cleanup", "2026-12-07"),
            ("period_close", "2026-11"),
            ("points_expiring", "2026-12-06"),  # daily at 10:00: the 7th's is not due at 06:00
        ]
        assert await _audited(first, "job.birthdays") == 2
    finally:
        await first.close()
        await second.close()


async def test_a_missed_period_runs_once_and_a_period_cron_ran_is_not_repeated(settings: Settings) -> None:
    clock = SettableClock(datetime(2026, 12, 6, 5, 0, tzinfo=MOSCOW))
    services = build_services(settings, clock=clock)
    try:
        net = await make_network(services)
        async with client(services) as http:  # at 05:00 Moscow cron ran expiry and birthdays (the API's jobs)
            assert (await http.post("/v1/admin/jobs/expire", headers=auth(net.admin_key))).status_code == 200
            birthdays = await http.post("/v1/admin/jobs/birthdays", json={}, headers=auth(net.admin_key))
            assert birthdays.status_code == 200, birthdays.text
            assert birthdays.json()["date"] == "2026-12-06"  # cron's default: the UTC day (02:00 UTC)
        # the server was down over 06:00 and since the 1st; it starts at 11:20: the missed month's close runs now,
        # once, with this hour's expiry; today's birthdays cron ran are not repeated
        clock.moment = datetime(2026, 12, 6, 11, 20, tzinfo=MOSCOW)
        done = await services.scheduler.tick()
        assert sorted((run.job, run.period_key) for run in done) == [
            ("campaigns", "2026-12-06T08:20Z"),
            ("expire", "2026-12-06T08:00Z"),
            ("outbox_cleanup", "2026-12-06"),
            ("period_close", "2026-11"),
            ("points_expiring", "2026-12-06"),
        ]
        assert await services.scheduler.tick() == []
        runs = {(run["job"], run["period_key"]): run for run in await _runs(services)}
        assert runs[("expire", "2026-12-06T02:00Z")]["trigger"] == "api"  # 05:00 Moscow
        assert (runs[("birthdays", "2026-12-06")]["trigger"], runs[("birthdays", "2026-12-06")]["attempts"]) == (
            "api",
            1,
        )
        assert await _audited(services, "job.birthdays") == 1
        # cron asks for a period that ran: it runs again (each job is safe to repeat), recorded once
        async with client(services) as http:
            again = await http.post(
                "/v1/admin/jobs/birthdays", json={"date": "2026-12-06"}, headers=auth(net.admin_key)
            )
            assert again.status_code == 200, again.text
        runs = {(run["job"], run["period_key"]): run for run in await _runs(services)}
        assert (runs[("birthdays", "2026-12-06")]["attempts"], runs[("birthdays", "2026-12-06")]["trigger"]) == (
            2,
            "api",
        )
    finally:
        await services.close()


async def test_a_refused_run_by_hand_records_nothing(settings: Settings) -> None:
    clock = SettableClock(datetime(2026, 12, 6, 5, 0, tzinfo=MOSCOW))
    services = build_services(settings, clock=clock)
    try:
        net = await make_network(services)
        async with client(services) as http:
            early = await http.post(
                "/v1/admin/jobs/period-close", json={"month": "2026-12"}, headers=auth(net.admin_key)
            )
            assert early.status_code == 422 and early.json()["field"] == "month"
            no_mail = await http.post("/v1/admin/jobs/daily-reports", json={}, headers=auth(net.admin_key))
            assert no_mail.status_code == 409 and no_mail.json()["field"] == "smtp"
        assert await _runs(services) == []
    finally:
        await services.close()


async def test_a_dead_claim_is_taken_over_and_a_failed_run_retried_after_its_back_off(settings: Settings) -> None:
    clock = SettableClock(datetime(2026, 12, 6, 10, 0, tzinfo=MOSCOW))
    services = build_services(settings, clock=clock)
    try:
        await make_network(services)
        store = SqlScheduleStore(services.engine)
        network_id = (await store.networks())[0][0]
        now = clock.now()
        # a worker claimed today's birthdays and died: its lease ended a minute ago
        dead = await store.claim(network_id, "birthdays", "2026-12-06", "dead:1:abc", "scheduler", now, now)
        assert dead is not None
        clock.moment = now + timedelta(minutes=1)
        calls: list[str] = []

        async def flaky(network: int, day: Any) -> dict[str, Any]:
            calls.append(str(day))
            if len(calls) == 1:
                raise OSError("SMTP server not answering")
            return {"granted": 0}

        scheduler = Scheduler(store, clock, {"birthdays": flaky}, name="alive:2:def")
        await scheduler.tick()
        [run] = [r for r in await _runs(services) if r["job"] == "birthdays"]
        assert (run["status"], run["attempts"], run["claimed_by"]) == ("failed", 2, "alive:2:def")
        listed = await services.scheduler.runs(network_id, "birthdays")
        assert listed[0].error == "OSError: SMTP server not answering"
        assert listed[0].next_attempt_at == clock.now() + timedelta(minutes=5)  # 2nd attempt: 5 min
        await scheduler.tick()  # within the back-off: not tried
        assert len(calls) == 1
        clock.moment = clock.now() + timedelta(minutes=5)
        await scheduler.tick()
        [run] = [r for r in await _runs(services) if r["job"] == "birthdays"]
        assert (run["status"], run["attempts"], calls) == ("done", 3, ["2026-12-06", "2026-12-06"])
    finally:
        await services.close()


async def test_a_network_in_tokyo_gets_its_report_at_its_own_local_time(
    settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    clock = SettableClock(datetime(2026, 12, 6, 12, 0, tzinfo=TOKYO))
    services = build_services(replace(settings, smtp_host="127.0.0.1", smtp_port=port), clock=clock)
    try:
        created = await services.admin.create_network("tokyo", "Tokyo", "JPY", SMALL_SHOP_PROGRAM)
        ref = NetworkRef(created["id"], "tokyo", "Tokyo", "JPY")
        partner = await services.admin.create_partner(ref, "Ramen")
        await services.admin.create_outlet(ref, partner["id"], "Shibuya", "Asia/Tokyo")
        await services.admin.set_partner_email(ref, partner["id"], "owner@ramen.example")
        await make_network(services, "moscow")  # in Moscow, with no addresses: nothing to send there
        async with client(services) as http:
            put = await http.put(
                "/v1/admin/schedules/daily_reports", json={"time": "23:30"}, headers=auth(created["admin_key"])
            )
            assert put.status_code == 200, put.text
            assert put.json()["next_run"] == {"period": "2026-12-06", "at": "2026-12-06T23:30:00+09:00"}
        await services.scheduler.tick()  # noon in Tokyo: yesterday's 23:30 run was missed and runs now
        assert [m["Subject"] for m in inbox.to("owner@ramen.example")] == ["Daily report 2026-12-05: Ramen"]
        clock.moment = datetime(2026, 12, 6, 23, 29, tzinfo=TOKYO)
        await services.scheduler.tick()
        assert len(inbox.to("owner@ramen.example")) == 1
        clock.moment = datetime(2026, 12, 6, 23, 30, tzinfo=TOKYO)  # 14:30 UTC, 17:30 in Moscow
        await services.scheduler.tick()
        await services.scheduler.tick()
        subjects = [m["Subject"] for m in inbox.to("owner@ramen.example")]
        assert subjects == ["Daily report 2026-12-05: Ramen", "Daily report 2026-12-06: Ramen"]
        runs = [(r["job"], r["period_key"]) for r in await _runs(services) if r["job"] == "daily_reports"]
        # Moscow's report (00:30 by default) reported its 5th at 00:30 Moscow; Tokyo's two days, each once
        assert runs.count(("daily_reports", "2026-12-06")) == 1
    finally:
        await services.close()


async def test_the_servers_lifespan_runs_the_loops_only_when_asked(settings: Settings) -> None:
    from coalition.adapters.http.app import create_app

    clock = SettableClock(datetime(2026, 12, 6, 10, 0, tzinfo=MOSCOW))
    for background, expected in ((False, 0), (True, 6)):
        services = build_services(replace(settings, background=background, scheduler_tick_seconds=0.05), clock=clock)
        try:
            if not await SqlScheduleStore(services.engine).networks():
                await make_network(services)
            app = create_app(services=services)
            async with app.router.lifespan_context(app):
                for _ in range(100):
                    if len(await _runs(services)) >= expected and expected:
                        break
                    await asyncio.sleep(0.05)
            assert len(await _runs(services)) == expected
        finally:
            await services.close()
