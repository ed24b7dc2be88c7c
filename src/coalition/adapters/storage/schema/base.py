"""What every table shares: the one `MetaData` (and its naming convention), the id and timestamp types."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
)

naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=naming_convention)

# SQLite gives autoincrement only to INTEGER PRIMARY KEY; PostgreSQL gets 64-bit keys.
Id = BigInteger().with_variant(Integer(), "sqlite")
Timestamp = DateTime(timezone=True)


MAX_INTEGER_COLUMN = 2**31 - 1  # an Integer (not BigInteger) column, such as a rule set's version or a statement's
# number: a larger number names no row, and PostgreSQL refuses to compare it with one (an error, not "none found")


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp as an aware UTC moment: SQLite hands timestamps back without their zone (always UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def id_column() -> Column[int]:
    return Column("id", Id, primary_key=True, autoincrement=True)
