"""The owner's daily report by e-mail (the brief's control against a dishonest seller): after closing, each partner
with an address gets its day — the revenue that went through the system, per outlet and per cashier, and the list
of every purchase and refund — to set against the cash in hand, in the partner's language (the wording is the
adapter's: adapters/mail/daily_report.py), with the list as CSV.

Run once a day after the outlets close (cron: `coalition reports daily NETWORK`, or
`POST /v1/admin/jobs/daily-reports`). A partner is sent a day's report once: a re-run sends only what is missing,
unless asked to send again.

The report also says what is worth a look (domain/anomalies.py): flags worked out from the partner's day at each
outlet's own calendar day, in the e-mail's text and, on a day with any, as a second CSV (anomalies-<day>.csv); the
console's Reports page shows the same for a day.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from coalition.application.audit import AuditTrail, entry
from coalition.application.csv_text import csv_text
from coalition.application.devices_admin import DeviceRecord
from coalition.application.ports import Clock
from coalition.application.reports import Report, ReportsService, local_midnight
from coalition.application.settlement import Attachment, Mailer, OutgoingMail
from coalition.domain.anomalies import Anomaly, AnomalyKind, DayFacts, find_anomalies
from coalition.domain.devices import is_online
from coalition.domain.errors import Conflict, InvalidInput, NotFound
from coalition.domain.money import format_minor


@dataclass(frozen=True, slots=True)
class DayTransaction:
    """A purchase, or a refund of one, at one of the partner's outlets."""

    recorded_at: datetime  # when the server recorded it: the day it counts in and the time shown
    outlet_name: str
    cashier_login: str | None
    kind: str  # "purchase" | "refund" | "top_up" | "gift_card_sale"
    receipt: str  # a top-up or a card sale: its ledger transaction's number
    check_minor: int  # a purchase's check; a refund's share of it; a top-up or a card sale: 0
    # paid at the till (not from a wallet or a gift card); a refund: money given back at the till; a top-up or a card
    # sale: taken at the till
    money_minor: int
    points_earned: int  # a refund: points taken back
    points_spent: int  # a refund: points given back
    till_time: datetime | None = None  # the till's own time of a purchase (occurred_at), where it differs
    wallet_minor: int = 0  # a purchase: paid from the member's wallet; a refund: put back into it
    gift_card_minor: int = 0  # a purchase: paid by gift cards; a refund: put back onto them


def till_time(occurred_at: datetime | None, recorded_at: datetime | None) -> datetime | None:
    """The till's time of a sale when it tells something: at least a minute (what a report shows) from the server's.
    A till may send occurred_at (an offline upload), but a report counts the sale when the server recorded it, so a
    till cannot move a sale out of the day (issue 12, hole 5); its own time is shown beside."""
    if occurred_at is None or recorded_at is None or abs(occurred_at - recorded_at) < timedelta(minutes=1):
        return None
    return occurred_at


@dataclass(frozen=True, slots=True)
class ReportRecipient:
    partner_id: int
    name: str
    address: str | None
    language: str = "en"  # what its e-mails are written in


@dataclass(frozen=True, slots=True)
class SilentDevice:
    """A device of the partner with no heartbeat for longer than its silence time when the report is written."""

    name: str
    silent_after_seconds: int
    last_heartbeat_at: datetime | None  # at its outlet's clock; None: it never sent one
    last_error: str | None


def silent_devices(devices: Sequence[DeviceRecord], now: datetime) -> tuple[SilentDevice, ...]:
    """The active devices silent at `now` (deactivated ones are not expected to call)."""
    return tuple(
        SilentDevice(
            device.name,
            device.limits.silent_after_seconds,
            None
            if device.last_heartbeat_at is None
            else device.last_heartbeat_at.astimezone(ZoneInfo(device.timezone)),
            device.last_error,
        )
        for device in devices
        if device.active and not is_online(device.last_heartbeat_at, device.limits.silent_after_seconds, now)
    )


@dataclass(frozen=True, slots=True)
class DailyReportContent:
    """What a partner's day's report says; the adapter that writes it words it in `language`."""

    partner: str
    day: date
    report: Report
    rows: tuple[DayTransaction, ...]  # at each outlet's own clock, in time order
    currency: str
    language: str
    silent_devices: tuple[SilentDevice, ...] = ()  # an alert: the partner's machines that stopped calling
    anomalies: tuple[Anomaly, ...] = ()  # what looks wrong in the day: "Worth a look"


ReportWriter = Callable[[DailyReportContent], tuple[str, str]]  # → (subject, plain text)
# a flag's sentence in a language: (flag, currency, language) → text; the adapter that writes the e-mail words it
AnomalyWriter = Callable[[Anomaly, str, str], str]


