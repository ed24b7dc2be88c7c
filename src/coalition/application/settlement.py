"""Closing a settlement period and reading its statement and transfer plans (issue 4).

A period covers the ledger transactions *recorded* in it: a purchase an offline till uploads late lands in the open
period, with its original time shown in the partner's lines. Periods follow one another without gaps. Before it
reads, a close waits until every write already under way has committed (the store's `wait_for_writers`) and refuses
an end later than `CLOSE_DELAY` ago, so no purchase of the period can still be on its way.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from coalition.application.audit import AuditTrail, entry
from coalition.application.csv_text import csv_text
from coalition.application.ports import Clock
from coalition.application.statement_views import MONEY_COLUMNS, statement_view, statement_view_csv_rows
from coalition.domain.errors import Conflict, InvalidInput, NotFound
from coalition.domain.money import format_minor, parse_amount_minor
from coalition.domain.rules.parsing import format_percent, parse_percent_bp
from coalition.domain.settlement import (
    MONEY_FIELDS,
    FeeSchedule,
    Flows,
    MoneyFlows,
    NodeHoldings,
    Party,
    Statement,
    Transfer,
    fewest_transfers,
    require_period,
    statement_of,
    through_node,
)

CLOSE_DELAY = timedelta(seconds=5)


@dataclass(frozen=True, slots=True)
class PartnerEntry:
    """One obligation posting of a partner, for the line-by-line statement a partner checks against its own books."""

    tx_id: int
    kind: str
    outlet: str | None
    occurred_at: datetime
    recorded_at: datetime
    amount_minor: int  # positive: the node owes the partner more
    part: str = "points"  # "points" (points and gifts: obligations) or "money" (prepaid money)


@dataclass(frozen=True, slots=True)
class PartnerStatement:
    """A partner's own part of a statement: its fees and net, and its entries of the period, in minor units."""

    number: int
    partner_id: int
    partner_name: str
    period_start: datetime
    period_end: datetime
    fees_minor: int
    net_minor: int
    currency: str
    entries: tuple[PartnerEntry, ...]

    def json(self) -> dict[str, Any]:
        currency = self.currency
        return {
            "statement": self.number,
            "partner": {"id": self.partner_id, "name": self.partner_name},
            "period": {"start": self.period_start.isoformat(), "end": self.period_end.isoformat()},
            "fees": format_minor(self.fees_minor, currency),
            "net": format_minor(self.net_minor, currency),
            "currency": currency,
            "entries": [_entry_json(entry, currency) for entry in self.entries],
        }


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    to: str
    subject: str
    text: str
    attachments: tuple[Attachment, ...] = ()


class Mailer(Protocol):
    async def send(self, mail: OutgoingMail) -> None: ...


class SettlementUnitOfWork(AuditTrail, Protocol):
    async def network_currency(self, network_id: int) -> str: ...
    async def fee_schedule(self, network_id: int) -> FeeSchedule: ...
    async def set_fee_schedule(self, network_id: int, fees: FeeSchedule) -> None: ...
    async def network_created_at(self, network_id: int) -> datetime: ...
    async def last_statement(self, network_id: int) -> tuple[int, datetime] | None:
        """The number and end of the network's latest statement."""
        ...

    async def partners(self, network_id: int) -> list[Party]: ...
    async def partner_emails(self, network_id: int) -> dict[int, str]:
        """The e-mail address of each partner that has one."""
        ...

    async def period_tx_range(self, network_id: int, start: datetime, end: datetime) -> tuple[int, int] | None:
        """The lowest and highest id of the ledger transactions recorded in the period (None: there are none)."""
        ...

    async def partner_flows(
        self, network_id: int, partner_id: int, start: datetime, end: datetime, tx_range: tuple[int, int]
    ) -> Flows:
        """The partner's obligation postings recorded in the period, summed by what they were."""
        ...

    async def partner_money(
        self,
        network_id: int,
        partner_id: int,
        start: datetime,
        end: datetime,
        tx_range: tuple[int, int],
        currency: str,
    ) -> MoneyFlows:
        """The partner's prepaid postings recorded in the period (in the network's currency), summed by what they
        were."""
        ...

    async def node_holdings(
        self, network_id: int, start: datetime, end: datetime, tx_range: tuple[int, int], currency: str
    ) -> NodeHoldings:
        """What the node's money position of the period is made of: wallets, gift cards, breakage kept, funded."""
        ...

    async def save_statement(self, statement: Statement) -> None:
        """Raises DuplicateKey when another close saved this period's statement first."""
        ...

    async def statement(self, network_id: int, number: int) -> Statement | None: ...
    async def statements(self, network_id: int) -> list[Statement]: ...
    async def partner_entries(
        self, network_id: int, partner_id: int, start: datetime, end: datetime
    ) -> list[PartnerEntry]: ...


