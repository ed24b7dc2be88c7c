"""The purchase statement's named parameters (driver.NamedStatement): numbered once, passed by name."""

from __future__ import annotations

import pytest

from coalition.adapters.storage.driver import NamedStatement
from coalition.adapters.storage.pos_store import _PG_RECORD_PURCHASE, _PURCHASE_COLUMNS


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
