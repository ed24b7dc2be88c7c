"""A settlement statement as one reader may see it: the administrator sees all of it, a partner's owner only its own
line and the transfers it pays or receives (the other partners' positions are their business)."""

from __future__ import annotations

from dataclasses import dataclass

from coalition.domain.errors import NotFound
from coalition.domain.money import format_minor
from coalition.domain.settlement import PartnerLine, Statement, Transfer, fewest_transfers, through_node


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
            line.net_minor,
        )
        rows.append([line.party.name, *(format_minor(amount, currency) for amount in amounts), str(flows.transactions)])
    if view.node_net_minor is not None:
        rows.append(["settlement node", "", "", "", "", "", "", format_minor(view.node_net_minor, currency), ""])
    for plan_name, plan in (("through node", view.through_node), ("direct", view.direct)):
        rows.append([])
        rows.append([f"transfers ({plan_name})", "from", "to", "amount"])
        rows.extend(["", t.payer.name, t.payee.name, format_minor(t.amount_minor, currency)] for t in plan)
    return rows
