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

Prepaid money (issue 14) is a second part of the same position, posted on the partners' and the node's `prepaid`
accounts, apart from the obligations of points and gifts: whoever takes the cash for a wallet top-up or a gift-card
sale owes it to the node; whoever accepts wallet or gift-card money as payment is owed it by the node; refunds post
the reverse; an expired gift card's unused balance goes, by the network's policy, back to the selling partner
(`MoneyFlows.breakage_minor`) or to the node's prepaid breakage. A partner's net is both parts together, and the
transfer plans settle that. The node's line shows what it holds: the period's change in members' wallets and
outstanding gift cards, the prepaid breakage it kept, less the cards it funded itself (`NodeHoldings`) — which is
exactly minus the partners' money positions, so a statement still sums to zero.

Amounts are integer minor units. The one division is an optional fee as a share of the value granted: it rounds
down to the minor unit, once per partner and period (FeeSchedule.fee_minor). Prepaid money carries no fee.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime

from coalition.domain.errors import InvalidInput
from coalition.domain.ledger import TransactionKind
from coalition.domain.money import BASIS_POINTS_PER_WHOLE, round_down_div

NODE_NAME = "settlement node"
_REVERSING = frozenset({TransactionKind.REFUND, TransactionKind.REVERSAL})
_BREAKAGE = frozenset({TransactionKind.EXPIRY})
_MONEY_BREAKAGE = frozenset({TransactionKind.GIFT_CARD_EXPIRY})


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
class MoneyFlows:
    """One partner's prepaid postings in a period, summed by what they were (all ≥ 0, minor units)."""

    top_ups_minor: int = 0  # cash its outlets took for wallet top-ups: owed to the node
    top_ups_refunded_minor: int = 0  # ... given back (a top-up reversed)
    gift_cards_sold_minor: int = 0  # cash its outlets took for gift cards: owed to the node
    gift_cards_sold_refunded_minor: int = 0  # ... given back
    wallet_accepted_minor: int = 0  # wallet money its outlets accepted as payment: owed by the node
    wallet_refunded_minor: int = 0  # ... put back into wallets by its refunds
    gift_cards_accepted_minor: int = 0  # gift-card money its outlets accepted as payment: owed by the node
    gift_cards_refunded_minor: int = 0  # ... put back onto gift cards by its refunds
    breakage_minor: int = 0  # unused balance of the gift cards it sold, returned to it when they expired
    transactions: int = 0

    @property
    def net_minor(self) -> int:
        """Positive: the node owes the partner; negative: the partner owes the node."""
        return (
            self.wallet_accepted_minor
            - self.wallet_refunded_minor
            + self.gift_cards_accepted_minor
            - self.gift_cards_refunded_minor
            - self.top_ups_minor
            + self.top_ups_refunded_minor
            - self.gift_cards_sold_minor
            + self.gift_cards_sold_refunded_minor
            + self.breakage_minor
        )

    @property
    def is_empty(self) -> bool:
        return self == NO_MONEY

    def plus(self, kind: TransactionKind, amount_minor: int, gift_card_minor: int = 0) -> MoneyFlows:
        """These flows with a posting (or a sum of them in one direction) on the partner's prepaid account added;
        `gift_card_minor` of its size moved gift-card money, the rest wallet money (a top-up moves only wallet
        money, a gift-card sale only gift-card money)."""
        if kind in _MONEY_BREAKAGE:  # an expired card's balance returned to its seller
            return replace(self, breakage_minor=self.breakage_minor + amount_minor)
        size = abs(amount_minor)
        card = size if kind is TransactionKind.GIFT_CARD_SALE else 0 if kind is TransactionKind.TOP_UP else None
        card = min(max(gift_card_minor, 0), size) if card is None else card
        wallet = size - card
        if kind in _REVERSING:
            if amount_minor < 0:  # money accepted given back onto wallets and cards
                return replace(
                    self,
                    wallet_refunded_minor=self.wallet_refunded_minor + wallet,
                    gift_cards_refunded_minor=self.gift_cards_refunded_minor + card,
                )
            return replace(  # cash taken given back: a top-up or a sale undone
                self,
                top_ups_refunded_minor=self.top_ups_refunded_minor + wallet,
                gift_cards_sold_refunded_minor=self.gift_cards_sold_refunded_minor + card,
            )
        if amount_minor < 0:  # cash taken for the node
            return replace(
                self,
                top_ups_minor=self.top_ups_minor + wallet,
                gift_cards_sold_minor=self.gift_cards_sold_minor + card,
            )
        return replace(  # prepaid money accepted as payment
            self,
            wallet_accepted_minor=self.wallet_accepted_minor + wallet,
            gift_cards_accepted_minor=self.gift_cards_accepted_minor + card,
        )

    def __add__(self, other: MoneyFlows) -> MoneyFlows:
        return MoneyFlows(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(MoneyFlows)))


