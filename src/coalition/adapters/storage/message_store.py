"""Customer messages' tables on SQLAlchemy Core, both engines: the networks' templates, the members' opt-outs and the
server's secrets (application/message_templates.py, application/unsubscribe.py)."""

from __future__ import annotations

import secrets
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

    async def message_member(self, network_id: int, member_id: int) -> MessageMember | None:
        """The member's consents, contacts, opt-outs, name and balance, on one connection (None: not theirs)."""
        m, b, o = t.members, t.member_balances, t.message_opt_outs
        balance = select(func.coalesce(func.sum(b.c.balance), 0)).where(b.c.member_id == m.c.id).scalar_subquery()
        query = select(
            m.c.name,
            m.c.consent_data_processing,
            m.c.consent_newsletters,
            m.c.email,
            m.c.phone,
            balance.label("points"),
        ).where(m.c.id == member_id, m.c.network_id == network_id)
        async with self.engine.connect() as connection:
            row = (await connection.execute(query)).first()
            if row is None:
                return None
            outs = (
                await connection.execute(
                    select(o.c.kind, o.c.channel).where(o.c.network_id == network_id, o.c.member_id == member_id)
                )
            ).all()
        recipient = Recipient(
            consent_data_processing=bool(row.consent_data_processing),
            consent_newsletters=bool(row.consent_newsletters),
            email=row.email,
            phone=row.phone,
            opted_out=frozenset((MessageKind(out.kind), Channel(out.channel)) for out in outs),
        )
        return MessageMember(recipient, row.name, int(row.points))

    async def sent_on_channel(self, member_id: int, channel: Channel, since: datetime) -> list[datetime]:
        q = t.outbox_messages
        query = select(q.c.delivered_at).where(
            q.c.target == str(member_id),
            q.c.channel == channel.value,
            q.c.status == Status.DELIVERED.value,
            q.c.delivered_at >= since,
        )
        async with self.engine.connect() as connection:
            return [t.as_utc(value) for value in (await connection.execute(query)).scalars()]

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
