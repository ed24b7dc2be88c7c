"""The SQL implementation of the web sessions' unit of work: console users, sessions and sign-in attempts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.audit_store import CoreAuditTrail
from coalition.adapters.storage.driver import duplicate_from_message
from coalition.application.admin import WEB_TERMINAL_NAME
from coalition.application.sign_in_limits import Counted
from coalition.application.web_sessions import CashierAccount, ConsoleAccount, ConsoleUser, NewSession, WebIdentity


class SqlWebSessionUnitOfWork(CoreAuditTrail):
    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def count_attempt(self, scope_hash: str, now: datetime, window_start: datetime) -> Counted:
        """One statement: insert the counter or add one to it (a new window when the last one is over), answering
        the count. On PostgreSQL the row stays locked until the commit, so concurrent attempts count one by one."""
        c = t.sign_in_counters
        dialect = postgresql if self.connection.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(c).values(scope_hash=scope_hash, window_started_at=now, attempts=1)
        lapsed = c.c.window_started_at < window_start
        statement = statement.on_conflict_do_update(
            index_elements=[c.c.scope_hash],
            set_={
                "attempts": case((lapsed, 1), else_=c.c.attempts + 1),
                "window_started_at": case((lapsed, statement.excluded.window_started_at), else_=c.c.window_started_at),
            },
        ).returning(c.c.attempts, c.c.window_started_at)
        row = (await self.connection.execute(statement)).one()
        return Counted(int(row.attempts), t.as_utc(row.window_started_at))

    async def give_back_attempt(self, scope_hash: str) -> None:
        c = t.sign_in_counters
        await self.connection.execute(
            update(c).where(c.c.scope_hash == scope_hash, c.c.attempts > 0).values(attempts=c.c.attempts - 1)
        )

    async def clear_attempts(self, scope_hash: str) -> None:
        await self.connection.execute(delete(t.sign_in_counters).where(t.sign_in_counters.c.scope_hash == scope_hash))

    async def signed_in_lately(self, account_address_hash: str, since: datetime) -> bool:
        a = t.sign_in_addresses
        query = select(a.c.signed_in_at).where(
            a.c.account_address_hash == account_address_hash, a.c.signed_in_at >= since
        )
        return (await self.connection.execute(query)).first() is not None

    async def remember_sign_in(self, account_address_hash: str, now: datetime) -> None:
        a = t.sign_in_addresses
        dialect = postgresql if self.connection.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(a).values(account_address_hash=account_address_hash, signed_in_at=now)
        await self.connection.execute(
            statement.on_conflict_do_update(index_elements=[a.c.account_address_hash], set_={"signed_in_at": now})
        )

    async def prune_attempts(self, windows_started_before: datetime, sign_ins_before: datetime) -> None:
        c, a = t.sign_in_counters, t.sign_in_addresses
        lapsed = select(c.c.scope_hash).where(c.c.window_started_at < windows_started_before)
        if self.connection.dialect.name == "postgresql":
            # rows an attempt is counting on right now are left for the next prune: waiting for them could deadlock
            lapsed = lapsed.with_for_update(skip_locked=True)
        await self.connection.execute(delete(c).where(c.c.scope_hash.in_(lapsed)))
        await self.connection.execute(delete(a).where(a.c.signed_in_at < sign_ins_before))

    async def cashier_account(self, outlet_id: int, login: str) -> CashierAccount | None:
        c, o = t.cashiers, t.outlets
        row = (
            await self.connection.execute(
                select(c.c.id, c.c.network_id, o.c.partner_id, c.c.outlet_id, c.c.name, c.c.password_hash, c.c.active)
                .join(o, o.c.id == c.c.outlet_id)
                .where(c.c.outlet_id == outlet_id, c.c.login == login)
            )
        ).first()
        if row is None:
            return None
        return CashierAccount(
            row.id, row.network_id, row.partner_id, row.outlet_id, row.name, row.password_hash, row.active
        )

    async def console_account(self, network_code: str, login: str) -> ConsoleAccount | None:
        u, n = t.console_users, t.networks
        row = (
            await self.connection.execute(
                select(u.c.id, u.c.network_id, u.c.partner_id, u.c.role, u.c.name, u.c.password_hash, u.c.active)
                .join(n, n.c.id == u.c.network_id)
                .where(n.c.code == network_code, u.c.login == login)
            )
        ).first()
        if row is None:
            return None
        return ConsoleAccount(row.id, row.network_id, row.partner_id, row.role, row.name, row.password_hash, row.active)

    async def web_terminal_id(self, outlet_id: int, key_hash: str, key_prefix: str, now: datetime) -> int:
        """The outlet's web terminal, created on its first cashier sign-in."""
        term = t.terminals
        found = (
            await self.connection.execute(
                select(term.c.id).where(term.c.outlet_id == outlet_id, term.c.name == WEB_TERMINAL_NAME)
            )
        ).scalar()
        if found is not None:
            return int(found)
        network_id = (
            await self.connection.execute(select(t.outlets.c.network_id).where(t.outlets.c.id == outlet_id))
        ).scalar_one()
        statement = (
            insert(term)
            .values(
                network_id=network_id,
                outlet_id=outlet_id,
                name=WEB_TERMINAL_NAME,
                key_hash=key_hash,
                key_prefix=key_prefix,
                active=True,
                created_at=now,
            )
            .returning(term.c.id)
        )
        return int((await self.connection.execute(statement)).scalar_one())

    async def create_session(
        self, session: NewSession, token_hash: str, csrf_token: str, now: datetime, expires_at: datetime
    ) -> int:
        statement = (
            insert(t.web_sessions)
            .values(
                token_hash=token_hash,
                role=session.role,
                network_id=session.network_id,
                partner_id=session.partner_id,
                outlet_id=session.outlet_id,
                terminal_id=session.terminal_id,
                cashier_id=session.cashier_id,
                console_user_id=session.console_user_id,
                member_id=session.member_id,
                display_name=session.display_name[:200],
                csrf_token=csrf_token,
                created_at=now,
                expires_at=expires_at,
            )
            .returning(t.web_sessions.c.id)
        )
        return int((await self.connection.execute(statement)).scalar_one())

    async def session_by_token_hash(self, token_hash: str, now: datetime) -> WebIdentity | None:
        s, n, u = t.web_sessions, t.networks, t.console_users
        login = select(u.c.login).where(u.c.id == s.c.console_user_id).scalar_subquery().label("console_login")
        row = (
            await self.connection.execute(
                select(s, n.c.code, n.c.name.label("network_name"), n.c.currency, _session_timezone(s), login)
                .join(n, n.c.id == s.c.network_id)
                .where(s.c.token_hash == token_hash, s.c.revoked_at.is_(None), s.c.expires_at > now)
            )
        ).first()
        return None if row is None else _identity(row)

    async def prune(self, sessions_ended_before: datetime) -> None:
        s = t.web_sessions
        ended = (s.c.expires_at < sessions_ended_before) | (s.c.revoked_at < sessions_ended_before)
        await self.connection.execute(delete(s).where(ended))

    async def revoke_session(self, token_hash: str, now: datetime) -> None:
        s = t.web_sessions
        await self.connection.execute(
            update(s).where(s.c.token_hash == token_hash, s.c.revoked_at.is_(None)).values(revoked_at=now)
        )

    async def revoke_cashier_sessions(self, cashier_id: int, now: datetime) -> int:
        return await self._revoke(t.web_sessions.c.cashier_id == cashier_id, now)

    async def revoke_console_user_sessions(self, user_id: int, now: datetime) -> int:
        return await self._revoke(t.web_sessions.c.console_user_id == user_id, now)

    async def create_console_user(
        self,
        network_id: int,
        role: str,
        partner_id: int | None,
        login: str,
        name: str,
        password_hash: str,
        now: datetime,
    ) -> int:
        statement = (
            insert(t.console_users)
            .values(
                network_id=network_id,
                role=role,
                partner_id=partner_id,
                login=login,
                name=name,
                password_hash=password_hash,
                active=True,
                created_at=now,
            )
            .returning(t.console_users.c.id)
        )
        try:
            return int((await self.connection.execute(statement)).scalar_one())
        except IntegrityError as error:
            duplicate = duplicate_from_message(str(error.orig))
            if duplicate is not None:
                raise duplicate from error
            raise

    async def partner_in_network(self, network_id: int, partner_id: int) -> bool:
        p = t.partners
        query = select(p.c.id).where(p.c.id == partner_id, p.c.network_id == network_id)
        return (await self.connection.execute(query)).first() is not None

    # --- the administrator's console: console users ---
    async def console_users(self, network_id: int) -> list[ConsoleUser]:
        u = t.console_users
        rows = await self.connection.execute(
            select(u.c.id, u.c.role, u.c.partner_id, u.c.login, u.c.name, u.c.active)
            .where(u.c.network_id == network_id)
            .order_by(u.c.role, u.c.id)  # 'administrator' sorts before 'owner'
        )
        return [ConsoleUser(row.id, row.role, row.partner_id, row.login, row.name, row.active) for row in rows]

    async def set_console_user_active(self, network_id: int, user_id: int, active: bool) -> bool:
        return await self._update_console_user(network_id, user_id, active=active)

    async def set_console_user_password(self, network_id: int, user_id: int, password_hash: str) -> bool:
        return await self._update_console_user(network_id, user_id, password_hash=password_hash)

    async def _update_console_user(self, network_id: int, user_id: int, **values: Any) -> bool:
        u = t.console_users
        result = await self.connection.execute(
            update(u).where(u.c.id == user_id, u.c.network_id == network_id).values(**values)
        )
        return bool(result.rowcount)

    async def _revoke(self, condition: Any, now: datetime) -> int:
        s = t.web_sessions
        result = await self.connection.execute(
            update(s).where(condition, s.c.revoked_at.is_(None)).values(revoked_at=now)
        )
        return int(result.rowcount)


