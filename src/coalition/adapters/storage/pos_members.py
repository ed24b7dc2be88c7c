"""The POS unit of work's members and cards: finding a member by an identifier (locked in member order when asked),
enrolment, a card's life cycle, profiles and labels, and the members the jobs walk through."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from coalition.adapters.storage.driver import Row
from coalition.adapters.storage.pos_base import SqlPart
from coalition.application.ports import (
    MemberHistory,
    MemberLabels,
    MemberListing,
    MemberRef,
    Profile,
    ProgramContext,
)
from coalition.domain.cards import CardState
from coalition.domain.identifiers import IdentifierKind
from coalition.domain.ledger import (
    AccountPurpose,
    OwnerKind,
)
from coalition.domain.members import segments_from_text, segments_to_text

# The card of the identifier that found a member. On PostgreSQL a probe of `pk_cards` per identifier found, whatever
# the size of the table: the prepared statements run generic plans, which guess ten rows for `i.value = ANY($n)` and,
# in a network of a few thousand cards, chose to hash the whole of `cards` for every purchase (a sequential scan of
# 2,005 cards per purchase in the quick benchmark's database). SQLite has no LATERAL and plans per statement.
CARD_JOIN = {
    "postgresql": "LEFT JOIN LATERAL (SELECT c.id, c.number, c.state FROM cards c WHERE c.id = i.card_id OFFSET 0) c "
    "ON true",
    "sqlite": "LEFT JOIN cards c ON c.id = i.card_id",
}

_FIND_MEMBER = """
SELECT m.id, m.kind, b.account_id, c.id AS card_id, c.number, c.state, i.value
FROM identifiers i
JOIN members m ON m.id = i.member_id
JOIN member_balances b ON b.member_id = m.id
{card_join}
WHERE i.network_id = $1 AND {value_matches}
"""


def member_of(row: Any) -> MemberRef:
    """A member as `_FIND_MEMBER`-like reads name its columns (member_id, kind, account_id, card_id, number, state)."""
    state = CardState(row["state"]) if row["state"] else None
    return MemberRef(row["member_id"], row["kind"], row["account_id"], row["card_id"], row["number"], state)


class SqlMembers(SqlPart):
    """The `MembersPort` in SQL."""

    async def find_member(self, network_id: int, candidates: Sequence[str], *, lock: bool) -> MemberRef | None:
        matches = await self._matching_members(network_id, candidates, lock=lock)
        if not matches:
            return None
        # The most literal reading of what was typed wins when two stored identifiers match.
        return min(matches, key=lambda match: list(candidates).index(match[0]))[1]

    async def _matching_members(
        self, network_id: int, values: Sequence[str], *, lock: bool
    ) -> list[tuple[str, MemberRef]]:
        """(matched value, member) for every identifier among `values`; locked in member order when asked
        (on SQLite the transaction already holds the database write lock from BEGIN IMMEDIATE)."""
        matches: list[tuple[str, MemberRef]] = []
        for chunk in self._chunks(values):
            value_matches, arguments = self.db.any_of("i.value", 2, chunk)
            sql = (
                _FIND_MEMBER.format(value_matches=value_matches, card_join=CARD_JOIN[self.db.backend])
                + " ORDER BY m.id"
            )
            if lock and self.db.backend == "postgresql":
                # Only the points row, in member order: every writer takes it first, so none can deadlock.
                sql += " FOR UPDATE OF b"
            for row in await self.db.fetch(sql, network_id, *arguments):
                state = CardState(row["state"]) if row["state"] else None
                member = MemberRef(row["id"], row["kind"], row["account_id"], row["card_id"], row["number"], state)
                matches.append((row["value"], member))
        return matches

    async def lock_member(self, member_id: int) -> None:
        """The member's lock is their points row; SQLite's BEGIN IMMEDIATE already holds the whole database."""
        lock = " FOR UPDATE" if self.db.backend == "postgresql" else ""
        await self.db.fetch("SELECT account_id FROM member_balances WHERE member_id = $1" + lock, member_id)

    async def member_by_id(self, member_id: int) -> MemberRef:
        row = await self.db.fetchrow(
            "SELECT m.id, m.kind, b.account_id FROM members m JOIN member_balances b ON b.member_id = m.id "
            "WHERE m.id = $1",
            member_id,
        )
        if row is None:
            raise LookupError(f"member {member_id} does not exist")
        return MemberRef(int(row["id"]), row["kind"], int(row["account_id"]), None, None, None)

    async def member_in_network(self, network_id: int, member_id: int) -> MemberRef | None:
        row = await self.db.fetchrow(
            "SELECT m.id, m.kind, b.account_id FROM members m JOIN member_balances b ON b.member_id = m.id "
            "WHERE m.id = $1 AND m.network_id = $2",
            member_id,
            network_id,
        )
        return None if row is None else MemberRef(int(row["id"]), row["kind"], int(row["account_id"]), None, None, None)

    async def members_named(self, network_id: int, text: str, limit: int) -> list[MemberListing]:
        # lower() folds every letter on PostgreSQL but only ASCII on SQLite (the embedded engine of small shops)
        escaped = text.lower().replace("!", "!!").replace("%", "!%").replace("_", "!_")
        rows = await self.db.fetch(
            "SELECT id, kind, name, phone FROM members WHERE network_id = $1 AND lower(name) LIKE $2 ESCAPE '!' "
            "ORDER BY id LIMIT $3",
            network_id,
            f"%{escaped}%",
            limit,
        )
        return [MemberListing(int(row["id"]), row["kind"], row["name"], row["phone"]) for row in rows]

    async def create_member(
        self,
        network_id: int,
        kind: str,
        profile: Profile,
        program: ProgramContext,
        now: datetime,
        segments: tuple[str, ...] = (),
    ) -> MemberRef:
        member_id = await self.db.fetchval(
            "INSERT INTO members (network_id, kind, name, phone, email, birth_date, notes, consent_data_processing, "
            "consent_newsletters, lifetime_spend_minor, created_at, tier, segments) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, '', $11) RETURNING id",
            network_id,
            kind,
            profile.name,
            profile.phone,
            profile.email,
            profile.birth_date,
            profile.notes,
            profile.consent_data_processing,
            profile.consent_newsletters,
            now,
            segments_to_text(segments),
        )
        account_id = await self.db.fetchval(
            "INSERT INTO accounts (network_id, owner_kind, owner_id, purpose, asset) VALUES ($1, $2, $3, $4, $5) "
            "RETURNING id",
            network_id,
            OwnerKind.MEMBER.value,
            member_id,
            AccountPurpose.MEMBER_POINTS.value,
            program.program.points_asset,
        )
        await self.db.execute(
            "INSERT INTO member_balances (account_id, member_id, balance) VALUES ($1, $2, 0)", account_id, member_id
        )
        return MemberRef(int(member_id), kind, int(account_id), None, None, None)

    async def add_card(
        self, network_id: int, member_id: int, number: str, state: CardState, now: datetime, card_type: str = "standard"
    ) -> int:
        card_id = await self.db.fetchval(
            "INSERT INTO cards (network_id, member_id, number, state, issued_at, activated_at, state_changed_at, "
            "card_type) VALUES ($1, $2, $3, $4, $5, $6, $5, $7) RETURNING id",
            network_id,
            member_id,
            number,
            state.value,
            now,
            now if state is CardState.ACTIVE else None,
            card_type,
        )
        return int(card_id)

    async def add_identifier(
        self, network_id: int, member_id: int, card_id: int | None, kind: IdentifierKind, value: str
    ) -> None:
        await self.db.execute(
            "INSERT INTO identifiers (network_id, member_id, card_id, kind, value) VALUES ($1, $2, $3, $4, $5)",
            network_id,
            member_id,
            card_id,
            kind.value,
            value,
        )

    async def set_card_state(
        self, card_id: int, state: CardState, now: datetime, replaced_by_card_id: int | None = None
    ) -> None:
        await self.db.execute(
            "UPDATE cards SET state = $2, state_changed_at = $3, "
            "activated_at = CASE WHEN $5 AND activated_at IS NULL THEN $3 ELSE activated_at END, "
            "replaced_by_card_id = COALESCE($4, replaced_by_card_id) WHERE id = $1",
            card_id,
            state.value,
            now,
            replaced_by_card_id,
            state is CardState.ACTIVE,
        )

    async def card_type(self, card_id: int) -> str:
        found = await self.db.fetchval("SELECT card_type FROM cards WHERE id = $1", card_id)
        if found is None:
            raise LookupError(f"card {card_id} does not exist")
        return str(found)

    async def member_cards(self, member_id: int) -> list[tuple[str, CardState]]:
        rows = await self.db.fetch("SELECT number, state FROM cards WHERE member_id = $1 ORDER BY id", member_id)
        return [(row["number"], CardState(row["state"])) for row in rows]

    async def member_profile(self, member_id: int) -> Profile:
        row = await self.db.fetchrow(
            "SELECT name, phone, email, birth_date, notes, consent_data_processing, consent_newsletters "
            "FROM members WHERE id = $1",
            member_id,
        )
        if row is None:
            raise LookupError(f"member {member_id} does not exist")
        return Profile(
            name=row["name"],
            phone=row["phone"],
            email=row["email"],
            birth_date=self.db.day(row["birth_date"]),
            notes=row["notes"],
            consent_data_processing=bool(row["consent_data_processing"]),
            consent_newsletters=bool(row["consent_newsletters"]),
        )

    async def member_history(
        self, member_id: int, card_id: int | None, month_start: datetime, previous_month_start: datetime
    ) -> MemberHistory:
        row = await self.db.fetchrow(
            "SELECT m.kind, m.birth_date, m.tier, m.segments, "
            "(SELECT c.card_type FROM cards c WHERE c.id = $4 AND c.member_id = $1) AS card_type, "
            "(SELECT COUNT(*) FROM purchases p WHERE p.member_id = $1) AS visits, "
            "(SELECT COALESCE(SUM(p.check_minor), 0) FROM purchases p "
            " WHERE p.member_id = $1 AND p.occurred_at >= $2) AS this_month, "
            "(SELECT COALESCE(SUM(p.check_minor), 0) FROM purchases p "
            " WHERE p.member_id = $1 AND p.occurred_at >= $3 AND p.occurred_at < $2) AS last_month "
            "FROM members m WHERE m.id = $1",
            member_id,
            month_start,
            previous_month_start,
            card_id,
        )
        if row is None:
            raise LookupError(f"member {member_id} does not exist")
        return MemberHistory(
            kind=row["kind"],
            birth_date=self.db.day(row["birth_date"]),
            visit_count=int(row["visits"]),
            period_spend_minor=int(row["this_month"]),
            previous_period_spend_minor=int(row["last_month"]),
            tier=row["tier"],
            segments=segments_from_text(row["segments"]),
            card_type=row["card_type"] or "",
        )

    async def member_labels(self, member_id: int) -> MemberLabels:
        row = await self.db.fetchrow("SELECT tier, segments FROM members WHERE id = $1", member_id)
        if row is None:
            raise LookupError(f"member {member_id} does not exist")
        return MemberLabels(row["tier"], tuple(sorted(segments_from_text(row["segments"]))))

    async def set_member_labels(self, member_id: int, *, tier: str | None, segments: tuple[str, ...] | None) -> None:
        if tier is not None:
            await self.db.execute("UPDATE members SET tier = $1 WHERE id = $2", tier, member_id)
        if segments is not None:
            await self.db.execute(
                "UPDATE members SET segments = $1 WHERE id = $2", segments_to_text(segments), member_id
            )

    async def members_born_on(self, network_id: int, month: int, day: int) -> list[tuple[MemberRef, MemberHistory]]:
        if self.db.backend == "postgresql":
            born = "EXTRACT(MONTH FROM m.birth_date) = $2 AND EXTRACT(DAY FROM m.birth_date) = $3"
        else:
            born = (
                "CAST(strftime('%m', m.birth_date) AS INTEGER) = $2 "
                "AND CAST(strftime('%d', m.birth_date) AS INTEGER) = $3"
            )
        rows = await self.db.fetch(
            "SELECT m.id, m.kind, m.birth_date, m.tier, m.segments, b.account_id FROM members m "
            f"JOIN member_balances b ON b.member_id = m.id WHERE m.network_id = $1 AND {born} ORDER BY m.id",
            network_id,
            month,
            day,
        )
        return [self._member_with_labels(row, 0, 0) for row in rows]

    async def members_with_spend(
        self, network_id: int, start: datetime, end: datetime, previous_start: datetime
    ) -> list[tuple[MemberRef, MemberHistory]]:
        """Every member of the network with their checks' total in [start, end) and in [previous_start, start)."""
        rows = await self.db.fetch(
            "SELECT m.id, m.kind, m.birth_date, m.tier, m.segments, m.lifetime_spend_minor, b.account_id, "
            "COALESCE(SUM(CASE WHEN p.occurred_at >= $2 THEN p.check_minor END), 0) AS this_period, "
            "COALESCE(SUM(CASE WHEN p.occurred_at < $2 THEN p.check_minor END), 0) AS last_period "
            "FROM members m JOIN member_balances b ON b.member_id = m.id "
            "LEFT JOIN purchases p ON p.member_id = m.id AND p.occurred_at >= $4 AND p.occurred_at < $3 "
            "WHERE m.network_id = $1 "
            "GROUP BY m.id, m.kind, m.birth_date, m.tier, m.segments, m.lifetime_spend_minor, b.account_id "
            "ORDER BY m.id",
            network_id,
            start,
            end,
            previous_start,
        )
        return [self._member_with_labels(row, int(row["this_period"]), int(row["last_period"])) for row in rows]

    def _member_with_labels(
        self, row: Row, period_spend_minor: int, previous_period_spend_minor: int
    ) -> tuple[MemberRef, MemberHistory]:
        """A member read by a job (no card presented, visits not counted) with what rules see of them."""
        member = MemberRef(int(row["id"]), row["kind"], int(row["account_id"]), None, None, None)
        history = MemberHistory(
            kind=row["kind"],
            birth_date=self.db.day(row["birth_date"]),
            visit_count=0,
            period_spend_minor=period_spend_minor,
            previous_period_spend_minor=previous_period_spend_minor,
            tier=row["tier"],
            segments=segments_from_text(row["segments"]),
        )
        return member, history
