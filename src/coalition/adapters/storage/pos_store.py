"""The SQL implementation of the POS unit of work, on SQLAlchemy Core (no ORM session on the hot path)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.application.ports import (
    MemberRef,
    NewPurchase,
    NewRefund,
    Profile,
    ProgramContext,
    StatementLine,
    StoredPurchase,
    StoredResponse,
    TerminalContext,
)
from coalition.application.pos import DuplicateKey
from coalition.domain.bonus import BonusProgram, Tier
from coalition.domain.cards import CardState
from coalition.domain.identifiers import IdentifierKind
from coalition.domain.ledger import AccountPurpose, OwnerKind, Transaction
from coalition.domain.lots import Lot, LotTake
from coalition.domain.purchase import BasketLine, MemberPoints, NewLot


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def utc(moment: datetime) -> datetime:
    converted = as_utc(moment)
    if converted is None:
        raise ValueError("a timestamp is required")
    return converted


def duplicate_of(error: IntegrityError) -> DuplicateKey | None:
    """Name the unique key a failed insert hit, on either engine, or None if it was another constraint."""
    message = str(error.orig)
    if "unique" not in message.lower() and "duplicate" not in message.lower():
        return None
    for marker, what in (
        ("idempotency_keys", "idempotency"),
        ("receipt", "receipt"),
        ("identifiers", "identifier"),
        ("cards", "card"),
    ):
        if marker in message:
            return DuplicateKey(what)
    return DuplicateKey("unique")


class SqlPosUnitOfWork:
    """One database transaction. Methods map one-to-one to the `PosUnitOfWork` port."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def _execute(self, statement: Any, parameters: Any = None) -> Any:
        try:
            return await self.connection.execute(statement, parameters)
        except IntegrityError as error:
            duplicate = duplicate_of(error)
            if duplicate is not None:
                raise duplicate from error
            raise

    # --- reads --------------------------------------------------------------------------------------------

    async def terminal_by_key_hash(self, key_hash: str) -> TerminalContext | None:
        row = (
            await self.connection.execute(
                select(
                    t.terminals.c.id,
                    t.terminals.c.network_id,
                    t.outlets.c.id.label("outlet_id"),
                    t.outlets.c.partner_id,
                    t.outlets.c.name,
                    t.outlets.c.timezone,
                )
                .join(t.outlets, t.outlets.c.id == t.terminals.c.outlet_id)
                .where(t.terminals.c.key_hash == key_hash, t.terminals.c.active.is_(True))
            )
        ).first()
        if row is None:
            return None
        return TerminalContext(row.id, row.network_id, row.outlet_id, row.partner_id, row.name, row.timezone)

    async def program_of(self, network_id: int) -> ProgramContext:
        program_row = (
            await self.connection.execute(select(t.programs).where(t.programs.c.network_id == network_id))
        ).one()
        tier_rows = (
            await self.connection.execute(
                select(t.program_tiers)
                .where(t.program_tiers.c.program_id == program_row.id)
                .order_by(t.program_tiers.c.min_lifetime_spend_minor)
            )
        ).all()
        program = BonusProgram(
            id=program_row.id,
            code=program_row.code,
            currency=program_row.currency,
            tiers=tuple(
                Tier(r.min_lifetime_spend_minor, r.accrual_bp, r.fixed_points_per_check, r.redeem_cap_bp)
                for r in tier_rows
            ),
            min_check_for_redeem_minor=program_row.min_check_for_redeem_minor,
            point_value_minor=program_row.point_value_minor,
            points_expire_days=program_row.points_expire_days,
        )
        node = await self._node_accounts(network_id)
        return ProgramContext(
            program=program,
            points_issued_account=node[(AccountPurpose.POINTS_ISSUED, program.points_asset)],
            points_redeemed_account=node[(AccountPurpose.POINTS_REDEEMED, program.points_asset)],
            points_breakage_account=node[(AccountPurpose.POINTS_BREAKAGE, program.points_asset)],
            node_obligations_account=node[(AccountPurpose.OBLIGATIONS, program.money_asset)],
        )

    async def _node_accounts(self, network_id: int) -> dict[tuple[str, str], int]:
        rows = await self.connection.execute(
            select(t.accounts.c.id, t.accounts.c.purpose, t.accounts.c.asset).where(
                t.accounts.c.network_id == network_id, t.accounts.c.owner_kind == OwnerKind.NODE.value
            )
        )
        return {(row.purpose, row.asset): row.id for row in rows}

    async def partner_obligations_account(self, network_id: int, partner_id: int) -> int:
        account_id = await self.connection.scalar(
            select(t.accounts.c.id).where(
                t.accounts.c.network_id == network_id,
                t.accounts.c.owner_kind == OwnerKind.PARTNER.value,
                t.accounts.c.owner_id == partner_id,
                t.accounts.c.purpose == AccountPurpose.OBLIGATIONS.value,
            )
        )
        if account_id is None:
            raise LookupError(f"partner {partner_id} has no obligations account")
        return int(account_id)

    async def find_member(self, network_id: int, candidates: Sequence[str], *, lock: bool) -> MemberRef | None:
        m, c, i, b = t.members, t.cards, t.identifiers, t.member_balances
        statement = (
            select(m.c.id, m.c.kind, b.c.account_id, c.c.id.label("card_id"), c.c.number, c.c.state, i.c.value)
            .select_from(
                i.join(m, m.c.id == i.c.member_id).join(b, b.c.member_id == m.c.id).outerjoin(c, c.c.id == i.c.card_id)
            )
            .where(i.c.network_id == network_id, i.c.value.in_(list(candidates)))
        )
        if lock:
            statement = statement.with_for_update(of=[m.c.id, b.c.account_id])
        rows = (await self.connection.execute(statement)).all()
        if not rows:
            return None
        # The most literal reading of what was typed wins when two stored identifiers match.
        row = min(rows, key=lambda r: list(candidates).index(r.value))
        state = CardState(row.state) if row.state else None
        return MemberRef(row.id, row.kind, row.account_id, row.card_id, row.number, state)

    async def member_points(self, member: MemberRef) -> MemberPoints:
        head = (
            await self.connection.execute(
                select(t.member_balances.c.balance, t.members.c.lifetime_spend_minor)
                .join(t.members, t.members.c.id == t.member_balances.c.member_id)
                .where(t.member_balances.c.account_id == member.points_account_id)
            )
        ).one()
        lot_rows = await self.connection.execute(
            select(t.lots.c.id, t.lots.c.remaining, t.lots.c.expires_at).where(
                t.lots.c.account_id == member.points_account_id, t.lots.c.remaining > 0
            )
        )
        lots = tuple(Lot(r.id, r.remaining, as_utc(r.expires_at)) for r in lot_rows)
        return MemberPoints(head.balance, head.lifetime_spend_minor, lots)

    async def stored_response(self, terminal_id: int, key: str) -> StoredResponse | None:
        k = t.idempotency_keys
        row = (
            await self.connection.execute(
                select(k.c.request_hash, k.c.status_code, k.c.response).where(
                    k.c.terminal_id == terminal_id, k.c.key == key
                )
            )
        ).first()
        if row is None:
            return None
        return StoredResponse(row.request_hash, row.status_code, json.loads(row.response))

    async def member_profile(self, member_id: int) -> Profile:
        row = (await self.connection.execute(select(t.members).where(t.members.c.id == member_id))).one()
        return Profile(
            name=row.name,
            phone=row.phone,
            email=row.email,
            birth_date=row.birth_date,
            notes=row.notes,
            consent_data_processing=row.consent_data_processing,
            consent_newsletters=row.consent_newsletters,
        )

    async def member_cards(self, member_id: int) -> list[tuple[str, CardState]]:
        rows = await self.connection.execute(
            select(t.cards.c.number, t.cards.c.state).where(t.cards.c.member_id == member_id).order_by(t.cards.c.id)
        )
        return [(row.number, CardState(row.state)) for row in rows]

    async def purchase_for_refund(self, network_id: int, purchase_id: str) -> StoredPurchase | None:
        """The purchase with its refunds so far, read after locking its member so refunds serialize."""
        p = t.purchases
        row = (
            await self.connection.execute(
                select(p, t.outlets.c.partner_id, t.member_balances.c.account_id)
                .join(t.outlets, t.outlets.c.id == p.c.outlet_id)
                .join(t.member_balances, t.member_balances.c.member_id == p.c.member_id)
                .where(p.c.id == purchase_id, p.c.network_id == network_id)
            )
        ).first()
        if row is None:
            return None
        await self.connection.execute(select(t.members.c.id).where(t.members.c.id == row.member_id).with_for_update())
        refunded = await self.connection.scalar(
            select(func.coalesce(func.sum(t.refunds.c.refund_minor), 0)).where(t.refunds.c.purchase_id == purchase_id)
        )
        line_rows = await self.connection.execute(
            select(t.purchase_lines)
            .where(t.purchase_lines.c.purchase_id == purchase_id)
            .order_by(t.purchase_lines.c.line_no)
        )
        lines = tuple(BasketLine(r.sku, r.category, r.quantity_milli, r.unit_price_minor) for r in line_rows)
        returned_rows = await self.connection.execute(
            select(t.refund_lines.c.sku, func.sum(t.refund_lines.c.quantity_milli).label("quantity"))
            .join(t.refunds, t.refunds.c.id == t.refund_lines.c.refund_id)
            .where(t.refunds.c.purchase_id == purchase_id)
            .group_by(t.refund_lines.c.sku)
        )
        return StoredPurchase(
            id=row.id,
            outlet_id=row.outlet_id,
            partner_id=row.partner_id,
            member_id=row.member_id,
            points_account_id=row.account_id,
            check_minor=row.check_minor,
            amount_due_minor=row.amount_due_minor,
            points_earned=row.points_earned,
            points_redeemed=row.points_redeemed,
            tx_id=row.tx_id,
            refunded_before_minor=int(refunded or 0),
            lines=lines,
            refunded_quantity_milli={r.sku: int(r.quantity) for r in returned_rows},
        )

    async def statement(self, member: MemberRef, limit: int) -> list[StatementLine]:
        tx, po = t.ledger_transactions, t.postings
        rows = await self.connection.execute(
            select(
                tx.c.id,
                tx.c.kind,
                tx.c.occurred_at,
                tx.c.recorded_at,
                tx.c.memo,
                tx.c.reverses_tx_id,
                t.outlets.c.name,
                func.sum(po.c.amount).label("amount"),
            )
            .join(po, po.c.tx_id == tx.c.id)
            .outerjoin(t.outlets, t.outlets.c.id == tx.c.outlet_id)
            .where(po.c.account_id == member.points_account_id)
            .group_by(
                tx.c.id, tx.c.kind, tx.c.occurred_at, tx.c.recorded_at, tx.c.memo, tx.c.reverses_tx_id, t.outlets.c.name
            )
            .order_by(tx.c.id)
        )
        lines: list[StatementLine] = []
        running = 0
        for row in rows:
            running += int(row.amount)
            lines.append(
                StatementLine(
                    tx_id=row.id,
                    kind=row.kind,
                    occurred_at=utc(row.occurred_at),
                    recorded_at=utc(row.recorded_at),
                    outlet_name=row.name,
                    amount=int(row.amount),
                    balance_after=running,
                    memo=row.memo,
                    reverses_tx_id=row.reverses_tx_id,
                )
            )
        return lines[-limit:]

    # --- writes -------------------------------------------------------------------------------------------

    async def store_response(self, terminal_id: int, key: str, response: StoredResponse, now: datetime) -> None:
        await self._execute(
            insert(t.idempotency_keys).values(
                terminal_id=terminal_id,
                key=key,
                request_hash=response.request_hash,
                status_code=response.status_code,
                response=json.dumps(response.body, separators=(",", ":")),
                created_at=now,
            )
        )

    async def post(
        self, network_id: int, tx: Transaction, outlet_id: int | None, occurred_at: datetime, now: datetime
    ) -> int:
        tx_id = await self.connection.scalar(
            insert(t.ledger_transactions)
            .values(
                network_id=network_id,
                kind=tx.kind.value,
                outlet_id=outlet_id,
                reverses_tx_id=tx.reverses_tx_id,
                memo=tx.memo,
                occurred_at=occurred_at,
                recorded_at=now,
            )
            .returning(t.ledger_transactions.c.id)
        )
        await self.connection.execute(
            insert(t.postings),
            [{"tx_id": tx_id, "account_id": p.account_id, "asset": p.asset, "amount": p.amount} for p in tx.postings],
        )
        return int(tx_id)

    async def apply_lots(self, tx_id: int, account_id: int, takes: Sequence[LotTake], new_lot: NewLot | None) -> None:
        if takes:
            await self.connection.execute(
                _LOT_DECREMENT, [{"take_lot_id": take.lot_id, "take_points": take.points} for take in takes]
            )
            await self.connection.execute(
                insert(t.lot_takes), [{"tx_id": tx_id, "lot_id": take.lot_id, "points": take.points} for take in takes]
            )
        if new_lot is not None:
            await self.connection.execute(
                insert(t.lots).values(
                    account_id=account_id,
                    tx_id=tx_id,
                    points=new_lot.points,
                    remaining=new_lot.points,
                    expires_at=new_lot.expires_at,
                )
            )

    async def set_member_points(self, member_id: int, account_id: int, balance: int, lifetime_spend_minor: int) -> None:
        await self.connection.execute(
            update(t.member_balances).where(t.member_balances.c.account_id == account_id).values(balance=balance)
        )
        await self.connection.execute(
            update(t.members).where(t.members.c.id == member_id).values(lifetime_spend_minor=lifetime_spend_minor)
        )

    async def insert_purchase(self, purchase: NewPurchase, tx_id: int | None, now: datetime) -> None:
        await self._execute(
            insert(t.purchases).values(
                id=purchase.id,
                network_id=purchase.terminal.network_id,
                outlet_id=purchase.terminal.outlet_id,
                terminal_id=purchase.terminal.terminal_id,
                cashier_login=purchase.cashier_login,
                member_id=purchase.member.member_id,
                card_id=purchase.member.card_id,
                receipt=purchase.receipt,
                check_minor=purchase.check_minor,
                points_redeemed=purchase.points_redeemed,
                amount_due_minor=purchase.amount_due_minor,
                points_earned=purchase.points_earned,
                tx_id=tx_id,
                occurred_at=purchase.occurred_at,
                recorded_at=now,
            )
        )
        if purchase.lines:
            await self.connection.execute(
                insert(t.purchase_lines),
                [
                    {
                        "purchase_id": purchase.id,
                        "line_no": number,
                        "sku": line.sku,
                        "category": line.category,
                        "quantity_milli": line.quantity_milli,
                        "unit_price_minor": line.unit_price_minor,
                        "total_minor": line.total_minor,
                    }
                    for number, line in enumerate(purchase.lines, start=1)
                ],
            )

    async def insert_refund(self, refund: NewRefund, tx_id: int | None, now: datetime) -> None:
        await self.connection.execute(
            insert(t.refunds).values(
                id=refund.id,
                purchase_id=refund.purchase_id,
                terminal_id=refund.terminal_id,
                refund_minor=refund.refund_minor,
                money_back_minor=refund.money_back_minor,
                points_clawed_back=refund.points_clawed_back,
                points_returned=refund.points_returned,
                tx_id=tx_id,
                recorded_at=now,
            )
        )
        if refund.quantities_milli:
            await self.connection.execute(
                insert(t.refund_lines),
                [
                    {"refund_id": refund.id, "sku": sku, "quantity_milli": q}
                    for sku, q in refund.quantities_milli.items()
                ],
            )

    async def create_member(
        self, network_id: int, kind: str, profile: Profile, program: ProgramContext, now: datetime
    ) -> MemberRef:
        member_id = await self.connection.scalar(
            insert(t.members)
            .values(
                network_id=network_id,
                kind=kind,
                name=profile.name,
                phone=profile.phone,
                email=profile.email,
                birth_date=profile.birth_date,
                notes=profile.notes,
                consent_data_processing=profile.consent_data_processing,
                consent_newsletters=profile.consent_newsletters,
                lifetime_spend_minor=0,
                created_at=now,
            )
            .returning(t.members.c.id)
        )
        account_id = await self.connection.scalar(
            insert(t.accounts)
            .values(
                network_id=network_id,
                owner_kind=OwnerKind.MEMBER.value,
                owner_id=member_id,
                purpose=AccountPurpose.MEMBER_POINTS.value,
                asset=program.program.points_asset,
            )
            .returning(t.accounts.c.id)
        )
        await self.connection.execute(
            insert(t.member_balances).values(account_id=account_id, member_id=member_id, balance=0)
        )
        return MemberRef(int(member_id), kind, int(account_id), None, None, None)

    async def add_card(self, network_id: int, member_id: int, number: str, state: CardState, now: datetime) -> int:
        card_id = await self._scalar_insert(
            insert(t.cards)
            .values(
                network_id=network_id,
                member_id=member_id,
                number=number,
                state=state.value,
                issued_at=now,
                activated_at=now if state is CardState.ACTIVE else None,
                state_changed_at=now,
            )
            .returning(t.cards.c.id)
        )
        return card_id

    async def _scalar_insert(self, statement: Any) -> int:
        result = await self._execute(statement)
        return int(result.scalar_one())

    async def add_identifier(
        self, network_id: int, member_id: int, card_id: int | None, kind: IdentifierKind, value: str
    ) -> None:
        await self._execute(
            insert(t.identifiers).values(
                network_id=network_id, member_id=member_id, card_id=card_id, kind=kind.value, value=value
            )
        )

    async def set_card_state(
        self, card_id: int, state: CardState, now: datetime, replaced_by_card_id: int | None = None
    ) -> None:
        values: dict[str, Any] = {"state": state.value, "state_changed_at": now}
        if state is CardState.ACTIVE:
            values["activated_at"] = now
        if replaced_by_card_id is not None:
            values["replaced_by_card_id"] = replaced_by_card_id
        await self.connection.execute(update(t.cards).where(t.cards.c.id == card_id).values(**values))


_LOT_DECREMENT = (
    update(t.lots)
    .where(and_(t.lots.c.id == bindparam("take_lot_id"), t.lots.c.remaining >= bindparam("take_points")))
    .values(remaining=t.lots.c.remaining - bindparam("take_points"))
)


class SqlStore:
    """Opens units of work on an engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqlPosUnitOfWork]:
        async with self.engine.connect() as connection:
            transaction = await connection.begin()
            try:
                yield SqlPosUnitOfWork(connection)
            except BaseException:
                await transaction.rollback()
                raise
            try:
                await transaction.commit()
            except IntegrityError as error:
                duplicate = duplicate_of(error)
                if duplicate is not None:
                    raise duplicate from error
                raise
