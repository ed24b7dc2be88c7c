"""`coalition verify`: re-check every ledger invariant over the whole database, in SQL that runs on both engines.

Each check is a query returning one row per violation; an empty result means the invariant holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    sql: str


CHECKS: tuple[Check, ...] = (
    Check(
        "transactions-balance",
        "the postings of every transaction sum to zero per asset",
        "SELECT tx_id, asset, SUM(amount) FROM postings GROUP BY tx_id, asset HAVING SUM(amount) <> 0",
    ),
    Check(
        "transactions-have-postings",
        "every transaction has at least two postings",
        "SELECT t.id, COUNT(p.id) FROM ledger_transactions t LEFT JOIN postings p ON p.tx_id = t.id "
        "GROUP BY t.id HAVING COUNT(p.id) < 2",
    ),
    Check(
        "postings-match-account-asset",
        "every posting is in its account's asset",
        "SELECT p.id, p.asset, a.asset FROM postings p JOIN accounts a ON a.id = p.account_id WHERE a.asset <> p.asset",
    ),
    Check(
        "member-balances-equal-postings",
        "every member's running balance equals the sum of its postings",
        "SELECT b.account_id, b.balance, COALESCE(s.total, 0) FROM member_balances b "
        "LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM postings GROUP BY account_id) s "
        "ON s.account_id = b.account_id WHERE b.balance <> COALESCE(s.total, 0)",
    ),
    Check(
        "wallet-balances-equal-postings",
        "every member wallet's running balance equals the sum of its postings",
        "SELECT w.account_id, w.balance_minor, COALESCE(s.total, 0) FROM wallets w "
        "LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM postings GROUP BY account_id) s "
        "ON s.account_id = w.account_id WHERE w.balance_minor <> COALESCE(s.total, 0)",
    ),
    Check(
        "wallets-within-credit-limit",
        "no wallet is below minus its credit limit",
        "SELECT account_id, balance_minor, credit_limit_minor FROM wallets "
        "WHERE balance_minor + credit_limit_minor < 0 OR credit_limit_minor < 0",
    ),
    Check(
        "held-money-equals-open-holds",
        "each node's HELD_MONEY balance equals the sum of the devices' open holds of its currency",
        "SELECT a.id, COALESCE(b.total, 0), COALESCE(h.open, 0) FROM accounts a "
        "LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM postings GROUP BY account_id) b "
        "ON b.account_id = a.id "
        "LEFT JOIN (SELECT network_id, currency, SUM(amount_minor) AS open FROM device_holds WHERE status = 'held' "
        "GROUP BY network_id, currency) h ON h.network_id = a.network_id AND 'money:' || h.currency = a.asset "
        "WHERE a.purpose = 'held_money' AND COALESCE(b.total, 0) <> COALESCE(h.open, 0)",
    ),
    Check(
        "device-holds-have-their-transactions",
        "every open hold has its hold transaction and no closing one; every closed hold has its closing one",
        "SELECT id, status, hold_tx_id, close_tx_id FROM device_holds "
        "WHERE (status = 'held' AND close_tx_id IS NOT NULL) OR (status <> 'held' AND close_tx_id IS NULL)",
    ),
    Check(
        "device-offline-uses-paid-as-recorded",
        "every offline device use paid what its row says (its price less the unpaid part) by its charge transaction, "
        "and has a charge transaction exactly when it paid something",
        "SELECT u.id, u.amount_minor - u.unpaid_minor, u.charge_tx_id FROM device_offline_uses u "
        "WHERE (u.charge_tx_id IS NULL) <> (u.amount_minor = u.unpaid_minor) "
        "OR (u.charge_tx_id IS NOT NULL AND u.amount_minor - u.unpaid_minor <> "
        "(SELECT COALESCE(SUM(p.amount), 0) FROM postings p WHERE p.tx_id = u.charge_tx_id AND p.amount > 0))",
    ),
    Check(
        "lots-cover-balance",
        "a member's open lots hold exactly the balance when it is positive, nothing when it is a debt",
        "SELECT b.account_id, b.balance, COALESCE(l.open, 0) FROM member_balances b "
        "LEFT JOIN (SELECT account_id, SUM(remaining) AS open FROM lots GROUP BY account_id) l "
        "ON l.account_id = b.account_id "
        "WHERE COALESCE(l.open, 0) <> CASE WHEN b.balance > 0 THEN b.balance ELSE 0 END",
    ),
    Check(
        "lots-equal-takes",
        "every lot's remaining points equal its points less what was taken from it",
        "SELECT l.id, l.points, l.remaining, COALESCE(k.taken, 0) FROM lots l "
        "LEFT JOIN (SELECT lot_id, SUM(points) AS taken FROM lot_takes GROUP BY lot_id) k ON k.lot_id = l.id "
        "WHERE l.points - COALESCE(k.taken, 0) <> l.remaining",
    ),
    Check(
        "purchases-match-ledger",
        "a purchase's transaction moves the member's points by exactly earned minus redeemed",
        "SELECT pu.id, pu.points_earned - pu.points_redeemed, COALESCE(SUM(p.amount), 0) FROM purchases pu "
        "JOIN member_balances b ON b.member_id = pu.member_id "
        "LEFT JOIN postings p ON p.tx_id = pu.tx_id AND p.account_id = b.account_id "
        "GROUP BY pu.id, pu.points_earned, pu.points_redeemed "
        "HAVING pu.points_earned - pu.points_redeemed <> COALESCE(SUM(p.amount), 0)",
    ),
    Check(
        "refunds-within-purchase",
        "refunds of a purchase never exceed its check",
        "SELECT pu.id, pu.check_minor, SUM(r.refund_minor) FROM purchases pu JOIN refunds r ON r.purchase_id = pu.id "
        "GROUP BY pu.id, pu.check_minor HAVING SUM(r.refund_minor) > pu.check_minor",
    ),
    Check(
        "lifetime-spend-equals-history",
        "a member's lifetime spend equals their opening spend (the members file's) plus their checks less refunds",
        "SELECT m.id, m.lifetime_spend_minor, m.opening_spend_minor + COALESCE(p.spent, 0) - COALESCE(r.refunded, 0) "
        "FROM members m "
        "LEFT JOIN (SELECT member_id, SUM(check_minor) AS spent FROM purchases GROUP BY member_id) p "
        "ON p.member_id = m.id "
        "LEFT JOIN (SELECT pu.member_id, SUM(rf.refund_minor) AS refunded FROM refunds rf "
        "JOIN purchases pu ON pu.id = rf.purchase_id GROUP BY pu.member_id) r ON r.member_id = m.id "
        "WHERE m.lifetime_spend_minor <> m.opening_spend_minor + COALESCE(p.spent, 0) - COALESCE(r.refunded, 0)",
    ),
    Check(
        "coupon-uses-counted",
        "every coupon's count of uses equals the uses recorded with purchases",
        "SELECT c.id, c.uses, COUNT(u.purchase_id) FROM coupons c LEFT JOIN coupon_uses u ON u.coupon_id = c.id "
        "GROUP BY c.id, c.uses HAVING c.uses <> COUNT(u.purchase_id)",
    ),
    Check(
        "gifts-granted-at-price",
        "every gift's grant put its agreed price on the granting partner",
        "SELECT g.id, gt.price_minor, COALESCE(SUM(p.amount), 0) FROM gifts g "
        "JOIN gift_types gt ON gt.id = g.gift_type_id "
        "LEFT JOIN postings p ON p.tx_id = g.grant_tx_id AND p.amount > 0 "
        "GROUP BY g.id, gt.price_minor HAVING COALESCE(SUM(p.amount), 0) <> gt.price_minor",
    ),
    Check(
        "gifts-honoured-at-price",
        "every gift handed over put its agreed price on the node, in favour of the partner that handed it over",
        "SELECT g.id, gt.price_minor, COALESCE(SUM(p.amount), 0) FROM gifts g "
        "JOIN gift_types gt ON gt.id = g.gift_type_id "
        "LEFT JOIN postings p ON p.tx_id = g.honour_tx_id AND p.amount > 0 "
        "WHERE g.state = 'honoured' GROUP BY g.id, gt.price_minor HAVING COALESCE(SUM(p.amount), 0) <> gt.price_minor",
    ),
    Check(
        "gift-card-balances-equal-postings",
        "every gift card's balance equals the sum of its account's postings, and is never below zero",
        "SELECT g.id, g.balance_minor, COALESCE(s.total, 0) FROM gift_cards g "
        "LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM postings GROUP BY account_id) s "
        "ON s.account_id = g.account_id WHERE g.balance_minor <> COALESCE(s.total, 0) OR g.balance_minor < 0",
    ),
    Check(
        "gift-cards-sold-at-amount",
        "every gift card's sale put its initial amount on the card, and an expired card holds nothing",
        "SELECT g.id, g.initial_minor, COALESCE(SUM(p.amount), 0), g.status, g.balance_minor FROM gift_cards g "
        "LEFT JOIN postings p ON p.tx_id = g.sale_tx_id AND p.account_id = g.account_id "
        "GROUP BY g.id, g.initial_minor, g.status, g.balance_minor "
        "HAVING COALESCE(SUM(p.amount), 0) <> g.initial_minor OR (g.status = 'expired' AND g.balance_minor <> 0)",
    ),
    Check(
        "lots-granted-within-network",
        "every lot's granting partner belongs to the network of the lot's account",
        "SELECT l.id, l.granting_partner_id FROM lots l JOIN accounts a ON a.id = l.account_id "
        "JOIN partners pa ON pa.id = l.granting_partner_id WHERE pa.network_id <> a.network_id",
    ),
    Check(
        "breakage-returned-to-grantors",
        "an expiry posts value back only to partners that granted the expired points, at most their settlement value",
        "SELECT x.tx_id, x.partner_id, x.returned, COALESCE(g.points, 0) * pr.point_value_minor FROM "
        "(SELECT p.tx_id, a.owner_id AS partner_id, SUM(p.amount) AS returned FROM postings p "
        "JOIN accounts a ON a.id = p.account_id JOIN ledger_transactions t ON t.id = p.tx_id "
        "WHERE t.kind = 'expiry' AND a.owner_kind = 'partner' AND a.purpose = 'obligations' "
        "GROUP BY p.tx_id, a.owner_id) x "
        "JOIN ledger_transactions t ON t.id = x.tx_id JOIN programs pr ON pr.network_id = t.network_id "
        "LEFT JOIN (SELECT k.tx_id, l.granting_partner_id, SUM(k.points) AS points FROM lot_takes k "
        "JOIN lots l ON l.id = k.lot_id GROUP BY k.tx_id, l.granting_partner_id) g "
        "ON g.tx_id = x.tx_id AND g.granting_partner_id = x.partner_id "
        "WHERE x.returned < 0 OR x.returned > COALESCE(g.points, 0) * pr.point_value_minor",
    ),
    Check(
        "statements-balance",
        "every settlement statement's positions, the node's included, sum to zero",
        "SELECT s.id, s.node_net_minor, COALESCE(SUM(l.net_minor), 0) FROM settlement_statements s "
        "LEFT JOIN settlement_lines l ON l.statement_id = s.id "
        "GROUP BY s.id, s.node_net_minor HAVING s.node_net_minor + COALESCE(SUM(l.net_minor), 0) <> 0",
    ),
    Check(
        "statements-follow-one-another",
        "each settlement period starts where the network's previous one ended",
        "SELECT s.id, prev.period_end, s.period_start FROM settlement_statements s "
        "JOIN settlement_statements prev ON prev.network_id = s.network_id AND prev.number = s.number - 1 "
        "WHERE prev.period_end <> s.period_start",
    ),
    Check(
        "statements-match-ledger",
        "every partner's line of a closed statement still equals its obligation postings of the period",
        "SELECT l.statement_id, l.partner_id, l.net_minor + l.fees_minor, COALESCE(SUM(x.amount), 0) "
        "FROM settlement_lines l JOIN settlement_statements s ON s.id = l.statement_id "
        "JOIN accounts a ON a.owner_kind = 'partner' AND a.owner_id = l.partner_id AND a.purpose = 'obligations' "
        "LEFT JOIN (SELECT p.account_id, p.amount, t.recorded_at FROM postings p "
        "JOIN ledger_transactions t ON t.id = p.tx_id) x "
        "ON x.account_id = a.id AND x.recorded_at >= s.period_start AND x.recorded_at < s.period_end "
        "GROUP BY l.statement_id, l.partner_id, l.net_minor, l.fees_minor "
        "HAVING l.net_minor + l.fees_minor <> COALESCE(SUM(x.amount), 0)",
    ),
    Check(
        "statements-breakage-match-ledger",
        "every partner's breakage on a closed statement equals what the period's expiries posted back to it",
        "SELECT l.statement_id, l.partner_id, l.breakage_minor, COALESCE(SUM(x.amount), 0) "
        "FROM settlement_lines l JOIN settlement_statements s ON s.id = l.statement_id "
        "JOIN accounts a ON a.owner_kind = 'partner' AND a.owner_id = l.partner_id AND a.purpose = 'obligations' "
        "LEFT JOIN (SELECT p.account_id, p.amount, t.recorded_at FROM postings p "
        "JOIN ledger_transactions t ON t.id = p.tx_id WHERE t.kind = 'expiry') x "
        "ON x.account_id = a.id AND x.recorded_at >= s.period_start AND x.recorded_at < s.period_end "
        "GROUP BY l.statement_id, l.partner_id, l.breakage_minor "
        "HAVING l.breakage_minor <> COALESCE(SUM(x.amount), 0)",
    ),
    Check(
        "statements-money-balance",
        "every settlement statement's prepaid money: the node's holdings are minus the partners' money positions",
        "SELECT s.id, s.node_wallets_minor + s.node_gift_cards_minor + s.node_breakage_kept_minor"
        " - s.node_funded_minor, COALESCE(SUM(m.net_minor), 0) FROM settlement_statements s "
        "LEFT JOIN settlement_money_lines m ON m.statement_id = s.id "
        "GROUP BY s.id, s.node_wallets_minor, s.node_gift_cards_minor, s.node_breakage_kept_minor, s.node_funded_minor "
        "HAVING s.node_wallets_minor + s.node_gift_cards_minor + s.node_breakage_kept_minor - s.node_funded_minor"
        " + COALESCE(SUM(m.net_minor), 0) <> 0",
    ),
    Check(
        "statements-money-match-ledger",
        "every partner's prepaid money on a closed statement still equals its prepaid postings of the period",
        "SELECT s.id, a.owner_id, COALESCE(m.net_minor, 0), COALESCE(SUM(x.amount), 0) "
        "FROM settlement_statements s "
        "JOIN accounts a ON a.network_id = s.network_id AND a.owner_kind = 'partner' AND a.purpose = 'prepaid' "
        "AND a.asset = 'money:' || s.currency "
        "LEFT JOIN settlement_money_lines m ON m.statement_id = s.id AND m.partner_id = a.owner_id "
        "LEFT JOIN (SELECT p.account_id, p.amount, t.recorded_at FROM postings p "
        "JOIN ledger_transactions t ON t.id = p.tx_id) x "
        "ON x.account_id = a.id AND x.recorded_at >= s.period_start AND x.recorded_at < s.period_end "
        "GROUP BY s.id, a.owner_id, m.net_minor "
        "HAVING COALESCE(m.net_minor, 0) <> COALESCE(SUM(x.amount), 0)",
    ),
)

MAX_ROWS_SHOWN = 20


@dataclass(frozen=True)
class Violation:
    check: Check
    rows: list[tuple[object, ...]]


async def verify(engine: AsyncEngine, progress: Callable[[Check], None] | None = None) -> list[Violation]:
    violations: list[Violation] = []
    async with engine.connect() as connection:
        for check in CHECKS:
            rows = [tuple(row) for row in (await connection.execute(text(check.sql))).fetchmany(MAX_ROWS_SHOWN)]
            if rows:
                violations.append(Violation(check, rows))
            if progress is not None:
                progress(check)
    return violations
