"""A checked row of a sales file changed by `SaleRow.but`, which lists the row's fields by hand for speed."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime

from coalition.application.sales_files import SaleRow

ROW = SaleRow(
    number=7,
    receipt="R-7",
    occurred_at=datetime(2026, 12, 7, 9, 30, tzinfo=UTC),
    terminal_id=3,
    amount="1500.00",
    cashier="anna",
    amount_minor=150_000,
    customer="9900000001",
    member_id=42,
    redeem_points=10,
    original_receipt="R-1",
    purchase_id="p-1",
)


def test_every_field_of_the_row_is_set_to_something_but_its_default() -> None:
    # so that the tests below would notice a field `but` forgot: a new field must be given a value here too
    for each in dataclasses.fields(SaleRow):
        assert getattr(ROW, each.name) != each.default, each.name


def test_but_changes_only_what_it_is_given() -> None:
    assert ROW.but() == ROW
    assert ROW.but(amount_minor=1) == dataclasses.replace(ROW, amount_minor=1)
    assert ROW.but(member_id=2) == dataclasses.replace(ROW, member_id=2)
    assert ROW.but(purchase_id="p-2") == dataclasses.replace(ROW, purchase_id="p-2")
    assert ROW.but(amount_minor=0, member_id=0, purchase_id="") == dataclasses.replace(
        ROW, amount_minor=0, member_id=0, purchase_id=""
    )


def test_the_row_is_still_a_frozen_record_that_crosses_to_a_worker() -> None:
    assert pickle.loads(pickle.dumps(ROW)) == ROW
    assert SaleRow(*dataclasses.astuple(ROW)) == ROW
    try:
        ROW.member_id = 3  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("a SaleRow is frozen")
