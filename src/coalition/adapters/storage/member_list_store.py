"""The administrator's list of members (application/member_list.py): one query for the page's members (keyset by
id, newest first, filtered), one for their cards."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import ColumnElement, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from coalition.adapters.storage import tables as t
from coalition.adapters.storage.tables import as_utc
from coalition.application.member_list import ListedCard, ListedMember, MemberFilter
from coalition.application.time_window import utc_bound
from coalition.domain.members import segments_from_text


def _like(part: str) -> str:
    """A LIKE pattern matching `part` anywhere, its wildcards escaped with '!'."""
    return "%" + part.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"


def _conditions(query: MemberFilter) -> list[ColumnElement[bool]]:
    m, i = t.members, t.identifiers
    found: list[ColumnElement[bool]] = [m.c.network_id == query.network_id]
    if query.before_id is not None:
        found.append(m.c.id < query.before_id)
    name = query.name_part()
    if name is not None:
        # lower() folds every letter on PostgreSQL but only ASCII on SQLite (as the console's search)
        by_name = func.lower(m.c.name).like(_like(name), escape="!")
        by_identifier = [
            exists(select(i.c.id).where(i.c.member_id == m.c.id, i.c.value.like(_like(part), escape="!")))
            for part in query.identifier_parts()
        ]
        found.append(or_(by_name, *by_identifier))
    if query.tier is not None:
        found.append(m.c.tier == query.tier)
    if query.segment is not None:  # stored comma-separated: ",a,b," holds ",b,"
        found.append((literal(",") + m.c.segments + literal(",")).like(_like(f",{query.segment},"), escape="!"))
    if query.enrolled_since is not None:
        found.append(m.c.created_at >= utc_bound(query.enrolled_since))  # SQLite: compared as text, in UTC
    if query.enrolled_until is not None:
        found.append(m.c.created_at < utc_bound(query.enrolled_until))
    return found


class SqlMemberListStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def members(self, query: MemberFilter) -> list[ListedMember]:
        m, c = t.members, t.cards
        statement = (
            select(m.c.id, m.c.kind, m.c.name, m.c.phone, m.c.tier, m.c.segments, m.c.created_at)
            .where(*_conditions(query))
            .order_by(m.c.id.desc())
            .limit(query.limit)
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
            cards: dict[int, list[ListedCard]] = defaultdict(list)
            if rows:
                found = await connection.execute(
                    select(c.c.member_id, c.c.number, c.c.state)
                    .where(c.c.member_id.in_([row.id for row in rows]))
                    .order_by(c.c.id)
                )
                for card in found:
                    cards[card.member_id].append(ListedCard(card.number, card.state))
        return [
            ListedMember(
                id=row.id,
                kind=row.kind,
                name=row.name,
                phone=row.phone,
                tier=row.tier,
                segments=tuple(sorted(segments_from_text(row.segments))),
                enrolled_at=as_utc(row.created_at),
                cards=tuple(cards[row.id]),
            )
            for row in rows
        ]
