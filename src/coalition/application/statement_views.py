"""A settlement statement as one reader may see it: the administrator sees all of it, a partner's owner only its own
line and the transfers it pays or receives (the other partners' positions are their business)."""

from __future__ import annotations

from dataclasses import dataclass

from coalition.domain.errors import NotFound
from coalition.domain.money import format_minor
from coalition.domain.settlement import (
    MONEY_FIELDS,
    PartnerLine,
    Statement,
    Transfer,
    fewest_transfers,
    through_node,
)


@dataclass(frozen=True, slots=True)
class StatementView:
    statement: Statement
    lines: tuple[PartnerLine, ...]
    node_net_minor: int | None  # None: hidden from a partner's owner
    through_node: tuple[Transfer, ...]
    direct: tuple[Transfer, ...]
    partner_id: int | None  # the owner's partner; None: the whole statement

    @property
    def number(self) -> int:
        return self.statement.number

    @property
    def currency(self) -> str:
        return self.statement.currency


def statement_view(statement: Statement, partner_id: int | None) -> StatementView:
    """The whole statement (partner_id None), or one partner's part of it; NotFound when that partner has no line,
    so an owner cannot tell another network's or a missing statement from one without them."""
    plans = through_node(statement.positions), fewest_transfers(statement.positions)
    if partner_id is None:
        return StatementView(statement, statement.lines, statement.node_net_minor, *plans, None)
    own = tuple(line for line in statement.lines if line.party.partner_id == partner_id)
    if not own:
        raise NotFound(f"statement {statement.number} has no line of your partner", field="number")

    def concerns(transfer: Transfer) -> bool:
        return partner_id in (transfer.payer.partner_id, transfer.payee.partner_id)

    through, direct = (tuple(t for t in plan if concerns(t)) for plan in plans)
    return StatementView(statement, own, None, through, direct, partner_id)


def statement_view_csv_rows(view: StatementView) -> list[list[str]]:
    """The view as a table: one row per line shown (the node's when shown), then the two transfer plans."""
    currency = view.currency
    rows = [
        [
            "party",
            "granted",
            "granted_refunded",
            "honoured",
            "honoured_refunded",
            "breakage",
            "fees",
            "net",
            "transactions",
        ]
    ]
    for line in view.lines:
        flows = line.flows
        amounts = (
            flows.granted_minor,
            flows.granted_refunded_minor,
            flows.honoured_minor,
            flows.honoured_refunded_minor,
            flows.breakage_minor,
            line.fees_minor,
            line.points_net_minor,  # the whole net when no prepaid money moved (as before issue 14)
        )
        rows.append([line.party.name, *(format_minor(amount, currency) for amount in amounts), str(flows.transactions)])
    if view.node_net_minor is not None:
        node_points = format_minor(view.statement.node_points_net_minor, currency)
        rows.append(["settlement node", "", "", "", "", "", "", node_points, ""])
    if view.statement.has_money:
        rows += _money_rows(view)
    for plan_name, plan in (("through node", view.through_node), ("direct", view.direct)):
        rows.append([])
        rows.append([f"transfers ({plan_name})", "from", "to", "amount"])
        rows.extend(["", t.payer.name, t.payee.name, format_minor(t.amount_minor, currency)] for t in plan)
    return rows


MONEY_COLUMNS = (
    "top_ups",
    "top_ups_refunded",
    "gift_cards_sold",
    "gift_cards_sold_refunded",
    "wallet_accepted",
    "wallet_refunded",
    "gift_cards_accepted",
    "gift_cards_refunded",
    "gift_card_breakage",
)
NODE_MONEY_COLUMNS = ("wallets", "gift_cards", "breakage_kept", "funded")


def _money_rows(view: StatementView) -> list[list[str]]:
    """Prepaid money apart from points: each partner's flows, what the node holds, then each party's net of both."""
    currency = view.currency

    def money(amount: int) -> str:
        return format_minor(amount, currency)

    rows: list[list[str]] = [[], ["prepaid money", *MONEY_COLUMNS, "net", "transactions"]]
    for line in view.lines:
        amounts = (getattr(line.money, name) for name in MONEY_FIELDS)
        rows.append([line.party.name, *map(money, amounts), money(line.money.net_minor), str(line.money.transactions)])
    statement = view.statement
    if view.node_net_minor is not None:
        held = statement.holdings
        holdings = (held.wallets_minor, held.gift_cards_minor, held.breakage_kept_minor, held.funded_minor)
        rows += [
            [],
            ["settlement node holds", *NODE_MONEY_COLUMNS, "net"],
            ["settlement node", *map(money, holdings), money(statement.node_money_net_minor)],
        ]
    rows += [[], ["net of both", "points", "prepaid money", "net"]]
    for line in view.lines:
        rows.append([line.party.name, money(line.points_net_minor), money(line.money.net_minor), money(line.net_minor)])
    if view.node_net_minor is not None:
        node = (statement.node_points_net_minor, statement.node_money_net_minor, statement.node_net_minor)
        rows.append(["settlement node", *map(money, node)])
    return rows
