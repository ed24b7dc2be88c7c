"""Settlement: who owes whom in a network at the end of a period, from the obligations in the ledger.

Every point a partner's outlet grants puts the partner in the settlement node's debt by the point's value; every
point an outlet accepts as payment puts the node in the partner's debt (domain.purchase posts both, in money, on the
partner's and the node's obligations accounts). A refund posts the same movements reversed. When points expire
unused, the network's breakage policy (domain.breakage) may post part or all of their value back from the node to
the partner that granted them (an expiry transaction), shown as the partner's breakage. So a partner's position
over a period is the sum of its obligation postings recorded in the period: positive, the node owes the partner;
negative, the partner owes the node. The node's own position is minus the partners' sum, so the positions of all
parties sum to zero — the money the node holds for points granted and not yet spent, or owes for points spent
beyond what was granted in the period.

Amounts are integer minor units. The one division is an optional fee as a share of the value granted: it rounds
down to the minor unit, once per partner and period (FeeSchedule.fee_minor).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from coalition.domain.errors import InvalidInput
from coalition.domain.ledger import TransactionKind
from coalition.domain.money import BASIS_POINTS_PER_WHOLE, round_down_div

NODE_NAME = "settlement node"
_REVERSING = frozenset({TransactionKind.REFUND, TransactionKind.REVERSAL})
_BREAKAGE = frozenset({TransactionKind.EXPIRY})


@dataclass(frozen=True, slots=True, order=True)
class Party:
    name: str
    partner_id: int | None = None  # None: the settlement node

    @property
    def is_node(self) -> bool:
        return self.partner_id is None


NODE = Party(NODE_NAME)


@dataclass(frozen=True, slots=True)
class Flows:
    """One partner's obligation postings in a period, summed by what they were (all ≥ 0, minor units)."""

    granted_minor: int = 0  # value of points its outlets granted
    granted_refunded_minor: int = 0  # ... taken back by refunds
    honoured_minor: int = 0  # value of points its outlets accepted as payment
    honoured_refunded_minor: int = 0  # ... given back by refunds
    transactions: int = 0
    breakage_minor: int = 0  # value of its expired points the node posted back to it (the breakage policy)

    @property
    def net_minor(self) -> int:
        """Positive: the node owes the partner; negative: the partner owes the node."""
        return (
            self.honoured_minor
            - self.honoured_refunded_minor
            - self.granted_minor
            + self.granted_refunded_minor
            + self.breakage_minor
        )

    def __add__(self, other: Flows) -> Flows:
        return Flows(
            self.granted_minor + other.granted_minor,
            self.granted_refunded_minor + other.granted_refunded_minor,
            self.honoured_minor + other.honoured_minor,
            self.honoured_refunded_minor + other.honoured_refunded_minor,
            self.transactions + other.transactions,
            self.breakage_minor + other.breakage_minor,
        )

    def plus(self, kind: TransactionKind, amount_minor: int) -> Flows:
        """These flows with one posting on the partner's obligations account added."""
        if kind in _BREAKAGE:  # the node releases (part of) what the partner owes for points that expired
            return replace(self, breakage_minor=self.breakage_minor + amount_minor)
        granted, granted_back, honoured, honoured_back = (0, 0, 0, 0)
        if kind in _REVERSING:
            granted_back, honoured_back = max(amount_minor, 0), max(-amount_minor, 0)
        else:
            honoured, granted = max(amount_minor, 0), max(-amount_minor, 0)
        return Flows(
            self.granted_minor + granted,
            self.granted_refunded_minor + granted_back,
            self.honoured_minor + honoured,
            self.honoured_refunded_minor + honoured_back,
            self.transactions,
            self.breakage_minor,
        )


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """What the node charges partners for settling (per network; none by default)."""

    per_transaction_minor: int = 0
    granted_bp: int = 0  # basis points of the value granted, net of refunds

    def __post_init__(self) -> None:
        if not 0 <= self.per_transaction_minor <= 10**9:
            raise InvalidInput("a fee per transaction is 0 or more", field="per_transaction")
        if not 0 <= self.granted_bp <= BASIS_POINTS_PER_WHOLE:
            raise InvalidInput("a fee is 0 to 100 % of the value granted", field="percent_of_granted")

    def fee_minor(self, flows: Flows) -> int:
        granted_net = max(flows.granted_minor - flows.granted_refunded_minor, 0)
        # rounding: the percentage fee rounds down to the minor unit, once per partner and period
        share = round_down_div(granted_net * self.granted_bp, BASIS_POINTS_PER_WHOLE)
        return self.per_transaction_minor * flows.transactions + share


NO_FEES = FeeSchedule()


@dataclass(frozen=True, slots=True)
class PartnerLine:
    party: Party
    flows: Flows
    fees_minor: int = 0  # owed to the node on top of the flows

    @property
    def net_minor(self) -> int:
        return self.flows.net_minor - self.fees_minor