def english_sentence(flag: Anomaly, currency: str, language: str) -> str:
    return flag.sentence(currency)


class DailyReportsUnitOfWork(AuditTrail, Protocol):
    async def currency(self, network_id: int) -> str: ...
    async def recipients(self, network_id: int) -> list[ReportRecipient]: ...
    async def outlet_zones(self, network_id: int, partner_id: int | None) -> dict[int, str]: ...
    async def anomaly_facts(
        self, network_id: int, outlet_ids: Sequence[int], start: datetime, end: datetime
    ) -> DayFacts: ...
    async def day_transactions(
        self, network_id: int, outlet_ids: Sequence[int], start: datetime, end: datetime
    ) -> list[DayTransaction]: ...
    async def sent_partners(self, network_id: int, day: date) -> set[int]: ...
    async def partner_devices(self, network_id: int, partner_id: int) -> list[DeviceRecord]: ...
    async def record_sent(self, partner_id: int, day: date, address: str, now: datetime) -> None: ...


class DailyReportsUnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[DailyReportsUnitOfWork]: ...


class DailyReports:
    def __init__(
        self,
        unit_of_work: DailyReportsUnitOfWorkFactory,
        reports: ReportsService,
        clock: Clock,
        mailer: Mailer | None,
        write: ReportWriter,
        explain: AnomalyWriter = english_sentence,
    ) -> None:
        self.unit_of_work = unit_of_work
        self.reports = reports
        self.clock = clock
        self.mailer = mailer
        self.write = write
        self.explain = explain

    async def anomalies(self, network_id: int, partner_id: int | None, day: date) -> tuple[Anomaly, ...]:
        """What looks wrong on `day` at the partner's outlets (None: all the network's), each outlet's day at its
        own clock."""
        async with self.unit_of_work() as uow:
            return await _day_anomalies(uow, network_id, partner_id, day)

    async def day_rows(
        self, network_id: int, partner_id: int | None, day: date, outlet_id: int | None = None
    ) -> list[DayTransaction]:
        """The day's purchases, refunds, top-ups and card sales at the partner's outlets (None: the network's; or the
        one outlet), as the e-mail lists them: each at its outlet's own clock, in time order (the exports'
        `day-transactions`)."""
        async with self.unit_of_work() as uow:
            zones = await uow.outlet_zones(network_id, partner_id)
            chosen = {key: zone for key, zone in zones.items() if outlet_id in (None, key)}
            return await _day_rows(uow, network_id, chosen, day)

    async def recipients(self, network_id: int) -> list[ReportRecipient]:
        """The network's partners and where their reports go (None: nowhere yet)."""
        async with self.unit_of_work() as uow:
            return await uow.recipients(network_id)

    async def send(
        self, network_id: int, day: date | None = None, *, again: bool = False, partner_id: int | None = None
    ) -> dict[str, Any]:
        """E-mail each partner with an address (or only `partner_id`) its report of `day` (by default yesterday where
        the outlets are); a partner sent that day's report before is skipped unless `again`."""
        if self.mailer is None:
            raise Conflict("e-mail is off: set COALITION_SMTP_HOST", field="smtp")
        today = await self.reports.today(network_id, None)
        chosen = day or today - timedelta(days=1)
        if chosen > today:
            raise InvalidInput(f"{chosen.isoformat()} has not come yet; a day's report is sent after it", field="day")
        async with self.unit_of_work() as uow:
            recipients = await uow.recipients(network_id)
            sent_before = await uow.sent_partners(network_id, chosen)
        if partner_id is not None:
            recipients = [recipient for recipient in recipients if recipient.partner_id == partner_id]
            if not recipients:
                raise NotFound(f"no partner {partner_id} in this network", field="partner")
        sent, already, without_address = [], [], []
        for recipient in recipients:
            if recipient.address is None:
                without_address.append(recipient.name)
            elif recipient.partner_id in sent_before and not again:
                already.append(recipient.name)
            else:
                await self._send_one(network_id, recipient, recipient.address, chosen)
                sent.append(recipient.name)
        result = {"day": chosen.isoformat(), "sent": sent, "sent_before": already, "without_address": without_address}
        async with self.unit_of_work() as uow:  # after the e-mails, which no transaction can take back
            await uow.audit(
                entry(network_id, "job.daily_reports", "network", network_id, after=result, partner_id=partner_id)
            )
        return result

    async def _send_one(self, network_id: int, recipient: ReportRecipient, address: str, day: date) -> None:
        report = await self.reports.report(network_id, recipient.partner_id, day, day)
        async with self.unit_of_work() as uow:
            currency = await uow.currency(network_id)
            zones = await uow.outlet_zones(network_id, recipient.partner_id)
            rows = await _day_rows(uow, network_id, zones, day)
            silent = silent_devices(await uow.partner_devices(network_id, recipient.partner_id), self.clock.now())
            flags = await _day_anomalies(uow, network_id, recipient.partner_id, day, zones)
        content = DailyReportContent(
            recipient.name, day, report, tuple(rows), currency, recipient.language, silent, flags
        )
        subject, text = self.write(content)
        attachments = [Attachment(f"report-{day.isoformat()}.csv", "text/csv", transactions_csv(rows, currency))]
        if flags:  # a day with nothing worth a look has one attachment, as before
            sentences = [self.explain(flag, currency, recipient.language) for flag in flags]
            attachments.append(
                Attachment(
                    f"anomalies-{day.isoformat()}.csv", "text/csv; charset=utf-8", anomalies_csv(flags, sentences)
                )
            )
        mail = OutgoingMail(to=address, subject=subject, text=text, attachments=tuple(attachments))
        if self.mailer is None:  # checked in send(); kept for the type checker
            raise Conflict("e-mail is off: set COALITION_SMTP_HOST", field="smtp")
        try:
            await self.mailer.send(mail)
        except OSError as error:
            raise Conflict(f"the report to {address} could not be sent: {error}", field="smtp") from None
        async with self.unit_of_work() as uow:
            await uow.record_sent(recipient.partner_id, day, address, self.clock.now())


