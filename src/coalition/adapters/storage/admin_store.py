"""The SQL implementation of the admin unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.audit_store import CoreAuditTrail
from coalition.adapters.storage.driver import duplicate_from_message
from coalition.adapters.storage.key_store import admin_key_match, retired_terminal_keys
from coalition.application.admin import NetworkRef, StaffCashier, StaffOutlet
from coalition.application.key_life import AdminKeyMatch
from coalition.application.ports import Clock
from coalition.domain.bonus import BonusProgram
from coalition.domain.ledger import AccountPurpose, OwnerKind
from coalition.domain.plans import DEFAULT_PLAN_CODE

NODE_OWNER_ID = 0  # the settlement node is one per network; its accounts are keyed by the network


class SqlAdminUnitOfWork(CoreAuditTrail):
    def __init__(self, connection: AsyncConnection, clock: Clock) -> None:
        self.connection = connection
        self.clock = clock

    async def _insert_id(self, statement: Any) -> int:
        try:
            return int((await self.connection.execute(statement)).scalar_one())
        except IntegrityError as error:
            duplicate = duplicate_from_message(str(error.orig))
            if duplicate is not None:
                raise duplicate from error
            raise

    async def admin_key(self, key_hash: str) -> AdminKeyMatch | None:
        return await admin_key_match(self.connection, key_hash)

    async def network_by_code(self, code: str) -> NetworkRef | None:
        return await self._network(t.networks.c.code == code)

    async def network_codes(self) -> list[str]:
        n = t.networks
        return [str(code) for code in (await self.connection.execute(select(n.c.code).order_by(n.c.code))).scalars()]

    async def _network(self, condition: Any) -> NetworkRef | None:
        n = t.networks
        row = (await self.connection.execute(select(n.c.id, n.c.code, n.c.name, n.c.currency).where(condition))).first()
        return None if row is None else NetworkRef(row.id, row.code, row.name, row.currency)

    async def create_network(
        self,
        code: str,
        name: str,
        currency: str,
        admin_key_hash: str,
        program: BonusProgram,
        program_name: str,
        admin_key_expires_at: datetime | None = None,
        plan: str = DEFAULT_PLAN_CODE,
        trial_ends_at: datetime | None = None,
    ) -> NetworkRef:
        now = self.clock.now()
        network_id = await self._insert_id(
            insert(t.networks)
            .values(
                code=code,
                name=name,
                currency=currency,
                admin_key_hash=admin_key_hash,
                admin_key_expires_at=admin_key_expires_at,
                created_at=now,
                **_plan_values(plan, trial_ends_at),
            )
            .returning(t.networks.c.id)
        )
        program_id = await self._insert_id(
            insert(t.programs)
            .values(
                network_id=network_id,
                code=program.code,
                name=program_name,
                currency=currency,
                point_value_minor=program.point_value_minor,
                min_check_for_redeem_minor=program.min_check_for_redeem_minor,
                points_expire_days=program.points_expire_days,
                created_at=now,
            )
            .returning(t.programs.c.id)
        )
        await self.connection.execute(
            insert(t.program_tiers),
            [
                {
                    "program_id": program_id,
                    "min_lifetime_spend_minor": tier.min_lifetime_spend_minor,
                    "accrual_bp": tier.accrual_bp,
                    "fixed_points_per_check": tier.fixed_points_per_check,
                    "redeem_cap_bp": tier.redeem_cap_bp,
                }
                for tier in program.tiers
            ],
        )
        node_accounts = [
            (AccountPurpose.POINTS_ISSUED, program.points_asset),
            (AccountPurpose.POINTS_REDEEMED, program.points_asset),
            (AccountPurpose.POINTS_BREAKAGE, program.points_asset),
            (AccountPurpose.OBLIGATIONS, program.money_asset),
            (AccountPurpose.PREPAID, program.money_asset),  # gift cards the administrator issues (issue 14)
        ]
        await self.connection.execute(
            insert(t.accounts),
            [
                {
                    "network_id": network_id,
                    "owner_kind": OwnerKind.NODE.value,
                    "owner_id": NODE_OWNER_ID,
                    "purpose": purpose.value,
                    "asset": asset,
                }
                for purpose, asset in node_accounts
            ],
        )
        return NetworkRef(network_id, code, name, currency)

    async def create_partner(self, network: NetworkRef, name: str) -> int:
        partner_id = await self._insert_id(
            insert(t.partners)
            .values(network_id=network.id, name=name, created_at=self.clock.now())
            .returning(t.partners.c.id)
        )
        # Its PREPAID account too, from the start: a purchase paid from a wallet takes it from a cache, which then
        # only ever holds committed accounts (migration 0034 gave older partners theirs).
        await self.connection.execute(
            insert(t.accounts),
            [
                {
                    "network_id": network.id,
                    "owner_kind": OwnerKind.PARTNER.value,
                    "owner_id": partner_id,
                    "purpose": purpose.value,
                    "asset": f"money:{network.currency}",
                }
                for purpose in (AccountPurpose.OBLIGATIONS, AccountPurpose.PREPAID)
            ],
        )
        return partner_id

    async def set_partner_email(
        self, network: NetworkRef, partner_id: int, email: str | None, language: str | None = None
    ) -> bool:
        p = t.partners
        values: dict[str, str | None] = {"email": email} | ({"mail_language": language} if language else {})
        result = await self.connection.execute(
            update(p).where(p.c.network_id == network.id, p.c.id == partner_id).values(**values)
        )
        return bool(result.rowcount)

    async def create_outlet(self, network: NetworkRef, partner_id: int, name: str, timezone: str) -> int:
        return await self._insert_id(
            insert(t.outlets)
            .values(
                network_id=network.id, partner_id=partner_id, name=name, timezone=timezone, created_at=self.clock.now()
            )
            .returning(t.outlets.c.id)
        )

    async def create_terminal(
        self,
        network: NetworkRef,
        outlet_id: int,
        name: str,
        key_hash: str,
        key_prefix: str,
        key_expires_at: datetime | None = None,
    ) -> int:
        return await self._insert_id(
            insert(t.terminals)
            .values(
                network_id=network.id,
                outlet_id=outlet_id,
                name=name,
                key_hash=key_hash,
                key_prefix=key_prefix,
                key_expires_at=key_expires_at,
                active=True,
                created_at=self.clock.now(),
            )
            .returning(t.terminals.c.id)
        )

    async def create_cashier(
        self, network: NetworkRef, outlet_id: int, login: str, name: str, password_hash: str
    ) -> int:
        return await self._insert_id(
            insert(t.cashiers)
            .values(
                network_id=network.id,
                outlet_id=outlet_id,
                login=login,
                name=name,
                password_hash=password_hash,
                active=True,
                created_at=self.clock.now(),
            )
            .returning(t.cashiers.c.id)
        )

    async def set_cashier_password(self, network: NetworkRef, cashier_id: int, password_hash: str) -> bool:
        result = await self.connection.execute(
            update(t.cashiers)
            .where(t.cashiers.c.id == cashier_id, t.cashiers.c.network_id == network.id)
            .values(password_hash=password_hash)
        )
        return bool(result.rowcount)

    async def partner_exists(self, network: NetworkRef, partner_id: int) -> bool:
        p = t.partners
        return bool(
            await self.connection.scalar(select(exists().where(p.c.id == partner_id, p.c.network_id == network.id)))
        )

    async def outlet_exists(self, network: NetworkRef, outlet_id: int) -> bool:
        o = t.outlets
        return bool(
            await self.connection.scalar(select(exists().where(o.c.id == outlet_id, o.c.network_id == network.id)))
        )

    async def outlet_partner_id(self, network: NetworkRef, outlet_id: int) -> int | None:
        o = t.outlets
        found = await self.connection.scalar(
            select(o.c.partner_id).where(o.c.id == outlet_id, o.c.network_id == network.id)
        )
        return None if found is None else int(found)

    async def cashier_partner_id(self, network: NetworkRef, cashier_id: int) -> int | None:
        c, o = t.cashiers, t.outlets
        found = await self.connection.scalar(
            select(o.c.partner_id)
            .join(c, c.c.outlet_id == o.c.id)
            .where(c.c.id == cashier_id, c.c.network_id == network.id)
        )
        return None if found is None else int(found)

    async def set_cashier_active(self, network: NetworkRef, cashier_id: int, active: bool) -> bool:
        c = t.cashiers
        result = await self.connection.execute(
            update(c).where(c.c.id == cashier_id, c.c.network_id == network.id).values(active=active)
        )
        return bool(result.rowcount)

    async def staff_outlets(self, network: NetworkRef, partner_id: int | None) -> list[StaffOutlet]:
        o, p, c = t.outlets, t.partners, t.cashiers
        cashier_counts = (
            select(c.c.outlet_id, func.count().label("cashiers"))
            .where(c.c.network_id == network.id)
            .group_by(c.c.outlet_id)
            .subquery()
        )
        query = (
            select(
                o.c.id,
                o.c.name,
                o.c.partner_id,
                p.c.name.label("partner_name"),
                o.c.timezone,
                func.coalesce(cashier_counts.c.cashiers, 0).label("cashiers"),
            )
            .join(p, p.c.id == o.c.partner_id)
            .outerjoin(cashier_counts, cashier_counts.c.outlet_id == o.c.id)
            .where(o.c.network_id == network.id)
            .order_by(p.c.name, o.c.name, o.c.id)
        )
        if partner_id is not None:
            query = query.where(o.c.partner_id == partner_id)
        return [
            StaffOutlet(row.id, row.name, row.partner_id, row.partner_name, row.timezone, int(row.cashiers))
            for row in await self.connection.execute(query)
        ]

    async def staff_cashiers(
        self, network: NetworkRef, partner_id: int | None, cashier_id: int | None = None
    ) -> list[StaffCashier]:
        c, o = t.cashiers, t.outlets
        query = (
            select(
                c.c.id, c.c.outlet_id, o.c.name.label("outlet_name"), o.c.partner_id, c.c.login, c.c.name, c.c.active
            )
            .join(o, o.c.id == c.c.outlet_id)
            .where(c.c.network_id == network.id)
            .order_by(o.c.name, c.c.login)
        )
        if partner_id is not None:
            query = query.where(o.c.partner_id == partner_id)
        if cashier_id is not None:
            query = query.where(c.c.id == cashier_id)
        return [
            StaffCashier(row.id, row.outlet_id, row.outlet_name, row.partner_id, row.login, row.name, bool(row.active))
            for row in await self.connection.execute(query)
        ]

    async def partner_names(self, network: NetworkRef) -> dict[int, str]:
        p = t.partners
        rows = await self.connection.execute(
            select(p.c.id, p.c.name).where(p.c.network_id == network.id).order_by(p.c.name)
        )
        return {int(row.id): row.name for row in rows}

    async def set_registered_country(self, network_id: int, country: str) -> None:
        n = t.networks
        await self.connection.execute(update(n).where(n.c.id == network_id).values(country=country))

    async def create_console_user(
        self, network_id: int, role: str, partner_id: int | None, login: str, name: str, password_hash: str
    ) -> int:
        """A console login written in the admin's transaction (a shop's registration writes it with its network)."""
        return await self._insert_id(
            insert(t.console_users)
            .values(
                network_id=network_id,
                role=role,
                partner_id=partner_id,
                login=login,
                name=name,
                password_hash=password_hash,
                active=True,
                created_at=self.clock.now(),
            )
            .returning(t.console_users.c.id)
        )

    async def listing(self, network: NetworkRef) -> dict[str, list[dict[str, Any]]]:
        async def rows(statement: Any) -> list[dict[str, Any]]:
            return [dict(row._mapping) for row in await self.connection.execute(statement)]

        previous = await retired_terminal_keys(self.connection, network.id, self.clock.now())
        terminals = await rows(
            select(
                t.terminals.c.id,
                t.terminals.c.outlet_id,
                t.terminals.c.name,
                t.terminals.c.key_prefix,
                t.terminals.c.active,
                t.terminals.c.key_expires_at,
            )
            .where(t.terminals.c.network_id == network.id)
            .order_by(t.terminals.c.id)
        )
        for terminal in terminals:  # a stored moment as UTC (SQLite keeps no zone), and the keys still in grace
            expires_at = terminal["key_expires_at"]
            terminal["key_expires_at"] = None if expires_at is None else t.as_utc(expires_at)
            terminal["previous_keys"] = previous.get(terminal["id"], []) if terminal["active"] else []

        return {
            "partners": await rows(
                select(t.partners.c.id, t.partners.c.name)
                .where(t.partners.c.network_id == network.id)
                .order_by(t.partners.c.id)
            ),
            "outlets": await rows(
                select(t.outlets.c.id, t.outlets.c.partner_id, t.outlets.c.name, t.outlets.c.timezone)
                .where(t.outlets.c.network_id == network.id)
                .order_by(t.outlets.c.id)
            ),
            "terminals": terminals,
            "cashiers": await rows(
                select(
                    t.cashiers.c.id, t.cashiers.c.outlet_id, t.cashiers.c.login, t.cashiers.c.name, t.cashiers.c.active
                )
                .where(t.cashiers.c.network_id == network.id)
                .order_by(t.cashiers.c.id)
            ),
        }

    # --- the administrator's console (terminals, partners) ---
    async def terminal_key_prefix(self, network: NetworkRef, terminal_id: int) -> str | None:
        term = t.terminals
        found = await self.connection.scalar(
            select(term.c.key_prefix).where(term.c.id == terminal_id, term.c.network_id == network.id)
        )
        return None if found is None else str(found)

    async def set_terminal_active(self, network: NetworkRef, terminal_id: int, active: bool) -> None:
        term = t.terminals
        await self.connection.execute(
            update(term).where(term.c.id == terminal_id, term.c.network_id == network.id).values(active=active)
        )

    async def partners_with_email(self, network: NetworkRef) -> list[dict[str, Any]]:
        p = t.partners
        statement = (
            select(p.c.id, p.c.name, p.c.email, p.c.mail_language.label("language"))
            .where(p.c.network_id == network.id)
            .order_by(p.c.id)
        )
        return [dict(row._mapping) for row in await self.connection.execute(statement)]


class SqlAdminStore:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqlAdminUnitOfWork]:
        async with self.engine.begin() as connection:
            yield SqlAdminUnitOfWork(connection, self.clock)


def _plan_values(plan: str, trial_ends_at: datetime | None) -> dict[str, object]:
    """The plan's columns only when they differ from the defaults (migration 0054's), so that creating a network
    works on a database before 0054 too (the migrations' tests create networks on older schemas)."""
    values: dict[str, object] = {}
    if plan != DEFAULT_PLAN_CODE:
        values["plan"] = plan
    if trial_ends_at is not None:
        values["trial_ends_at"] = trial_ends_at
    return values