@dataclass(frozen=True, slots=True)
class Statement:
    """A closed period's result: each partner's flows and net position, and the node's."""

    network_id: int
    period_start: datetime
    period_end: datetime  # exclusive
    currency: str
    lines: tuple[PartnerLine, ...]
    closed_at: datetime
    number: int = 0  # the network's statement number, from 1
    positions: Mapping[Party, int] = field(init=False)

    def __post_init__(self) -> None:
        positions = {line.party: line.net_minor for line in self.lines}
        positions[NODE] = -sum(positions.values())
        object.__setattr__(self, "positions", positions)

    @property
    def node_net_minor(self) -> int:
        return self.positions[NODE]


def require_period(start: datetime, end: datetime) -> None:
    if end <= start:
        raise InvalidInput(
            f"the period ends ({end.isoformat()}) before or when it starts ({start.isoformat()})", field="end"
        )


def statement_of(
    network_id: int,
    start: datetime,
    end: datetime,
    currency: str,
    flows: Mapping[Party, Flows],
    closed_at: datetime,
    number: int = 0,
    fees: FeeSchedule = NO_FEES,
) -> Statement:
    require_period(start, end)
    if any(party.is_node for party in flows):
        raise ValueError("the node's position follows from the partners': it is not given")
    lines = tuple(PartnerLine(party, flows[party], fees.fee_minor(flows[party])) for party in sorted(flows))
    return Statement(network_id, start, end, currency, lines, closed_at, number)


@dataclass(frozen=True, slots=True)
class Transfer:
    payer: Party
    payee: Party
    amount_minor: int


def through_node(positions: Mapping[Party, int]) -> tuple[Transfer, ...]:
    """Each partner pays the node what it owes, or is paid what it is owed: one transfer per partner not at zero."""
    transfers = []
    for party, net in sorted(positions.items()):
        if party.is_node or net == 0:
            continue
        transfers.append(Transfer(party, NODE, -net) if net < 0 else Transfer(NODE, party, net))
    return _checked(positions, tuple(transfers))


def fewest_transfers(positions: Mapping[Party, int]) -> tuple[Transfer, ...]:
    """Direct payments between the parties (the node included) that settle every position, at most N − 1 of them
    for N parties not at zero.

    First, a debtor and a creditor with equal amounts pay each other (one transfer clears two parties). Then, the
    largest debt pays the largest claim, repeatedly: each transfer clears at least one party, so no more than N − 1
    are made. The true minimum is NP-hard in general (it partitions the parties into zero-sum groups); this greedy
    plan is never worse than N − 1 and is exact when amounts pair up."""
    debts = {party: -net for party, net in positions.items() if net < 0}
    claims = {party: net for party, net in positions.items() if net > 0}
    transfers: list[Transfer] = []
    for debtor in sorted(debts, key=lambda party: (-debts[party], party)):
        match = next((c for c in sorted(claims) if claims[c] == debts[debtor]), None)
        if match is not None:
            transfers.append(Transfer(debtor, match, debts.pop(debtor)))
            del claims[match]
    while debts:
        debtor = max(debts, key=lambda party: (debts[party], _reverse(party)))
        creditor = max(claims, key=lambda party: (claims[party], _reverse(party)))
        amount = min(debts[debtor], claims[creditor])
        transfers.append(Transfer(debtor, creditor, amount))
        for book, party in ((debts, debtor), (claims, creditor)):
            book[party] -= amount
            if book[party] == 0:
                del book[party]
    return _checked(positions, tuple(transfers))


def _reverse(party: Party) -> tuple[int, ...]:
    """Ties go to the party first by name: a key that sorts names in reverse, for max()."""
    return tuple(-ord(char) for char in party.name)


def _checked(positions: Mapping[Party, int], transfers: Sequence[Transfer]) -> tuple[Transfer, ...]:
    """A plan must settle every position to the unit, with positive amounts only."""
    if sum(positions.values()) != 0:
        raise ValueError(f"positions sum to {sum(positions.values())}, not zero")
    left = dict(positions)
    for transfer in transfers:
        if transfer.amount_minor <= 0 or transfer.payer == transfer.payee:
            raise ValueError(f"not a transfer: {transfer}")
        left[transfer.payer] = left.get(transfer.payer, 0) + transfer.amount_minor
        left[transfer.payee] = left.get(transfer.payee, 0) - transfer.amount_minor
    unsettled = {party.name: amount for party, amount in left.items() if amount}
    if unsettled:
        raise ValueError(f"the plan leaves positions unsettled: {unsettled}")
    return tuple(transfers)


def parties_not_at_zero(positions: Mapping[Party, int]) -> int:
    return sum(1 for amount in positions.values() if amount)


def total_minor(transfers: Iterable[Transfer]) -> int:
    return sum(transfer.amount_minor for transfer in transfers)