def _session_timezone(s: Any) -> Any:
    """The time zone a session's pages show times in: its outlet's, its partner's first outlet's, the network's."""
    o = t.outlets

    def first(*conditions: Any) -> Any:  # outer columns in WHERE only: SQLite cannot see them in ORDER BY
        return select(o.c.timezone).where(*conditions).order_by(o.c.id).limit(1).scalar_subquery()

    return func.coalesce(
        first(o.c.id == s.c.outlet_id),
        first(o.c.network_id == s.c.network_id, o.c.partner_id == s.c.partner_id),
        first(o.c.network_id == s.c.network_id),
    ).label("timezone")


def _identity(row: Any) -> WebIdentity:
    return WebIdentity(
        role=row.role,
        network_id=row.network_id,
        network_code=row.code,
        network_name=row.network_name,
        currency=row.currency,
        display_name=row.display_name,
        csrf_token=row.csrf_token,
        partner_id=row.partner_id,
        outlet_id=row.outlet_id,
        terminal_id=row.terminal_id,
        cashier_id=row.cashier_id,
        console_user_id=row.console_user_id,
        member_id=row.member_id,
        timezone=row.timezone or "UTC",
        console_login=row.console_login,
    )


class SqlWebSessionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqlWebSessionUnitOfWork]:
        async with self.engine.begin() as connection:
            yield SqlWebSessionUnitOfWork(connection)