NO_MONEY = MoneyFlows()
MONEY_FIELDS = tuple(f.name for f in fields(MoneyFlows) if f.name != "transactions")  # the amounts, in order


@dataclass(frozen=True, slots=True)
class NodeHoldings:
    """What the node's money position of a period is made of (minor units, each may be negative)."""

    wallets_minor: int = 0  # the change in members' wallet balances: what it holds for them
    gift_cards_minor: int = 0  # the change in outstanding gift-card balances
    breakage_kept_minor: int = 0  # expired gift-card money it kept (prepaid breakage)
    funded_minor: int = 0  # gift cards it issued itself (promotions): money it put in, not taken from a partner

    @property
    def net_minor(self) -> int:
        return self.wallets_minor + self.gift_cards_minor + self.breakage_kept_minor - self.funded_minor

    @property
    def is_empty(self) -> bool:
        return self == NO_HOLDINGS


NO_HOLDINGS = NodeHoldings()


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
    money: MoneyFlows = NO_MONEY  # prepaid money, apart from points and gifts (no fees)

    @property
    def points_net_minor(self) -> int:
        """The points-and-gifts part of the position, fees included."""
        return self.flows.net_minor - self.fees_minor

    @property
    def net_minor(self) -> int:
        """What the partner is paid (positive) or pays (negative): points, gifts and prepaid money together."""
        return self.points_net_minor + self.money.net_minor


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
    holdings: NodeHoldings = NO_HOLDINGS  # the node's prepaid money of the period
    positions: Mapping[Party, int] = field(init=False)

    def __post_init__(self) -> None:
        positions = {line.party: line.net_minor for line in self.lines}
        positions[NODE] = -sum(positions.values())
        object.__setattr__(self, "positions", positions)
        if self.holdings.net_minor != self.node_money_net_minor:
            raise ValueError(
                f"the node's prepaid holdings ({self.holdings.net_minor}) are not minus the partners' prepaid "
                f"positions ({-self.node_money_net_minor}): a prepaid posting lacks its counterpart"
            )

    @property
    def node_net_minor(self) -> int:
        """The node's whole position: points and gifts, fees and prepaid money."""
        return self.positions[NODE]

    @property
    def node_points_net_minor(self) -> int:
        return -sum(line.points_net_minor for line in self.lines)

    @property
    def node_money_net_minor(self) -> int:
        return -sum(line.money.net_minor for line in self.lines)

    @property
    def has_money(self) -> bool:
        """Whether any prepaid money moved in the period (a statement without shows as before issue 14)."""
        return not self.holdings.is_empty or any(not line.money.is_empty for line in self.lines)


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
    money: Mapping[Party, MoneyFlows] | None = None,
    holdings: NodeHoldings = NO_HOLDINGS,
) -> Statement:
    """The statement of a period; fees are charged on the points flows only (prepaid money carries none)."""
    require_period(start, end)
    money = money or {}
    if any(party.is_node for party in (*flows, *money)):
        raise ValueError("the node's position follows from the partners': it is not given")
    parties = sorted(set(flows) | set(money))
    lines = tuple(
        PartnerLine(
            party, flows.get(party, Flows()), fees.fee_minor(flows.get(party, Flows())), money.get(party, NO_MONEY)
        )
        for party in parties
    )
    return Statement(network_id, start, end, currency, lines, closed_at, number, holdings)


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
