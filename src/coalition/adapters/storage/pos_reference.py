"""The POS unit of work's reference data: terminals and their keys, the program and the node's accounts, partners,
outlets and cashiers, the permissions matrix, the network's points breakage policy."""

from __future__ import annotations

from collections.abc import Sequence

from coalition.adapters.storage.limits_store import PROGRAM_WITH_LIMITS
from coalition.adapters.storage.pos_base import SqlPart
from coalition.application.ports import (
    CatalogueEntry,
    ProgramContext,
    TerminalContext,
)
from coalition.domain.bonus import BonusProgram, Tier
from coalition.domain.breakage import BreakagePolicy, PointsBreakage
from coalition.domain.errors import NetworkSuspended
from coalition.domain.identifiers import phone_region
from coalition.domain.ledger import (
    AccountPurpose,
    OwnerKind,
    money_asset,
    points_asset,
)
from coalition.domain.limits import LIMIT_COLUMNS, PurchaseLimits
from coalition.domain.permissions import Operation, Permission


class SqlReference(SqlPart):
    """The `ReferencePort` in SQL."""

    async def terminal_by_key_hash(self, key_hash: str) -> TerminalContext | None:
        # its current key, or a key a rotation replaced (valid until its grace ends): one round trip either way
        keys = "(SELECT id, key_expires_at AS until, 0 AS retired FROM terminals WHERE key_hash = $1 UNION ALL "
        keys += "SELECT terminal_id, valid_until, 1 FROM retired_keys WHERE key_hash = $1 AND terminal_id IS NOT NULL)"
        return await self._terminal(keys, key_hash)

    async def terminal_by_id(self, terminal_id: int) -> TerminalContext | None:
        keys = "(SELECT id, NULL AS until, 0 AS retired FROM terminals WHERE id = $1)"
        return await self._terminal(keys, terminal_id)

    async def _terminal(self, keys: str, value: object) -> TerminalContext | None:
        row = await self.db.fetchrow(
            "SELECT t.id, t.network_id, o.id AS outlet_id, o.partner_id, o.name, o.timezone, p.name AS partner_name, "
            "k.until, k.retired, d.id AS device_id, n.suspended_at, n.country, n.currency "
            f"FROM terminals t JOIN {keys} k ON k.id = t.id "
            "JOIN outlets o ON o.id = t.outlet_id JOIN partners p ON p.id = o.partner_id "
            "JOIN networks n ON n.id = t.network_id "
            "LEFT JOIN devices d ON d.terminal_id = t.id WHERE t.active = $2",
            value,
            True,
        )
        if row is None:
            return None
        if row["suspended_at"] is not None:  # the operator suspended the network (domain/plans.py): never cached
            raise NetworkSuspended("the server's operator has suspended this network: its tills and devices stop")
        return TerminalContext(
            row["id"], row["network_id"], row["outlet_id"], row["partner_id"], row["name"], row["timezone"],
            row["partner_name"], self.db.timestamp(row["until"]), bool(row["retired"]),
            None if row["device_id"] is None else int(row["device_id"]),
            phone_region(row["country"], row["currency"]),
        )  # fmt: skip

    async def program_of(self, network_id: int) -> ProgramContext:
        program_row = await self.db.fetchrow(PROGRAM_WITH_LIMITS, network_id)  # the limits too: one query
        if program_row is None:
            raise LookupError(f"network {network_id} has no program")
        tier_rows = await self.db.fetch(
            "SELECT min_lifetime_spend_minor, accrual_bp, fixed_points_per_check, redeem_cap_bp FROM program_tiers "
            "WHERE program_id = $1 ORDER BY min_lifetime_spend_minor",
            program_row["id"],
        )
        program = BonusProgram(
            id=program_row["id"],
            code=program_row["code"],
            currency=program_row["currency"],
            tiers=tuple(
                Tier(r["min_lifetime_spend_minor"], r["accrual_bp"], r["fixed_points_per_check"], r["redeem_cap_bp"])
                for r in tier_rows
            ),
            min_check_for_redeem_minor=program_row["min_check_for_redeem_minor"],
            point_value_minor=program_row["point_value_minor"],
            points_expire_days=program_row["points_expire_days"],
        )
        node_rows = await self.db.fetch(
            "SELECT id, purpose, asset FROM accounts WHERE network_id = $1 AND owner_kind = $2",
            network_id,
            OwnerKind.NODE.value,
        )
        node = {(r["purpose"], r["asset"]): r["id"] for r in node_rows}
        pts, money = points_asset(program.code), money_asset(program.currency)
        return ProgramContext(
            program=program,
            points_issued_account=node[(AccountPurpose.POINTS_ISSUED.value, pts)],
            points_redeemed_account=node[(AccountPurpose.POINTS_REDEEMED.value, pts)],
            points_breakage_account=node[(AccountPurpose.POINTS_BREAKAGE.value, pts)],
            node_obligations_account=node[(AccountPurpose.OBLIGATIONS.value, money)],
            limits=PurchaseLimits(*(program_row[name] for name in LIMIT_COLUMNS)),
            card_min_first_purchase_minor=program_row["card_min_first_purchase_minor"],
            phone_region=phone_region(program_row["country"], program.currency),
        )

    async def partner_obligations_account(self, network_id: int, partner_id: int) -> int:
        account_id = await self.db.fetchval(
            "SELECT id FROM accounts WHERE network_id = $1 AND owner_kind = $2 AND owner_id = $3 AND purpose = $4",
            network_id,
            OwnerKind.PARTNER.value,
            partner_id,
            AccountPurpose.OBLIGATIONS.value,
        )
        if account_id is None:
            raise LookupError(f"partner {partner_id} has no obligations account")
        return int(account_id)

    async def cashier_is_active(self, outlet_id: int, login: str) -> bool:
        found = await self.db.fetchval(
            "SELECT id FROM cashiers WHERE outlet_id = $1 AND login = $2 AND active = $3", outlet_id, login, True
        )
        return found is not None

    async def partner_ids(self, network_id: int, names: Sequence[str]) -> dict[str, int]:
        if not names:
            return {}
        matches, arguments = self.db.any_of("name", 2, names)
        rows = await self.db.fetch(
            f"SELECT id, name FROM partners WHERE network_id = $1 AND {matches}", network_id, *arguments
        )
        return {row["name"]: int(row["id"]) for row in rows}

    async def catalogue_entries(
        self, network_id: int, partner_id: int, skus: Sequence[str]
    ) -> dict[str, CatalogueEntry]:
        if not skus:
            return {}
        matches, arguments = self.db.any_of("sku", 3, skus)
        rows = await self.db.fetch(
            "SELECT sku, category_code, price_minor FROM products WHERE network_id = $1 AND partner_id = $2 AND "
            f"active AND {matches}",
            network_id,
            partner_id,
            *arguments,
        )
        return {
            row["sku"]: CatalogueEntry(
                row["category_code"], None if row["price_minor"] is None else int(row["price_minor"])
            )
            for row in rows
        }

    async def outlet_ids(self, network_id: int, names: Sequence[str] | None = None) -> dict[str, int]:
        if names is None:
            rows = await self.db.fetch("SELECT id, name FROM outlets WHERE network_id = $1", network_id)
            return {row["name"]: int(row["id"]) for row in rows}
        if not names:
            return {}
        matches, arguments = self.db.any_of("name", 2, names)
        rows = await self.db.fetch(
            f"SELECT id, name FROM outlets WHERE network_id = $1 AND {matches}", network_id, *arguments
        )
        return {row["name"]: int(row["id"]) for row in rows}

    async def outlet_name(self, outlet_id: int) -> str:
        found = await self.db.fetchval("SELECT name FROM outlets WHERE id = $1", outlet_id)
        if found is None:
            raise LookupError(f"outlet {outlet_id} does not exist")
        return str(found)

    async def permissions(self, network_id: int) -> list[Permission]:
        rows = await self.db.fetch(
            "SELECT outlet_id, counter, operation FROM outlet_permissions WHERE network_id = $1 "
            "ORDER BY outlet_id, counter, operation",
            network_id,
        )
        return [Permission(int(row["outlet_id"]), row["counter"], Operation(row["operation"])) for row in rows]

    async def replace_permissions(self, network_id: int, permissions: Sequence[Permission]) -> None:
        await self.db.execute("DELETE FROM outlet_permissions WHERE network_id = $1", network_id)
        await self.db.insert_many(
            "outlet_permissions",
            ("network_id", "outlet_id", "counter", "operation"),
            [(network_id, p.outlet_id, p.counter, p.operation.value) for p in permissions],
        )

    async def points_breakage(self, network_id: int) -> BreakagePolicy:
        row = await self.db.fetchrow(
            "SELECT points_breakage, points_breakage_share_bp FROM networks WHERE id = $1", network_id
        )
        if row is None:
            raise LookupError(f"network {network_id} does not exist")
        return BreakagePolicy(PointsBreakage(row["points_breakage"]), row["points_breakage_share_bp"])

    async def set_points_breakage(self, network_id: int, policy: BreakagePolicy) -> None:
        await self.db.execute(
            "UPDATE networks SET points_breakage = $1, points_breakage_share_bp = $2 WHERE id = $3",
            policy.kind.value,
            policy.share_bp,
            network_id,
        )