async def _day_rows(
    uow: DailyReportsUnitOfWork, network_id: int, zones: dict[int, str], day: date
) -> list[DayTransaction]:
    rows: list[DayTransaction] = []
    for zone in sorted(set(zones.values())):
        ids = [outlet_id for outlet_id, outlet_zone in zones.items() if outlet_zone == zone]
        start, end = local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)
        found = await uow.day_transactions(network_id, ids, start, end)
        rows.extend(_at_zone(row, ZoneInfo(zone)) for row in found)  # at its outlet's own clock, as the cashier saw
    rows.sort(key=lambda row: (row.recorded_at, row.outlet_name, row.receipt))
    return rows


async def _day_anomalies(
    uow: DailyReportsUnitOfWork,
    network_id: int,
    partner_id: int | None,
    day: date,
    zones: dict[int, str] | None = None,
) -> tuple[Anomaly, ...]:
    """The flags of `day` at the partner's outlets, read per time zone (each outlet's day at its own clock)."""
    if zones is None:
        zones = await uow.outlet_zones(network_id, partner_id)
    flags: list[Anomaly] = []
    for zone in sorted(set(zones.values())):
        ids = [outlet_id for outlet_id, outlet_zone in zones.items() if outlet_zone == zone]
        start, end = local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)
        flags.extend(find_anomalies(await uow.anomaly_facts(network_id, ids, start, end)))
    kinds = list(AnomalyKind)  # the zones' flags merged: each kind together, in the domain's order
    return tuple(sorted(flags, key=lambda flag: (kinds.index(flag.kind), flag.outlet, flag.sort_key)))


def anomalies_csv(flags: Sequence[Anomaly], sentences: Sequence[str]) -> bytes:
    """One row per flag: its kind (a stable code), outlet, the sentence and its transactions (space-separated: the
    receipts, or a device's ledger transaction numbers, as the day's list shows them)."""
    header = ["kind", "outlet", "explanation", "transactions"]
    lines = [
        [flag.kind.value, flag.outlet, sentence, " ".join(flag.transactions)]
        for flag, sentence in zip(flags, sentences, strict=True)
    ]
    return csv_text([header, *lines]).encode()


def _at_zone(row: DayTransaction, zone: ZoneInfo) -> DayTransaction:
    till = row.till_time.astimezone(zone) if row.till_time is not None else None
    return replace(row, recorded_at=row.recorded_at.astimezone(zone), till_time=till)


def transactions_csv(rows: Sequence[DayTransaction], currency: str) -> bytes:
    # money: at the till; wallet, gift_card: from (a refund: back into) the member's wallet, the gift cards (issue 14)
    header = [
        "time",
        "kind",
        "outlet",
        "receipt",
        "cashier",
        "check",
        "money",
        "wallet",
        "points_earned",
        "points_spent",
    ]
    lines = [
        [
            row.recorded_at.isoformat(),
            row.kind,
            row.outlet_name,
            row.receipt,
            row.cashier_login or "",
            format_minor(row.check_minor, currency),
            format_minor(row.money_minor, currency),
            format_minor(row.wallet_minor, currency),
            row.points_earned,
            row.points_spent,
            format_minor(row.gift_card_minor, currency),
            row.till_time.isoformat() if row.till_time is not None else "",
        ]
        for row in rows
    ]
    return csv_text([[*header, "gift_card", "till_time"], *lines]).encode()
