"""A statement as each reader may see it (application/statement_views.py): the administrator all of it, an owner
only their partner's line and the transfers that partner pays or receives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from coalition.application.settlement import statement_csv_rows
from coalition.application.statement_views import statement_view, statement_view_csv_rows
from coalition.domain.errors import NotFound
from coalition.domain.settlement import Flows, Party, statement_of

SHOP, CAFE, PARK = Party("Shop", 1), Party("Cafe", 2), Party("Park", 3)


def _statement():
    # Shop grants 60.00 of points; the café honours 800.00 and grants 56.00; the park honours 30.00
    flows = {
        SHOP: Flows(granted_minor=60_00, transactions=1),
        CAFE: Flows(granted_minor=56_00, honoured_minor=800_00, transactions=1),
        PARK: Flows(honoured_minor=30_00, transactions=1),
    }
    start, end = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 7, 2, tzinfo=UTC)
    return statement_of(1, start, end, "RUB", flows, end, number=3)


def test_the_administrator_sees_the_whole_statement() -> None:
    statement = _statement()
    view = statement_view(statement, None)
    assert {line.party for line in view.lines} == {SHOP, CAFE, PARK}
    assert view.node_net_minor == -(744_00 - 60_00 + 30_00)
    assert statement_view_csv_rows(view) == statement_csv_rows(statement)  # the same table as the API's


def test_an_owner_sees_only_their_line_and_their_transfers() -> None:
    view = statement_view(_statement(), CAFE.partner_id)
    assert [line.party for line in view.lines] == [CAFE] and view.node_net_minor is None
    assert [(t.payer.name, t.payee.name, t.amount_minor) for t in view.through_node] == [
        ("settlement node", "Cafe", 744_00)
    ]
    assert all(CAFE in (t.payer, t.payee) for t in view.direct)
    assert sum(t.amount_minor for t in view.direct if t.payee == CAFE) == 744_00
    rows = statement_view_csv_rows(view)
    assert [row[0] for row in rows if row and row[0]] == [
        "party",
        "Cafe",
        "transfers (through node)",
        "transfers (direct)",
    ]
    assert not any("Shop" in row or "Park" in row for row in rows[:3])

    shop = statement_view(_statement(), SHOP.partner_id)
    assert sorted((t.payee.name, t.amount_minor) for t in shop.direct) == [("Cafe", 30_00), ("Park", 30_00)]
    assert ("settlement node", "Cafe", 714_00) not in [
        (t.payer.name, t.payee.name, t.amount_minor) for t in shop.direct
    ]


def test_an_owner_whose_partner_has_no_line_finds_nothing() -> None:
    with pytest.raises(NotFound, match="no line of your partner"):
        statement_view(_statement(), 99)
