"""Customer messages' tables on SQLAlchemy Core, both engines: the networks' templates, the members' opt-outs and the
server's secrets (application/message_templates.py, application/unsubscribe.py)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.audit_store import ConnectionAuditTrail
from coalition.application.audit import AuditEntry
from coalition.application.message_delivery import MessageMember, NetworkContext
from coalition.application.message_templates import Key, MemberView
from coalition.domain.message_templates import MessageTemplate
from coalition.domain.messages import MARKETING_KINDS, Channel, MessageKind, Recipient, Unsubscribe
from coalition.domain.outbox import Status


class SqlMessageStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def stored_templates(self, network_id: int) -> dict[Key, tuple[MessageTemplate, datetime]]:
        m = t.message_templates
        async with self.engine.connect() as connection:
            rows = (await connection.execute(select(m).where(m.c.network_id == network_id))).all()
        return {
            (MessageKind(row.kind), Channel(row.channel), row.language): (
                MessageTemplate(subject=row.subject, body=row.body),
                t.as_utc(row.updated_at),
            )
            for row in rows
        }

    async def save_template(
        self, network_id: int, key: Key, template: MessageTemplate, now: datetime, audited: AuditEntry
    ) -> None:
        m = t.message_templates
        kind, channel, language = key
        values = {"subject": template.subject, "body": template.body, "updated_at": now}
        async with self.engine.begin() as connection:
            dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(m).values(
                network_id=network_id, kind=kind.value, channel=channel.value, language=language, **values
            )
            await connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[m.c.network_id, m.c.kind, m.c.channel, m.c.language], set_=values
                )
            )
            await ConnectionAuditTrail(connection).audit(audited)

    async def delete_template(self, network_id: int, key: Key, audited: AuditEntry) -> bool:
        m = t.message_templates
        kind, channel, language = key
        async with self.engine.begin() as connection:
            result = await connection.execute(
                delete(m).where(
                    m.c.network_id == network_id,
                    m.c.kind == kind.value,
                    m.c.channel == channel.value,
                    m.c.language == language,
                )
            )
            await ConnectionAuditTrail(connection).audit(audited)
        return bool(result.rowcount)

    async def network_name(self, network_id: int) -> str:
        async with self.engine.connect() as connection:
            name = await connection.scalar(select(t.networks.c.name).where(t.networks.c.id == network_id))
        return str(name or "")

    async def member_view(self, network_id: int, member_id: int) -> MemberView | None:
        m, b = t.members, t.member_balances
        balance = select(func.coalesce(func.sum(b.c.balance), 0)).where(b.c.member_id == m.c.id).scalar_subquery()
        query = select(m.c.name, balance).where(m.c.id == member_id, m.c.network_id == network_id)
        async with self.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else MemberView(name=row[0], balance=int(row[1]))

    # --- unsubscribe (application/unsubscribe.py)

    async def server_secret(self, name: str, now: datetime) -> str:
        """The named secret, made on first use; of two processes making it at once, both read the one stored."""
        s = t.server_secrets
        async with self.engine.begin() as connection:
            dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
            await connection.execute(
                dialect.insert(s)
                .values(name=name, value=secrets.token_urlsafe(48), created_at=now)
                .on_conflict_do_nothing(index_elements=[s.c.name])
            )
            return str(await connection.scalar(select(s.c.value).where(s.c.name == name)))

    async def opted_out(self, what: Unsubscribe) -> bool | None:
        """Whether the member is already out of this kind on this channel; None: no such member in the network."""
        m, o = t.members, t.message_opt_outs
        async with self.engine.connect() as connection:
            newsletters = await connection.scalar(
                select(m.c.consent_newsletters).where(m.c.id == what.member_id, m.c.network_id == what.network_id)
            )
            if newsletters is None:
                return None
            row = await connection.scalar(
                select(func.count()).where(
                    o.c.member_id == what.member_id, o.c.kind == what.kind.value, o.c.channel == what.channel.value
                )
            )
        return bool(row) or (what.kind in MARKETING_KINDS and not newsletters)

    async def opt_out(self, what: Unsubscribe, now: datetime, audited: AuditEntry) -> None:
        """Marketing kinds: the newsletter consent off. Every kind: an opt-out row for this kind and channel."""
        m, o = t.members, t.message_opt_outs
        async with self.engine.begin() as connection:
            dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
            if what.kind in MARKETING_KINDS:
                await connection.execute(
                    update(m)
                    .where(m.c.id == what.member_id, m.c.network_id == what.network_id)
                    .values(consent_newsletters=False)
                )
            await connection.execute(
                dialect.insert(o)
                .values(
                    member_id=what.member_id,
                    kind=what.kind.value,
                    channel=what.channel.value,
                    network_id=what.network_id,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=[o.c.member_id, o.c.kind, o.c.channel])
            )
            await ConnectionAuditTrail(connection).audit(audited)

    async def recipient(self, network_id: int, member_id: int) -> Recipient | None:
        """What `decide_sending` needs of a member of the network: consents, contacts, opt-outs (None: not theirs)."""
        m = t.members
        query = select(m.c.consent_data_processing, m.c.consent_newsletters, m.c.email, m.c.phone).where(
            m.c.id == member_id, m.c.network_id == network_id
        )
        async with self.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        if row is None:
            return None
        return Recipient(
            consent_data_processing=bool(row.consent_data_processing),
            consent_newsletters=bool(row.consent_newsletters),
            email=row.email,
            phone=row.phone,
            opted_out=await self.opt_outs(network_id, member_id),
        )

    async def opt_outs(self, network_id: int, member_id: int) -> frozenset[tuple[MessageKind, Channel]]:
        """What the policy's Recipient needs (domain/messages.py)."""
        o = t.message_opt_outs
        query = select(o.c.kind, o.c.channel).where(o.c.network_id == network_id, o.c.member_id == member_id)
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return frozenset((MessageKind(row.kind), Channel(row.channel)) for row in rows)

    # --- delivery (application/message_delivery.py)

    async def message_members(
        self, network_id: int, member_ids: Sequence[int], channel: Channel, since: datetime
    ) -> dict[int, MessageMember]:
        """These members of the network (others left out): consents, contacts, opt-outs, name, balance and when
        their messages on `channel` were delivered from `since` on; three statements on one connection, however
        many members (a round of the outbox reads its members at once)."""
        m, b, o, q = t.members, t.member_balances, t.message_opt_outs, t.outbox_messages
        ids = sorted(set(member_ids))
        balance = select(func.coalesce(func.sum(b.c.balance), 0)).where(b.c.member_id == m.c.id).scalar_subquery()
        query = select(
            m.c.id,
            m.c.name,
            m.c.consent_data_processing,
            m.c.consent_newsletters,
            m.c.email,
            m.c.phone,
            balance.label("points"),
        ).where(m.c.id.in_(ids), m.c.network_id == network_id)
        outs_query = select(o.c.member_id, o.c.kind, o.c.channel).where(
            o.c.network_id == network_id, o.c.member_id.in_(ids)
        )
        sent_query = select(q.c.target, q.c.delivered_at).where(
            q.c.target.in_([str(member_id) for member_id in ids]),
            q.c.channel == channel.value,
            q.c.status == Status.DELIVERED.value,
            q.c.delivered_at >= since,
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
            if not rows:
                return {}
            outs: dict[int, set[tuple[MessageKind, Channel]]] = {}
            for out in await connection.execute(outs_query):
                outs.setdefault(int(out.member_id), set()).add((MessageKind(out.kind), Channel(out.channel)))
            sent: dict[int, list[datetime]] = {}
            for sent_row in await connection.execute(sent_query):
                sent.setdefault(int(sent_row.target), []).append(t.as_utc(sent_row.delivered_at))
        found = {}
        for row in rows:
            recipient = Recipient(
                consent_data_processing=bool(row.consent_data_processing),
                consent_newsletters=bool(row.consent_newsletters),
                email=row.email,
                phone=row.phone,
                opted_out=frozenset(outs.get(int(row.id), ())),
            )
            found[int(row.id)] = MessageMember(recipient, row.name, int(row.points), tuple(sent.get(int(row.id), ())))
        return found

    async def network_context(self, network_id: int) -> NetworkContext:
        """Its name, its first outlet's zone (as the scheduler reads it) and its first partner's mail language."""
        n, o, p = t.networks, t.outlets, t.partners
        zone = select(o.c.timezone).where(o.c.network_id == n.c.id).order_by(o.c.id).limit(1).scalar_subquery()
        language = select(p.c.mail_language).where(p.c.network_id == n.c.id).order_by(p.c.id).limit(1)
        query = select(n.c.name, language.scalar_subquery(), func.coalesce(zone, "UTC")).where(n.c.id == network_id)
        async with self.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        if row is None:
            return NetworkContext("", "UTC", "en")
        return NetworkContext(str(row[0]), str(row[2]), str(row[1] or "en"))

    async def outlet_name(self, outlet_id: int) -> str | None:
        async with self.engine.connect() as connection:
            name = await connection.scalar(select(t.outlets.c.name).where(t.outlets.c.id == outlet_id))
        return None if name is None else str(name)

    async def campaign_text(self, network_id: int, campaign_id: int) -> MessageTemplate | None:
        c = t.campaigns
        query = select(c.c.subject, c.c.body).where(c.c.id == campaign_id, c.c.network_id == network_id)
        async with self.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else MessageTemplate(subject=row.subject, body=row.body)
