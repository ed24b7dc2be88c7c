"""The jobs the scheduler runs (application/scheduler.py), each the function cron and the admin API call:
the owner's daily report, expiry (points, gifts, gift cards, devices' holds: `POST /v1/admin/jobs/expire`),
birthday bonuses (and greetings), the close of a month, the outbox's retention, points about to expire (a message)
and the campaigns whose time has come."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from coalition.application.audit import AuditLog, entry
from coalition.application.birthdays import BirthdayBonuses
from coalition.application.campaigns import Campaigns
from coalition.application.daily_reports import DailyReports
from coalition.application.device_charges import DeviceChargeService
from coalition.application.gift_card_admin import GiftCardAdmin
from coalition.application.outbox_cleanup import OutboxCleanup
from coalition.application.period_close import PeriodClose
from coalition.application.points_expiring import PointsExpiringMessages
from coalition.application.pos import PosService
from coalition.application.scheduler import JobFunction
from coalition.domain.schedules import (
    BIRTHDAYS,
    CAMPAIGNS,
    DAILY_REPORTS,
    EXPIRE,
    OUTBOX_CLEANUP,
    PERIOD_CLOSE,
    POINTS_EXPIRING,
)

MAIL_OFF = "e-mail is off on this server: set COALITION_SMTP_HOST"


async def expire_all(
    pos: PosService, audit: AuditLog, gift_cards: GiftCardAdmin, device_charges: DeviceChargeService, network_id: int
) -> dict[str, Any]:
    """What `POST /v1/admin/jobs/expire` does, in its order and with its audit entries."""
    points = await pos.expire_points(network_id)
    result = {"points": points, "gifts": await pos.expire_gifts(network_id)}
    await audit.record(entry(network_id, "job.expire", "network", network_id, after=result))
    cards = await gift_cards.expire(network_id)  # audited as job.expire_gift_cards
    return result | {"gift_cards": cards, "device_holds": await device_charges.expire_holds(network_id)}


def job_functions(
    pos: PosService,
    audit: AuditLog,
    gift_cards: GiftCardAdmin,
    device_charges: DeviceChargeService,
    birthdays: BirthdayBonuses,
    period_close: PeriodClose,
    daily_reports: DailyReports,
    outbox_cleanup: OutboxCleanup,
    points_expiring: PointsExpiringMessages | None = None,
    campaigns: Campaigns | None = None,
) -> Mapping[str, JobFunction]:
    async def reports(network_id: int, day: date | None) -> dict[str, Any]:
        return await daily_reports.send(network_id, day)

    async def expire(network_id: int, _day: date | None) -> dict[str, Any]:
        return await expire_all(pos, audit, gift_cards, device_charges, network_id)

    async def bonuses(network_id: int, day: date | None) -> dict[str, Any]:
        return await birthdays.grant(network_id, day)

    async def close(network_id: int, month: date | None) -> dict[str, Any]:
        return await period_close.run(network_id, None if month is None else month.strftime("%Y-%m"))

    async def cleanup(network_id: int, _day: date | None) -> dict[str, Any]:
        return await outbox_cleanup.run(network_id)

    jobs: dict[str, JobFunction] = {
        DAILY_REPORTS: reports,
        EXPIRE: expire,
        BIRTHDAYS: bonuses,
        PERIOD_CLOSE: close,
        OUTBOX_CLEANUP: cleanup,
    }
    if points_expiring is not None:
        expiring = points_expiring

        async def warn(network_id: int, day: date | None) -> dict[str, Any]:
            return await expiring.run(network_id, day)

        jobs[POINTS_EXPIRING] = warn
    if campaigns is not None:
        sender = campaigns

        async def send(network_id: int, _day: date | None) -> dict[str, Any]:
            return await sender.send_due(network_id)

        jobs[CAMPAIGNS] = send
    return jobs
