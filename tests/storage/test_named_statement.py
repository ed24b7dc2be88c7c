"""The purchase statement's named parameters (driver.NamedStatement): numbered once, passed by name."""

from __future__ import annotations

import itertools

import pytest

from coalition.adapters.storage.driver import NamedStatement
from coalition.adapters.storage.pos_store import _PG_RECORD_PURCHASE, _PURCHASE_COLUMNS, _Parts, _pg_record_purchase


def test_names_are_numbered_in_order_of_first_use_and_casts_are_left_alone():
    statement = NamedStatement("SELECT :b::bigint, :a, :b::text, '{}'::jsonb, x::int FROM t WHERE c = :a")
    assert statement.sql == "SELECT $1::bigint, $2, $1::text, '{}'::jsonb, x::int FROM t WHERE c = $2"
    assert statement.names == ("b", "a")
    assert statement.arguments({"a": 1, "b": 2}) == [2, 1]


@pytest.mark.parametrize("values", [{"a": 1}, {"a": 1, "b": 2, "c": 3}], ids=["missing", "unused"])
def test_a_missing_or_unused_name_is_an_error(values):
    with pytest.raises(ValueError, match="do not match"):
        NamedStatement("SELECT :a, :b").arguments(values)


def test_the_purchase_statement_takes_every_column_of_a_purchase_but_its_ledger_transaction_by_name():
    assert set(_PURCHASE_COLUMNS) - set(_PG_RECORD_PURCHASE.names) == {"tx_id"}
    assert all(f"${n}" in _PG_RECORD_PURCHASE.sql for n in range(1, len(_PG_RECORD_PURCHASE.names) + 1))
    assert ":" + "id" not in _PG_RECORD_PURCHASE.sql.replace("::", "")


def _combinations() -> list[_Parts]:
    every = [_Parts(*flags) for flags in itertools.product((False, True), repeat=len(_Parts._fields))]
    return [parts for parts in every if parts.transaction or not (parts.takes or parts.new_lots)]


@pytest.mark.parametrize("parts", _combinations(), ids=str)
def test_a_purchase_statement_holds_only_the_parts_it_writes(parts):
    statement = _pg_record_purchase(parts)
    assert all(f"${n}" in statement.sql for n in range(1, len(statement.names) + 1))
    assert set(_PURCHASE_COLUMNS) - set(statement.names) == {"tx_id"}  # the purchase is always written
    assert "INSERT INTO idempotency_keys" in statement.sql  # and its answer stored
    for part, table in (
        ("transaction", "INSERT INTO postings"),
        ("changed_lots", "UPDATE lots"),
        ("takes", "INSERT INTO lot_takes"),
        ("new_lots", "INSERT INTO lots"),
        ("lines", "INSERT INTO purchase_lines"),
    ):
        assert (table in statement.sql) == getattr(parts, part), (part, table)
    assert ("(SELECT id FROM tx)" in statement.sql) == parts.transaction
