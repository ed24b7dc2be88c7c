"""The composition root: builds the engine, the stores and the services from settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from coalition.adapters.documents.pdf import statement_pdf
from coalition.adapters.http.gift_card_answers import gift_card_answer_json
from coalition.adapters.http.pos_answers import answer_json
from coalition.adapters.import_processes import ProcessLanes
from coalition.adapters.mail.daily_report import write_daily_report
from coalition.adapters.mail.smtp import SmtpMailer
from coalition.adapters.messaging.setup import message_gateways
from coalition.adapters.storage.admin_idempotency_store import SqlAdminIdempotencyStore
from coalition.adapters.storage.admin_store import SqlAdminStore
from coalition.adapters.storage.audit_store import SqlAuditStore
from coalition.adapters.storage.campaign_store import SqlCampaignStore
from coalition.adapters.storage.catalogue_store import SqlCatalogueStore
from coalition.adapters.storage.device_store import SqlDeviceStore
from coalition.adapters.storage.edit_locks import AdvisoryEditLocks, edit_locks_for
from coalition.adapters.storage.engine import create_engine
from coalition.adapters.storage.exports_store import SqlExportsStore
from coalition.adapters.storage.gift_card_reports_store import SqlGiftCardReportsStore
from coalition.adapters.storage.key_store import SqlKeyStore
from coalition.adapters.storage.limits_store import SqlLimitsStore
from coalition.adapters.storage.member_gift_card_store import SqlMemberGiftCardsStore
from coalition.adapters.storage.member_list_store import SqlMemberListStore
from coalition.adapters.storage.member_store import SqlMemberPageStore
from coalition.adapters.storage.message_settings_store import SqlMessageSettingsStore
from coalition.adapters.storage.message_store import SqlMessageStore
from coalition.adapters.storage.network_list_store import SqlNetworkListStore
from coalition.adapters.storage.operator_store import SqlOperatorStore
from coalition.adapters.storage.outbox_store import SqlOutboxCleanupStore, SqlOutboxStore, SqlWebhookStore
from coalition.adapters.storage.points_expiring_store import SqlPointsExpiringStore
from coalition.adapters.storage.program_reports_store import SqlProgramReportsStore
from coalition.adapters.storage.reports_store import SqlDailyReportsStore, SqlReportsStore
from coalition.adapters.storage.rules_store import SqlRulesStore
from coalition.adapters.storage.schedule_store import SqlScheduleStore
from coalition.adapters.storage.self_signup_store import SqlSelfSignupStore
from coalition.adapters.storage.settlement_store import SqlSettlementStore
from coalition.adapters.storage.sql_store import SqlStore
from coalition.adapters.storage.transaction_list_store import SqlTransactionListStore
from coalition.adapters.storage.wallet_reports_store import SqlWalletReportsStore
from coalition.adapters.storage.web_store import SqlWebSessionStore
from coalition.adapters.storage.web_terminal_store import SqlWebTerminalStore
from coalition.adapters.web.anomaly_words import anomaly_sentence
from coalition.application.admin import AdminService
from coalition.application.admin_idempotency import AdminIdempotency
from coalition.application.audit import AuditLog
from coalition.application.birthdays import BirthdayBonuses
from coalition.application.breakage import BreakageService
from coalition.application.cache import ACCESS_CHANGES
from coalition.application.campaigns import Campaigns
from coalition.application.catalogue import Catalogue
from coalition.application.catalogue_import import CatalogueImport
from coalition.application.coupons import CouponService
from coalition.application.customer_messages import CustomerMessages, OutboxEvents
from coalition.application.daily_reports import DailyReports
from coalition.application.device_access import DeviceGate
from coalition.application.device_charges import DeviceChargeService
from coalition.application.device_offline import OfflineUseService
from coalition.application.device_points import DevicePointsCharges
from coalition.application.device_status import DeviceStatus
from coalition.application.devices import DeviceUseService
from coalition.application.devices_admin import DeviceAdmin
from coalition.application.edit_locks import EditLocks
from coalition.application.exports import ExportsService
from coalition.application.file_exchange.table import FileLimits
from coalition.application.gift_card_admin import GiftCardAdmin
from coalition.application.gift_card_reports import GiftCardReports
from coalition.application.gifts import GiftService
from coalition.application.keys import KeyService
from coalition.application.limits import LimitsService
from coalition.application.member_export import MemberExport
from coalition.application.member_gift_cards import MemberGiftCards
from coalition.application.member_import import MemberImport
from coalition.application.member_list import MemberList
from coalition.application.member_lookups import MemberLookups
from coalition.application.member_page import MemberPage
from coalition.application.message_delivery import MessageDeliverer
from coalition.application.message_templates import MessageTemplates
from coalition.application.network_lists import NetworkLists
from coalition.application.occurred_at import OccurredAtWindow
from coalition.application.operator import OperatorService
from coalition.application.outbox import Deliverer, OutboxService
from coalition.application.outbox_cleanup import OutboxCleanup
from coalition.application.period_close import PeriodClose
from coalition.application.permissions import PermissionsService
from coalition.application.points_expiring import PointsExpiringMessages
from coalition.application.ports import Clock
from coalition.application.pos import PosService
from coalition.application.program_reports import ProgramReports
from coalition.application.rate_limits import parse_rate
from coalition.application.registration import Registration
from coalition.application.report_tables import ReportTables
from coalition.application.reports import ReportsService
from coalition.application.rules import RulesService
from coalition.application.sales_import import SalesImport
from coalition.application.scheduled_jobs import MAIL_OFF, job_functions
from coalition.application.scheduler import Scheduler
from coalition.application.self_signup import SelfSignup
from coalition.application.settlement import Mailer, SettlementService
from coalition.application.transaction_list import TransactionList
from coalition.application.unsubscribe import Unsubscribes
from coalition.application.visits import VisitService
from coalition.application.wallet_reports import WalletReports
from coalition.application.web_sessions import WebSessions
from coalition.application.web_terminal import WebTerminal
from coalition.application.webhooks import HttpPoster, Listeners, WebhookAdmin, WebhookDeliverer
from coalition.domain.message_settings import MessageDefaults
from coalition.domain.messages import parse_quiet_hours
from coalition.settings import Settings


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    store: SqlStore
    pos: PosService
    admin: AdminService
    keys: KeyService
    rules: RulesService
    coupons: CouponService
    settlement: SettlementService
    gifts: GiftService
    permissions: PermissionsService
    birthdays: BirthdayBonuses
    visits: VisitService
    period_close: PeriodClose
    breakage: BreakageService
    web_sessions: WebSessions
    reports: ReportsService
    daily_reports: DailyReports
    registration: Registration
    self_signup: SelfSignup
    devices: DeviceUseService
    device_charges: DeviceChargeService  # issue 15: devices charge the card (holds, captures, sessions)
    device_offline: OfflineUseService  # issue 15: the uses a device sold offline, uploaded later
    device_points: DevicePointsCharges  # issue 15: a device's use paid with points, as a purchase
    device_gate: DeviceGate  # issue 15: what a device's key may do on the till's routes, and its MQTT topic
    member_page: MemberPage
    member_gift_cards: MemberGiftCards  # issue 14: the gift cards a member keeps on /me
    web_terminal: WebTerminal
    member_lookups: MemberLookups  # sign-in-limits: a till's lookups, budgeted in memory
    audit: AuditLog
    limits: LimitsService  # input-hygiene: the network's limits on one purchase
    operator: OperatorService  # issue 18: plans, trials, suspension (the server's operator)
    gift_cards: GiftCardAdmin  # issue 14: gift cards sold at tills, issued by the administrator, expired
    wallet_reports: WalletReports  # issue 14: the members' wallets summed (liability)
    gift_card_reports: GiftCardReports  # issue 14: the console's gift cards and their liability
    program_reports: ProgramReports  # issue 18: attendance, customers, effectiveness, the threshold helper
    report_tables: ReportTables  # issue 17: transactions, balances, statements and every report as CSV/XLSX
    device_admin: DeviceAdmin  # issue 15: devices registered, listed, changed, revoked
    device_status: DeviceStatus  # issue 15: a device's configuration and heartbeat
    clock: Clock  # issue 16: the time every service reads (a test sets it)
    scheduler: Scheduler  # issue 16: scheduled jobs, each period once (docs/scheduler.md)
    webhooks: WebhookAdmin  # issue 16: the administrator's webhook subscriptions
    webhook_events: OutboxEvents  # issue 16: events queued in the outbox for webhooks and customer messages
    webhook_store: SqlWebhookStore
    outbox_store: SqlOutboxStore
    mailer: Mailer | None

    def outbox(self, poster: HttpPoster) -> OutboxService:
        """The outbox's delivery service over `poster` (adapters/jobs/outbox_loop.py gives httpx)."""
        deliverer = WebhookDeliverer(
            self.webhook_store.unit_of_work,
            poster,
            self.clock,
            self.webhook_events.listeners,
            self.mailer,
            self._contacts,
        )
        deliverers: dict[str, Deliverer] = {"webhook": deliverer}
        for channel, gateway in message_gateways(self.settings).items():
            deliverers[channel.value] = MessageDeliverer(
                channel,
                gateway,
                self.message_store,
                self.message_templates,
                self.unsubscribes,
                self.customer_messages,
                self.clock,
            )
        return OutboxService(
            self.outbox_store, self.clock, deliverers, lease_seconds=self.settings.outbox_lease_seconds
        )

    async def _contacts(self, network_id: int) -> list[str]:
        """Whom to tell of a paused webhook without a contact of its own: the network's first partner's address."""
        with_address = [r for r in await self.daily_reports.recipients(network_id) if r.address]
        return [str(min(with_address, key=lambda r: r.partner_id).address)] if with_address else []

    message_templates: MessageTemplates  # issue 16: customer messages' texts (docs/messages.md)
    member_import: MemberImport  # issue 17: members from a CSV or XLSX file (docs/files.md)
    member_export: MemberExport  # issue 17: members as the same file
    catalogue_import: CatalogueImport  # issue 17: a partner's products and categories from a file (docs/files.md)
    catalogue: Catalogue  # issue 17: a partner's products and categories listed and exported
    sales_import: SalesImport  # issue 17: purchases and refunds made elsewhere, from a file (docs/files.md)
    unsubscribes: Unsubscribes  # issue 16: the signed unsubscribe links of customer messages
    customer_messages: CustomerMessages  # issue 16: the networks' message settings, messages queued from events
    message_store: SqlMessageStore
    admin_idempotency: AdminIdempotency  # issue 17: the admin writes' Idempotency-Key (adapters/http/conventions.py)
    transactions: TransactionList  # issue 17: the ledger's transactions in pages, filtered (GET /v1/admin/transactions)
    members: MemberList  # issue 17: the network's members in pages, filtered (GET /v1/admin/members)
    network_lists: NetworkLists  # issue 17: partners, outlets, terminals, cashiers in pages (GET /v1/admin/partners…)
    campaigns: Campaigns  # issue 16: the administrator's messages to a segment (docs/messages.md "Campaigns")
    points_expiring: PointsExpiringMessages  # issue 16: the daily points_expiring messages
    edit_locks: EditLocks  # issue 17: an If-Match edit's lock across processes (adapters/http/conventions.py)
    edit_lock_pool: AdvisoryEditLocks | None  # PostgreSQL: the advisory locks' own connections, closed with the rest

    async def close(self) -> None:
        await self.store.close()
        if self.edit_lock_pool is not None:
            await self.edit_lock_pool.close()
        await self.engine.dispose()


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    engine = create_engine(settings.database_url)
    clock = clock or SystemClock()
    store = SqlStore(engine, settings.database_url)
    rules = RulesService(SqlRulesStore(engine).unit_of_work, clock, published=lambda: pos.forget_rule_sets())
    window = OccurredAtWindow(settings.occurred_at_max_age_hours, settings.occurred_at_max_ahead_minutes)
    pos = PosService(
        store.unit_of_work,
        clock,
        rules_in_force=rules.in_force_for,
        occurred_at_window=window,
        rules_at=rules.in_force_at,
        answer_json=answer_json,
    )
    admin_store = SqlAdminStore(engine, clock)
    admin = AdminService(admin_store.unit_of_work, clock)

    def terminal_keys_changed() -> None:
        ACCESS_CHANGES.moved()  # every worker drops the keys it cached, as after a revoke
        pos.forget_terminal_keys()

    keys = KeyService(SqlKeyStore(engine).unit_of_work, clock, terminal_keys_changed)
    coupons = CouponService(store.unit_of_work, clock)
    mailer = SmtpMailer(settings.smtp_host, settings.smtp_port, settings.mail_from) if settings.smtp_host else None
    settlement = SettlementService(SqlSettlementStore(engine), clock, mailer, statement_pdf)
    gifts = GiftService(store.unit_of_work, clock)
    permissions = PermissionsService(pos)
    quiet = parse_quiet_hours(settings.message_quiet_hours)
    defaults = MessageDefaults(None if quiet[0] == quiet[1] else quiet, settings.message_cap_per_day)
    customer_messages = CustomerMessages(SqlMessageSettingsStore(engine), clock, defaults)
    message_store = SqlMessageStore(engine)
    birthdays = BirthdayBonuses(pos, customer_messages)
    campaigns = Campaigns(SqlCampaignStore(engine), customer_messages, message_store, clock)
    points_expiring = PointsExpiringMessages(
        SqlPointsExpiringStore(engine), customer_messages, customer_messages, clock
    )
    visits = VisitService(pos)
    period_close = PeriodClose(pos)
    breakage = BreakageService(pos)
    web_sessions = WebSessions(SqlWebSessionStore(engine).unit_of_work, clock)
    reports = ReportsService(SqlReportsStore(engine).unit_of_work, clock)
    daily_reports = DailyReports(
        SqlDailyReportsStore(engine).unit_of_work, reports, clock, mailer, write_daily_report, anomaly_sentence
    )
    member_page = MemberPage(SqlMemberPageStore(engine).unit_of_work, store.unit_of_work, web_sessions, clock, mailer)
    web_terminal = WebTerminal(SqlWebTerminalStore(engine).unit_of_work, clock)
    gift_cards = GiftCardAdmin(
        store.unit_of_work,
        pos,
        clock,
        gift_card_answer_json,
        misses=parse_rate(settings.member_lookup_misses, "COALITION_MEMBER_LOOKUP_MISSES"),
    )
    pos.gift_cards = gift_cards  # a purchase's gift-card tenders read their cards through it
    device_uses = DeviceUseService(pos)
    device_store = SqlDeviceStore(engine, clock)
    catalogue_store = SqlCatalogueStore(engine, clock)
    device_charges = DeviceChargeService(pos, device_uses)
    audit = AuditLog(SqlAuditStore(engine))
    admin_idempotency = AdminIdempotency(SqlAdminIdempotencyStore(engine), clock)
    edit_locks, edit_lock_pool = edit_locks_for(settings.database_url)
    cleanup = OutboxCleanup(
        SqlOutboxCleanupStore(engine), clock, settings.outbox_retention_days, idempotency=admin_idempotency
    )
    jobs = job_functions(
        pos,
        audit,
        gift_cards,
        device_charges,
        birthdays,
        period_close,
        daily_reports,
        cleanup,
        points_expiring,
        campaigns,
    )
    scheduler = Scheduler(SqlScheduleStore(engine), clock, jobs, blocked={} if mailer else {"daily_reports": MAIL_OFF})
    webhook_store = SqlWebhookStore(engine)
    listeners = Listeners(webhook_store.unit_of_work)
    webhook_events = OutboxEvents(listeners, customer_messages)
    pos.webhook_events = webhook_events  # the POS commands queue their events (and messages) in their transactions
    wallet_reports = WalletReports(SqlWalletReportsStore(engine).unit_of_work)
    gift_card_reports = GiftCardReports(SqlGiftCardReportsStore(engine).unit_of_work)
    exports = ExportsService(SqlExportsStore(engine).unit_of_work)
    program_reports = ProgramReports(SqlProgramReportsStore(engine).unit_of_work)
    report_tables = ReportTables(
        exports, reports, daily_reports, wallet_reports, gift_card_reports, settlement, clock, program_reports
    )
    return Services(
        settings=settings,
        engine=engine,
        store=store,
        pos=pos,
        admin=admin,
        keys=keys,
        rules=rules,
        coupons=coupons,
        settlement=settlement,
        gifts=gifts,
        permissions=permissions,
        birthdays=birthdays,
        visits=visits,
        period_close=period_close,
        breakage=breakage,
        web_sessions=web_sessions,
        reports=reports,
        daily_reports=daily_reports,
        registration=Registration(admin_store.unit_of_work, clock),
        self_signup=SelfSignup(SqlSelfSignupStore(engine).unit_of_work, pos, clock),
        devices=device_uses,
        device_charges=device_charges,
        device_offline=OfflineUseService(pos, device_uses, device_charges, rules.in_force_at),
        device_points=DevicePointsCharges(device_charges, pos.purchases),
        device_gate=DeviceGate(pos.unit_of_work, clock),
        member_page=member_page,
        member_gift_cards=MemberGiftCards(SqlMemberGiftCardsStore(engine).unit_of_work, gift_cards, clock),
        web_terminal=web_terminal,
        wallet_reports=wallet_reports,
        gift_card_reports=gift_card_reports,
        program_reports=program_reports,
        report_tables=report_tables,
        member_lookups=MemberLookups(
            pos,
            parse_rate(settings.member_lookups, "COALITION_MEMBER_LOOKUPS"),
            parse_rate(settings.member_lookup_misses, "COALITION_MEMBER_LOOKUP_MISSES"),
        ),
        audit=audit,
        limits=LimitsService(SqlLimitsStore(engine), pos),
        operator=OperatorService(SqlOperatorStore(engine), clock, pos),
        gift_cards=gift_cards,
        device_admin=DeviceAdmin(device_store.unit_of_work, clock),
        device_status=DeviceStatus(device_store, clock),
        clock=clock,
        scheduler=scheduler,
        webhooks=WebhookAdmin(
            webhook_store.unit_of_work, clock, listeners, allow_private=settings.webhooks_allow_private
        ),
        webhook_events=webhook_events,
        webhook_store=webhook_store,
        outbox_store=SqlOutboxStore(engine),
        mailer=mailer,
        message_templates=MessageTemplates(message_store, clock),
        admin_idempotency=admin_idempotency,
        transactions=TransactionList(SqlTransactionListStore(engine)),
        members=MemberList(SqlMemberListStore(engine)),
        network_lists=NetworkLists(SqlNetworkListStore(engine, clock)),
        unsubscribes=Unsubscribes(message_store, clock, settings.public_url, settings.message_secret),
        customer_messages=customer_messages,
        message_store=message_store,
        member_import=MemberImport(store.unit_of_work, clock, FileLimits(max_bytes=settings.import_max_bytes)),
        member_export=MemberExport(store.unit_of_work),
        catalogue_import=CatalogueImport(
            catalogue_store.unit_of_work, clock, FileLimits(max_bytes=settings.import_max_bytes)
        ),
        catalogue=Catalogue(catalogue_store.unit_of_work),
        sales_import=SalesImport(
            store.unit_of_work,
            pos,
            clock,
            FileLimits(max_bytes=settings.import_max_bytes),
            store,  # all or nothing: an import's lane in one held transaction
            ProcessLanes.for_settings(settings, clock, build_services),  # PostgreSQL: large files' lanes in processes
        ),
        campaigns=campaigns,
        points_expiring=points_expiring,
        edit_locks=edit_locks,
        edit_lock_pool=edit_lock_pool,
    )
