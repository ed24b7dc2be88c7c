"""Campaigns on SQLAlchemy Core, both engines (application/campaigns.py): the table, the segment's one query, the
sending units of work (the outbox rows and the cursor in one transaction) and the counts read from the outbox.

The segment is one SELECT over `members` of the network (personal cards: an anonymous one has no contact), its
conditions as columns (tier, the sorted comma-separated labels, lifetime spend) and EXISTS over the member's
purchases (`purchases.member_id` is indexed) for the visits; pages go in member id order from a cursor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, insert, literal, literal_column, not_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.audit_store import ConnectionAuditTrail, CoreAuditTrail
from coalition.adapters.storage.outbox_store import CoreOutboxWrites
from coalition.application.audit import AuditEntry
from coalition.application.campaigns import Campaign
from coalition.application.time_window import Window, utc_bound
from coalition.domain.campaigns import (
    CampaignDraft,
    CampaignStatus,
    Segment,
    SegmentMoments,
    campaign_event_prefix,
)
from coalition.domain.members import segments_from_text
from coalition.domain.messages import Channel, MessageKind

# written into the statement, not bound: the partial index's predicate is matched only by the literal
_CAMPAIGN_KIND: Any = literal_column(f"'{MessageKind.CAMPAIGN.value}'")


def _campaign(row: Row[Any]) -> Campaign:
    def at(value: datetime | None) -> datetime | None:
        return None if value is None else t.as_utc(value)

    return Campaign(
        id=int(row.id),
        network_id=int(row.network_id),
        name=row.name,
        segment=Segment.stored(row.segment),
        channels=tuple(Channel(value) for value in str(row.channels).split()),
        subject=row.subject,
        body=row.body,
        status=CampaignStatus(row.status),
        scheduled_at=at(row.scheduled_at),
        created_by=row.created_by,
        created_at=t.as_utc(row.created_at),
        updated_at=t.as_utc(row.updated_at),
        send_started_at=at(row.send_started_at),
        sent_at=at(row.sent_at),
        cursor_member_id=int(row.cursor_member_id),
        audience=int(row.audience),
        queued=int(row.queued),
    )


def segment_condition(network_id: int, segment: Segment, moments: SegmentMoments) -> Any:
    """The WHERE of a segment over `members` (one query: every condition a column or an indexed EXISTS)."""
    m, p = t.members, t.purchases
    conditions = [m.c.network_id == network_id, m.c.kind == "personal"]
    if segment.tier is not None:
        conditions.append(m.c.tier == segment.tier)
    if segment.segment is not None:  # labels are stored sorted, comma-separated: match a whole one
        conditions.append((literal(",") + m.c.segments + literal(",")).like(f"%,{segment.segment},%"))
    if segment.spend_from_minor is not None:
        conditions.append(m.c.lifetime_spend_minor >= segment.spend_from_minor)
    if segment.spend_to_minor is not None:
        conditions.append(m.c.lifetime_spend_minor <= segment.spend_to_minor)
    if moments.visited_since is not None:
        conditions.append(exists().where(p.c.member_id == m.c.id, p.c.occurred_at >= moments.visited_since))
    if moments.not_since is not None:
        conditions.append(exists().where(p.c.member_id == m.c.id, p.c.occurred_at < moments.not_since))
        conditions.append(not_(exists().where(p.c.member_id == m.c.id, p.c.occurred_at >= moments.not_since)))
    return and_(*conditions)


class SqlCampaignSendUnit(CoreAuditTrail, CoreOutboxWrites):
    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def advance(self, campaign_id: int, cursor: int, new_cursor: int, audience: int, queued: int) -> bool:
        c = t.campaigns
        result = await self.connection.execute(
            update(c)
            .where(c.c.id == campaign_id, c.c.cursor_member_id == cursor, c.c.status == CampaignStatus.SENDING.value)
            .values(cursor_member_id=new_cursor, audience=c.c.audience + audience, queued=c.c.queued + queued)
        )
        return bool(result.rowcount == 1)

    async def webhook_listeners(self, network_id: int) -> dict[str, tuple[int, ...]]:
        return {}  # a customer message feeds no webhook


class SqlCampaignStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create_campaign(
        self,
        network_id: int,
        draft: CampaignDraft,
        status: CampaignStatus,
        created_by: str,
        now: datetime,
        audited: AuditEntry,
    ) -> int:
        values = {
            "network_id": network_id,
            "name": draft.name,
            "segment": draft.segment.text(),
            "channels": " ".join(channel.value for channel in draft.channels),
            "subject": draft.subject,
            "body": draft.body,
            "status": status.value,
            "scheduled_at": draft.scheduled_at,
            "created_by": created_by[:200],
            "created_at": now,
            "updated_at": now,
        }
        async with self.engine.begin() as connection:
            campaign_id = int(
                (
                    await connection.execute(insert(t.campaigns).values(**values).returning(t.campaigns.c.id))
                ).scalar_one()
            )
            await ConnectionAuditTrail(connection).audit(replace(audited, object_id=str(campaign_id)))
        return campaign_id

    async def campaign(self, network_id: int, campaign_id: int) -> Campaign | None:
        c = t.campaigns
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(select(c).where(c.c.id == campaign_id, c.c.network_id == network_id))
            ).first()
        return None if row is None else _campaign(row)

    async def campaigns(
        self, network_id: int, limit: int, before_id: int | None = None, *, window: Window = (None, None)
    ) -> list[Campaign]:
        c = t.campaigns
        query = select(c).where(c.c.network_id == network_id).order_by(c.c.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(c.c.id < before_id)
        since, until = window
        if since is not None:
            query = query.where(c.c.created_at >= utc_bound(since))
        if until is not None:
            query = query.where(c.c.created_at < utc_bound(until))
        async with self.engine.connect() as connection:
            return [_campaign(row) for row in (await connection.execute(query)).all()]

    async def change_status(
        self,
        network_id: int,
        campaign_id: int,
        expected: Collection[CampaignStatus],
        new: CampaignStatus,
        now: datetime,
        audited: AuditEntry | None,
        scheduled_at: datetime | None = None,
    ) -> bool:
        c = t.campaigns
        values: dict[str, Any] = {"status": new.value, "updated_at": now}
        if scheduled_at is not None:
            values["scheduled_at"] = scheduled_at
        if new is CampaignStatus.SENT:
            values["sent_at"] = now
        async with self.engine.begin() as connection:
            result = await connection.execute(
                update(c)
                .where(
                    c.c.id == campaign_id,
                    c.c.network_id == network_id,
                    c.c.status.in_([status.value for status in expected]),
                )
                .values(**values)
            )
            if result.rowcount != 1:
                return False
            if audited is not None:
                await ConnectionAuditTrail(connection).audit(audited)
        return True

    async def known_labels(self, network_id: int) -> tuple[frozenset[str], frozenset[str]]:
        m = t.members
        async with self.engine.connect() as connection:
            tiers = await connection.execute(
                select(m.c.tier).where(m.c.network_id == network_id, m.c.tier != "").distinct()
            )
            found_tiers = frozenset(str(row[0]) for row in tiers)
            labels = await connection.execute(
                select(m.c.segments).where(m.c.network_id == network_id, m.c.segments != "").distinct()
            )
            found_labels = frozenset(label for row in labels for label in segments_from_text(row[0]))
        return found_tiers, found_labels

    async def audience_count(self, network_id: int, segment: Segment, moments: SegmentMoments) -> int:
        m = t.members
        query = select(func.count()).select_from(m).where(segment_condition(network_id, segment, moments))
        async with self.engine.connect() as connection:
            return int((await connection.execute(query)).scalar_one())

    async def audience_page(
        self, network_id: int, segment: Segment, moments: SegmentMoments, after_member_id: int, limit: int
    ) -> list[int]:
        m = t.members
        query = (
            select(m.c.id)
            .where(segment_condition(network_id, segment, moments), m.c.id > after_member_id)
            .order_by(m.c.id)
            .limit(limit)
        )
        async with self.engine.connect() as connection:
            return [int(row[0]) for row in await connection.execute(query)]

    async def due_campaigns(self, network_id: int, now: datetime) -> list[int]:
        c = t.campaigns
        due = (c.c.status == CampaignStatus.SCHEDULED.value) & (c.c.scheduled_at <= now)
        query = (
            select(c.c.id)
            .where(c.c.network_id == network_id, due | (c.c.status == CampaignStatus.SENDING.value))
            .order_by(c.c.id)
            .limit(100)
        )
        async with self.engine.connect() as connection:
            return [int(row[0]) for row in await connection.execute(query)]

    async def start_sending(self, campaign_id: int, now: datetime) -> None:
        c = t.campaigns
        async with self.engine.begin() as connection:
            await connection.execute(
                update(c)
                .where(c.c.id == campaign_id, c.c.status == CampaignStatus.SCHEDULED.value)
                .values(status=CampaignStatus.SENDING.value, send_started_at=now, updated_at=now)
            )

    @asynccontextmanager
    async def sending(self) -> AsyncIterator[SqlCampaignSendUnit]:
        async with self.engine.begin() as connection:
            yield SqlCampaignSendUnit(connection)

    async def counts(self, network_id: int, campaign_id: int) -> list[tuple[str, str, str | None, int]]:
        o = t.outbox_messages
        prefix = campaign_event_prefix(campaign_id)  # "campaign:12:" — the ids end in digits
        async with self.engine.connect() as connection:
            ids: Any
            if connection.dialect.name == "postgresql":  # the partial index's pattern operators serve LIKE
                ids = o.c.event_id.like(literal_column(f"'{prefix}%'"))  # written in: a plan for this prefix
            else:  # SQLite compares bytes: ';' follows ':', so the range is the prefix's ids, and uses the index
                ids = (o.c.event_id >= prefix) & (o.c.event_id < prefix[:-1] + ";")
            query = (
                select(o.c.channel, o.c.status, o.c.last_error, func.count())
                .where(o.c.event_kind == _CAMPAIGN_KIND, ids, o.c.network_id == network_id)
                .group_by(o.c.channel, o.c.status, o.c.last_error)
            )
            rows = (await connection.execute(query)).all()
        return [(str(row[0]), str(row[1]), row[2], int(row[3])) for row in rows]

    async def network_zone(self, network_id: int) -> str:
        o = t.outlets
        query = select(o.c.timezone).where(o.c.network_id == network_id).order_by(o.c.id).limit(1)
        async with self.engine.connect() as connection:
            return str((await connection.execute(query)).scalar_one_or_none() or "UTC")

    async def network_currency(self, network_id: int) -> str:
        async with self.engine.connect() as connection:
            found = await connection.scalar(select(t.networks.c.currency).where(t.networks.c.id == network_id))
        return str(found or "RUB")
