"""The SQL implementation of the member page's unit of work: PINs, one-time codes and the member's recent activity."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.application.member_page import (
    MemberAccount,
    MemberActivity,
    MemberNetwork,
    RecentPurchase,
    RecentVisit,
    SignInCode,
)
from coalition.domain.identifiers import phone_region

DEFAULT_TIMEZONE = "UTC"


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands timestamps back without their zone; every stored timestamp is UTC."""
    return None if value is None else t.as_utc(value)


def _moment(value: datetime) -> datetime:
    found = _aware(value)
    if found is None:
        raise ValueError("a timestamp is missing")
    return found


class SqlMemberPageUnitOfWork:
    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def sign_in_networks(self, limit: int) -> list[MemberNetwork]:
        n = t.networks
        rows = await self.connection.execute(
            select(n.c.id, n.c.code, n.c.name, n.c.country, n.c.currency).order_by(n.c.id).limit(limit)
        )
        return [MemberNetwork(row.id, row.code, row.name, phone_region(row.country, row.currency)) for row in rows]

    async def network_by_code(self, code: str) -> MemberNetwork | None:
        n = t.networks
        query = select(n.c.id, n.c.code, n.c.name, n.c.country, n.c.currency).where(n.c.code == code)
        row = (await self.connection.execute(query)).first()
        return (
            None if row is None else MemberNetwork(row.id, row.code, row.name, phone_region(row.country, row.currency))
        )

    async def member_account(self, member_id: int) -> MemberAccount:
        m, p = t.members, t.member_pins
        row = (
            await self.connection.execute(
                select(m.c.id, m.c.network_id, m.c.name, m.c.email, p.c.pin_hash)
                .select_from(m.outerjoin(p, p.c.member_id == m.c.id))
                .where(m.c.id == member_id)
            )
        ).first()
        if row is None:
            raise LookupError(f"member {member_id} does not exist")
        return MemberAccount(row.id, row.network_id, row.name, row.email, row.pin_hash)

    async def set_pin(self, member_id: int, pin_hash: str, now: datetime) -> None:
        p = t.member_pins
        await self.connection.execute(delete(p).where(p.c.member_id == member_id))
        await self.connection.execute(insert(p).values(member_id=member_id, pin_hash=pin_hash, set_at=now))

    async def codes_sent_since(self, member_id: int, since: datetime) -> int:
        c = t.member_sign_in_codes
        query = select(func.count()).select_from(c).where(c.c.member_id == member_id, c.c.created_at >= since)
        return int((await self.connection.execute(query)).scalar_one())

    async def store_code(self, member_id: int, code_hash: str, now: datetime, expires_at: datetime) -> None:
        await self.connection.execute(
            insert(t.member_sign_in_codes).values(
                member_id=member_id, code_hash=code_hash, created_at=now, expires_at=expires_at
            )
        )

    async def newest_usable_code(self, member_id: int, now: datetime) -> SignInCode | None:
        """Only the newest code counts: asking for a new one retires the ones sent before."""
        c = t.member_sign_in_codes
        row = (
            await self.connection.execute(
                select(c.c.id, c.c.code_hash, c.c.expires_at, c.c.used_at)
                .where(c.c.member_id == member_id)
                .order_by(c.c.created_at.desc(), c.c.id.desc())
                .limit(1)
            )
        ).first()
        if row is None or row.used_at is not None or _moment(row.expires_at) <= now:
            return None
        return SignInCode(row.id, row.code_hash)

    async def use_code(self, code_id: int, now: datetime) -> bool:
        c = t.member_sign_in_codes
        result = await self.connection.execute(
            update(c).where(c.c.id == code_id, c.c.used_at.is_(None)).values(used_at=now)
        )
        return int(result.rowcount) == 1

    async def member_activity(self, member_id: int, limit: int) -> MemberActivity:
        return MemberActivity(
            cards=await self._cards(member_id),
            timezone=await self._timezone(member_id),
            purchases=await self._purchases(member_id, limit),
            visits=await self._visits(member_id, limit),
        )

    async def outlets_of_partners(self, network_id: int, partner_ids: frozenset[int]) -> list[str]:
        o = t.outlets
        rows = await self.connection.execute(
            select(o.c.name)
            .where(o.c.network_id == network_id, o.c.partner_id.in_(sorted(partner_ids)))
            .order_by(o.c.name)
        )
        return [row.name for row in rows]

    async def _cards(self, member_id: int) -> tuple[str, ...]:
        c = t.cards
        rows = await self.connection.execute(
            select(c.c.number).where(c.c.member_id == member_id, c.c.state.in_(("issued", "active"))).order_by(c.c.id)
        )
        return tuple(row.number for row in rows)

    async def _timezone(self, member_id: int) -> str:
        """The member's dates are shown in the time of the outlet that enrolled them: their usual place."""
        m, o = t.members, t.outlets
        found = (
            await self.connection.execute(
                select(o.c.timezone)
                .join(m, m.c.network_id == o.c.network_id)
                .where(m.c.id == member_id)
                .order_by(o.c.id)
                .limit(1)
            )
        ).scalar()
        return str(found) if found else DEFAULT_TIMEZONE

    async def _purchases(self, member_id: int, limit: int) -> tuple[RecentPurchase, ...]:
        p, o = t.purchases, t.outlets
        rows = await self.connection.execute(
            select(
                p.c.occurred_at,
                o.c.name,
                p.c.check_minor,
                p.c.points_redeemed,
                p.c.points_earned,
                p.c.amount_due_minor,
            )
            .join(o, o.c.id == p.c.outlet_id)
            .where(p.c.member_id == member_id)
            .order_by(p.c.occurred_at.desc(), p.c.recorded_at.desc())
            .limit(limit)
        )
        return tuple(
            RecentPurchase(
                _moment(row.occurred_at),
                row.name,
                int(row.check_minor),
                int(row.points_redeemed),
                int(row.points_earned),
                int(row.amount_due_minor),
            )
            for row in rows
        )

    async def _visits(self, member_id: int, limit: int) -> tuple[RecentVisit, ...]:
        v, entry, exit_ = t.visits, t.outlets.alias("entry"), t.outlets.alias("exit")
        rows = await self.connection.execute(
            select(v.c.started_at, v.c.ended_at, entry.c.name.label("entry_name"), exit_.c.name.label("exit_name"))
            .join(entry, entry.c.id == v.c.entry_outlet_id)
            .outerjoin(exit_, exit_.c.id == v.c.exit_outlet_id)
            .where(v.c.member_id == member_id)
            .order_by(v.c.started_at.desc())
            .limit(limit)
        )
        return tuple(
            RecentVisit(_moment(row.started_at), row.entry_name, _aware(row.ended_at), row.exit_name) for row in rows
        )


class SqlMemberPageStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqlMemberPageUnitOfWork]:
        async with self.engine.begin() as connection:
            yield SqlMemberPageUnitOfWork(connection)