class SettlementStore(Protocol):
    def unit_of_work(self) -> AbstractAsyncContextManager[SettlementUnitOfWork]: ...
    async def wait_for_writers(self) -> None:
        """Return once every ledger write begun before the call has committed or rolled back."""
        ...


class SettlementService:
    def __init__(
        self,
        store: SettlementStore,
        clock: Clock,
        mailer: Mailer | None = None,
        render_pdf: Callable[[Statement], bytes] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.mailer = mailer
        self.render_pdf = render_pdf

    async def send(self, network_id: int, number: int) -> dict[str, Any]:
        """E-mail each partner that has an address its own entries (CSV) and the whole statement (CSV and PDF)."""
        if self.mailer is None:
            raise Conflict("e-mail is off: set COALITION_SMTP_HOST", field="smtp")
        statement = await self.statement(network_id, number)
        async with self.store.unit_of_work() as uow:
            addresses = await uow.partner_emails(network_id)
        whole = [Attachment(f"statement-{number}.csv", "text/csv", _csv(statement_csv_rows(statement)))]
        if self.render_pdf is not None:
            whole.append(Attachment(f"statement-{number}.pdf", "application/pdf", self.render_pdf(statement)))
        sent, skipped = [], []
        for line in statement.lines:
            address = addresses.get(line.party.partner_id or 0)
            if address is None:
                skipped.append(line.party.name)
                continue
            own = await self.partner_statement(network_id, number, line.party.partner_id or 0)
            entries = Attachment(f"statement-{number}-entries.csv", "text/csv", _csv(entries_csv_rows(own)))
            mail = OutgoingMail(
                to=address,
                subject=f"Settlement statement {number}: {line.party.name}, {statement.period_start:%Y-%m-%d}",
                text=_mail_text(own),
                attachments=(entries, *whole),
            )
            await self.mailer.send(mail)
            sent.append(line.party.name)
        async with self.store.unit_of_work() as uow:  # after the e-mails: a send that failed half-way is not logged
            result = {"sent": sent, "without_address": skipped}
            await uow.audit(entry(network_id, "settlement.send", "statement", number, after=result))
        return {"statement": number, "sent": sent, "without_address": skipped}

    async def close(
        self,
        network_id: int,
        end: datetime,
        start: datetime | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """Close the open period up to `end`; `progress(done, total)` after each partner's flows are summed."""
        now = self.clock.now()
        if end > now - CLOSE_DELAY:
            raise InvalidInput(
                f"a period can end at the latest {int(CLOSE_DELAY.total_seconds())} s ago: purchases of a later "
                "end may still be being written",
                field="end",
            )
        await self.store.wait_for_writers()
        async with self.store.unit_of_work() as uow:
            last = await uow.last_statement(network_id)
            opens = last[1] if last else (start or await uow.network_created_at(network_id))
            if last is not None and end <= opens:  # also when the request names the closed period's start
                raise Conflict(f"the period up to {opens.isoformat()} is closed already", field="end")
            if start is not None and start != opens:
                raise InvalidInput(f"the open period starts at {opens.isoformat()}", field="start")
            require_period(opens, end)
            parties = sorted(await uow.partners(network_id))
            tx_range = await uow.period_tx_range(network_id, opens, end)
            currency = await uow.network_currency(network_id)
            flows, money = {}, {}
            for done, party in enumerate(parties, start=1):
                partner_id = party.partner_id or 0
                found = await uow.partner_flows(network_id, partner_id, opens, end, tx_range) if tx_range else None
                flows[party] = found or Flows()
                if tx_range:
                    money[party] = await uow.partner_money(network_id, partner_id, opens, end, tx_range, currency)
                if progress is not None:
                    progress(done, len(parties))
            holdings = await uow.node_holdings(network_id, opens, end, tx_range, currency) if tx_range else None
            number = (last[0] if last else 0) + 1
            fees = await uow.fee_schedule(network_id)
            statement = statement_of(
                network_id, opens, end, currency, flows, now, number, fees, money, holdings or NodeHoldings()
            )
            await uow.save_statement(statement)
            closed = {"period_start": opens, "period_end": end}
            await uow.audit(entry(network_id, "settlement.close", "statement", number, after=closed))
        return statement_json(statement)

    async def fees(self, network_id: int) -> dict[str, Any]:
        async with self.store.unit_of_work() as uow:
            return _fees_json(await uow.fee_schedule(network_id), await uow.network_currency(network_id))

    async def set_fees(self, network_id: int, per_transaction: str, percent_of_granted: str) -> dict[str, Any]:
        async with self.store.unit_of_work() as uow:
            currency = await uow.network_currency(network_id)
            fees = FeeSchedule(
                parse_amount_minor(per_transaction, currency, field="per_transaction"),
                parse_percent_bp(percent_of_granted, field="percent_of_granted"),
            )
            before = _fees_json(await uow.fee_schedule(network_id), currency)
            await uow.set_fee_schedule(network_id, fees)
            after = _fees_json(fees, currency)
            await uow.audit(entry(network_id, "settlement.fees", "network", network_id, before=before, after=after))
        return _fees_json(fees, currency)

    async def statement(self, network_id: int, number: int) -> Statement:
        async with self.store.unit_of_work() as uow:
            found = await uow.statement(network_id, number)
        if found is None:
            raise NotFound(f"this network has no statement {number}", field="number")
        return found

    async def listing(self, network_id: int) -> dict[str, Any]:
        return {"statements": [_summary_json(statement) for statement in await self.statements(network_id)]}

    async def statements(self, network_id: int) -> list[Statement]:
        """The network's statements, oldest first (the console lists them, reading their moments as datetimes)."""
        async with self.store.unit_of_work() as uow:
            return await uow.statements(network_id)

    async def partner_statement(self, network_id: int, number: int, partner_id: int) -> dict[str, Any]:
        return (await self.partner_part(network_id, number, partner_id)).json()

    async def partner_part(self, network_id: int, number: int, partner_id: int) -> PartnerStatement:
        """The partner's own part of statement `number`, typed (the console's page of its entries reads it)."""
        statement = await self.statement(network_id, number)
        line = next((line for line in statement.lines if line.party.partner_id == partner_id), None)
        if line is None:
            raise NotFound(f"statement {number} has no partner {partner_id}", field="partner_id")
        async with self.store.unit_of_work() as uow:
            entries = await uow.partner_entries(network_id, partner_id, statement.period_start, statement.period_end)
        return PartnerStatement(
            number=statement.number,
            partner_id=partner_id,
            partner_name=line.party.name,
            period_start=statement.period_start,
            period_end=statement.period_end,
            fees_minor=line.fees_minor,
            net_minor=line.net_minor,
            currency=statement.currency,
            entries=tuple(entries),
        )


def _csv(rows: list[list[str]]) -> bytes:
    return csv_text(rows).encode()


def entries_csv_rows(own: dict[str, Any]) -> list[list[str]]:
    """A partner's own entries of a statement as CSV rows (mailed with the statement, downloaded in the console)."""
    with_money = any(e.get("part") == "money" for e in own["entries"])  # else the table is as before issue 14
    rows = [["tx_id", "kind", "outlet", "occurred_at", "recorded_at", "amount", *(["part"] if with_money else [])]]
    rows += [
        [
            str(e["tx_id"]),
            e["kind"],
            e["outlet"] or "",
            e["occurred_at"],
            e["recorded_at"],
            e["amount"],
            *([e["part"]] if with_money else []),
        ]
        for e in own["entries"]
    ]
    return rows


def _mail_text(own: dict[str, Any]) -> str:
    net = own["net"]
    direction = "the settlement node pays you" if not net.startswith("-") else "you pay the settlement node"
    return (
        f"Settlement statement {own['statement']} for {own['partner']['name']}\n"
        f"Period: {own['period']['start']} – {own['period']['end']}\n"
        f"Fees: {own['fees']} {own['currency']}\n"
        f"Net: {net} {own['currency']} ({direction} {net.lstrip('-')} {own['currency']})\n\n"
        f"Attached: your {len(own['entries'])} entries of the period (they add up to your net before fees), "
        "and the whole statement with both transfer plans.\n"
    )


def statement_json(statement: Statement) -> dict[str, Any]:
    currency = statement.currency
    return _summary_json(statement) | {
        "partners": [
            {
                "partner_id": line.party.partner_id,
                "name": line.party.name,
                "granted": format_minor(line.flows.granted_minor, currency),
                "granted_refunded": format_minor(line.flows.granted_refunded_minor, currency),
                "honoured": format_minor(line.flows.honoured_minor, currency),
                "honoured_refunded": format_minor(line.flows.honoured_refunded_minor, currency),
                "breakage": format_minor(line.flows.breakage_minor, currency),
                "fees": format_minor(line.fees_minor, currency),
                "net": format_minor(line.net_minor, currency),
                "transactions": line.flows.transactions,
                "points_net": format_minor(line.points_net_minor, currency),
                "money": _money_json(line.money, currency),
            }
            for line in statement.lines
        ],
        "prepaid_money": statement.has_money,  # whether any prepaid money moved (the tables show it apart)
        "node": {
            "net": format_minor(statement.node_net_minor, currency),
            "points_net": format_minor(statement.node_points_net_minor, currency),
            "money": {
                "wallets": format_minor(statement.holdings.wallets_minor, currency),
                "gift_cards": format_minor(statement.holdings.gift_cards_minor, currency),
                "breakage_kept": format_minor(statement.holdings.breakage_kept_minor, currency),
                "funded": format_minor(statement.holdings.funded_minor, currency),
                "net": format_minor(statement.node_money_net_minor, currency),
            },
        },
        "transfers": {
            "through_node": _transfers_json(through_node(statement.positions), currency),
            "direct": _transfers_json(fewest_transfers(statement.positions), currency),
        },
    }


def _money_json(money: MoneyFlows, currency: str) -> dict[str, Any]:
    """A partner's prepaid money of a statement: what was taken for the node, accepted from it, and given back."""
    amounts = {column: getattr(money, name) for column, name in zip(MONEY_COLUMNS, MONEY_FIELDS, strict=True)}
    return {name: format_minor(amount, currency) for name, amount in amounts.items()} | {
        "net": format_minor(money.net_minor, currency),
        "transactions": money.transactions,
    }


def _fees_json(fees: FeeSchedule, currency: str) -> dict[str, Any]:
    return {
        "per_transaction": format_minor(fees.per_transaction_minor, currency),
        "percent_of_granted": format_percent(fees.granted_bp),
        "currency": currency,
    }


def _summary_json(statement: Statement) -> dict[str, Any]:
    return {
        "number": statement.number,
        "period": _period_json(statement),
        "currency": statement.currency,
        "closed_at": statement.closed_at.isoformat(),
    }


def _period_json(statement: Statement) -> dict[str, str]:
    return {"start": statement.period_start.isoformat(), "end": statement.period_end.isoformat()}


def _transfers_json(transfers: tuple[Transfer, ...], currency: str) -> list[dict[str, Any]]:
    return [
        {
            "from": transfer.payer.name,
            "from_partner_id": transfer.payer.partner_id,
            "to": transfer.payee.name,
            "to_partner_id": transfer.payee.partner_id,
            "amount": format_minor(transfer.amount_minor, currency),
        }
        for transfer in transfers
    ]


def _entry_json(entry: PartnerEntry, currency: str) -> dict[str, Any]:
    return {
        "tx_id": entry.tx_id,
        "kind": entry.kind,
        "outlet": entry.outlet,
        "occurred_at": entry.occurred_at.isoformat(),
        "recorded_at": entry.recorded_at.isoformat(),
        "amount": format_minor(entry.amount_minor, currency),
        "part": entry.part,
    }


def statement_csv_rows(statement: Statement) -> list[list[str]]:
    """The statement as a table: one row per party, the node last, then the two transfer plans."""
    return statement_view_csv_rows(statement_view(statement, None))
