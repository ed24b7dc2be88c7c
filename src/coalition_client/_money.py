"""The clients' calls for money beyond the till's: gift cards issued by the network and their breakage, gifts and
their types, limits, settlement fees and statements sent, a wallet's history and closing, and the program's reports
(docs/reports.md). Mixed into `Client` and `AsyncClient`, whose `call` they use."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from coalition_client import models as m
from coalition_client import money_models as money
from coalition_client import routes as r
from coalition_client._core import AsyncCalls, Calls

Json = dict[str, Any]


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _period(first_day: date, last_day: date | None, partner: int | None) -> dict[str, Any]:
    return {"from": first_day.isoformat(), "to": _iso(last_day), "partner": partner}


class MoneyCalls(Calls):
    def wallet_history(
        self,
        identifier: str,
        *,
        currency: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> money.WalletHistory:
        """A page of the member's wallet lines, newest first (a terminal's key); `next_cursor` reads older ones."""
        query = {"currency": currency, "since": _iso(since), "until": _iso(until), "limit": limit, "cursor": cursor}
        return self.call(r.WALLET_HISTORY, path={"identifier": identifier}, query=query)

    def honour_gift(self, gift_id: str, *, idempotency_key: str | None = None) -> money.GiftHonoured:
        """Hand over a gift granted by a rule at this terminal's outlet."""
        return self.call(r.HONOUR_GIFT, path={"gift_id": gift_id}, idempotency_key=idempotency_key)

    def close_wallet(
        self, member_id: int, *, currency: str | None = None, idempotency_key: str | None = None
    ) -> m.Wallet:
        """Close a member's wallet (its balance must be zero)."""
        body = money.CloseWallet(currency=currency)
        return self.call(r.CLOSE_WALLET, body, path={"member_id": member_id}, idempotency_key=idempotency_key)

    def issue_gift_card(self, body: money.GiftCardIssue, *, idempotency_key: str | None = None) -> m.GiftCard:
        """A gift card issued by the network itself (no outlet sold it)."""
        return self.call(r.ISSUE_GIFT_CARD, body, idempotency_key=idempotency_key)

    def admin_gift_card(self, card_number: str) -> m.GiftCard:
        return self.call(r.ADMIN_GIFT_CARD, path={"card_number": card_number})

    def block_gift_card(self, card_number: str, *, idempotency_key: str | None = None) -> m.GiftCard:
        return self.call(r.BLOCK_GIFT_CARD, path={"card_number": card_number}, idempotency_key=idempotency_key)

    def unblock_gift_card(self, card_number: str, *, idempotency_key: str | None = None) -> m.GiftCard:
        return self.call(r.UNBLOCK_GIFT_CARD, path={"card_number": card_number}, idempotency_key=idempotency_key)

    def gift_card_breakage(self) -> money.GiftCardBreakageAnswer:
        return self.call(r.GIFT_CARD_BREAKAGE)

    def set_gift_card_breakage(
        self, body: money.GiftCardBreakage, *, if_match: str | None = None
    ) -> money.GiftCardBreakageAnswer:
        return self.call(r.SET_GIFT_CARD_BREAKAGE, body, if_match=if_match)

    def run_gift_card_expiry(self, *, idempotency_key: str | None = None) -> money.GiftCardExpiry:
        """Expire the gift cards past their validity now, under the breakage policy."""
        return self.call(r.RUN_GIFT_CARD_EXPIRY, idempotency_key=idempotency_key)

    def gift_types(self, *, limit: int | None = None, cursor: str | None = None) -> Json:
        return self.call(r.GIFT_TYPES, query={"limit": limit, "cursor": cursor})

    def create_gift_type(self, body: money.GiftType, *, idempotency_key: str | None = None) -> Json:
        return self.call(r.CREATE_GIFT_TYPE, body, idempotency_key=idempotency_key)

    def gift_breakage(self) -> Json:
        return self.call(r.GIFT_BREAKAGE)

    def set_gift_breakage(self, gifts: str, *, if_match: str | None = None) -> Json:
        """`kept` (the node keeps the granting partner's obligation for expired gifts) or `released`."""
        return self.call(r.SET_GIFT_BREAKAGE, money.GiftBreakage(gifts=gifts), if_match=if_match)

    def points_breakage(self) -> Json:
        return self.call(r.POINTS_BREAKAGE)

    def set_points_breakage(self, body: money.PointsBreakage, *, if_match: str | None = None) -> Json:
        return self.call(r.SET_POINTS_BREAKAGE, body, if_match=if_match)

    def limits(self) -> Json:
        """The network's limits on a purchase (amounts as decimal strings)."""
        return self.call(r.LIMITS)

    def set_limits(self, body: money.Limits, *, if_match: str | None = None) -> Json:
        return self.call(r.SET_LIMITS, body, if_match=if_match)

    def fees(self) -> Json:
        return self.call(r.FEES)

    def set_fees(self, body: money.Fees, *, if_match: str | None = None) -> Json:
        """The settlement fees charged from the next period's close on."""
        return self.call(r.SET_FEES, body, if_match=if_match)

    def send_statement(self, number: str, *, idempotency_key: str | None = None) -> Json:
        """E-mail a closed statement to its partners."""
        return self.call(r.SEND_STATEMENT, path={"number": number}, idempotency_key=idempotency_key)

    def attendance_report(
        self, first_day: date, last_day: date | None = None, *, partner: int | None = None
    ) -> money.Attendance:
        return self.call(r.ATTENDANCE_REPORT, query=_period(first_day, last_day, partner))

    def customers_report(
        self, first_day: date, last_day: date | None = None, *, partner: int | None = None
    ) -> money.Customers:
        return self.call(r.CUSTOMERS_REPORT, query=_period(first_day, last_day, partner))

    def effectiveness_report(
        self, first_day: date, last_day: date | None = None, *, partner: int | None = None
    ) -> money.Effectiveness:
        return self.call(r.EFFECTIVENESS_REPORT, query=_period(first_day, last_day, partner))

    def threshold_report(
        self,
        threshold_minor: int,
        base_first_day: date,
        first_day: date,
        last_day: date | None = None,
        *,
        base_last_day: date | None = None,
        partner: int | None = None,
    ) -> money.Threshold:
        """The average check of the period against the base period's, and a threshold (minor units) moved by as
        much."""
        query = _period(first_day, last_day, partner) | {
            "threshold": threshold_minor,
            "base_from": base_first_day.isoformat(),
            "base_to": _iso(base_last_day),
        }
        return self.call(r.THRESHOLD_REPORT, query=query)


class AsyncMoneyCalls(AsyncCalls):
    async def wallet_history(
        self,
        identifier: str,
        *,
        currency: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> money.WalletHistory:
        """A page of the member's wallet lines, newest first (a terminal's key); `next_cursor` reads older ones."""
        query = {"currency": currency, "since": _iso(since), "until": _iso(until), "limit": limit, "cursor": cursor}
        return await self.call(r.WALLET_HISTORY, path={"identifier": identifier}, query=query)

    async def honour_gift(self, gift_id: str, *, idempotency_key: str | None = None) -> money.GiftHonoured:
        """Hand over a gift granted by a rule at this terminal's outlet."""
        return await self.call(r.HONOUR_GIFT, path={"gift_id": gift_id}, idempotency_key=idempotency_key)

    async def close_wallet(
        self, member_id: int, *, currency: str | None = None, idempotency_key: str | None = None
    ) -> m.Wallet:
        """Close a member's wallet (its balance must be zero)."""
        body = money.CloseWallet(currency=currency)
        return await self.call(r.CLOSE_WALLET, body, path={"member_id": member_id}, idempotency_key=idempotency_key)

    async def issue_gift_card(self, body: money.GiftCardIssue, *, idempotency_key: str | None = None) -> m.GiftCard:
        """A gift card issued by the network itself (no outlet sold it)."""
        return await self.call(r.ISSUE_GIFT_CARD, body, idempotency_key=idempotency_key)

    async def admin_gift_card(self, card_number: str) -> m.GiftCard:
        return await self.call(r.ADMIN_GIFT_CARD, path={"card_number": card_number})

    async def block_gift_card(self, card_number: str, *, idempotency_key: str | None = None) -> m.GiftCard:
        return await self.call(r.BLOCK_GIFT_CARD, path={"card_number": card_number}, idempotency_key=idempotency_key)

    async def unblock_gift_card(self, card_number: str, *, idempotency_key: str | None = None) -> m.GiftCard:
        return await self.call(r.UNBLOCK_GIFT_CARD, path={"card_number": card_number}, idempotency_key=idempotency_key)

    async def gift_card_breakage(self) -> money.GiftCardBreakageAnswer:
        return await self.call(r.GIFT_CARD_BREAKAGE)

    async def set_gift_card_breakage(
        self, body: money.GiftCardBreakage, *, if_match: str | None = None
    ) -> money.GiftCardBreakageAnswer:
        return await self.call(r.SET_GIFT_CARD_BREAKAGE, body, if_match=if_match)

    async def run_gift_card_expiry(self, *, idempotency_key: str | None = None) -> money.GiftCardExpiry:
        """Expire the gift cards past their validity now, under the breakage policy."""
        return await self.call(r.RUN_GIFT_CARD_EXPIRY, idempotency_key=idempotency_key)

    async def gift_types(self, *, limit: int | None = None, cursor: str | None = None) -> Json:
        return await self.call(r.GIFT_TYPES, query={"limit": limit, "cursor": cursor})

    async def create_gift_type(self, body: money.GiftType, *, idempotency_key: str | None = None) -> Json:
        return await self.call(r.CREATE_GIFT_TYPE, body, idempotency_key=idempotency_key)

    async def gift_breakage(self) -> Json:
        return await self.call(r.GIFT_BREAKAGE)

    async def set_gift_breakage(self, gifts: str, *, if_match: str | None = None) -> Json:
        """`kept` (the node keeps the granting partner's obligation for expired gifts) or `released`."""
        return await self.call(r.SET_GIFT_BREAKAGE, money.GiftBreakage(gifts=gifts), if_match=if_match)

    async def points_breakage(self) -> Json:
        return await self.call(r.POINTS_BREAKAGE)

    async def set_points_breakage(self, body: money.PointsBreakage, *, if_match: str | None = None) -> Json:
        return await self.call(r.SET_POINTS_BREAKAGE, body, if_match=if_match)

    async def limits(self) -> Json:
        """The network's limits on a purchase (amounts as decimal strings)."""
        return await self.call(r.LIMITS)

    async def set_limits(self, body: money.Limits, *, if_match: str | None = None) -> Json:
        return await self.call(r.SET_LIMITS, body, if_match=if_match)

    async def fees(self) -> Json:
        return await self.call(r.FEES)

    async def set_fees(self, body: money.Fees, *, if_match: str | None = None) -> Json:
        """The settlement fees charged from the next period's close on."""
        return await self.call(r.SET_FEES, body, if_match=if_match)

    async def send_statement(self, number: str, *, idempotency_key: str | None = None) -> Json:
        """E-mail a closed statement to its partners."""
        return await self.call(r.SEND_STATEMENT, path={"number": number}, idempotency_key=idempotency_key)

    async def attendance_report(
        self, first_day: date, last_day: date | None = None, *, partner: int | None = None
    ) -> money.Attendance:
        return await self.call(r.ATTENDANCE_REPORT, query=_period(first_day, last_day, partner))

    async def customers_report(
        self, first_day: date, last_day: date | None = None, *, partner: int | None = None
    ) -> money.Customers:
        return await self.call(r.CUSTOMERS_REPORT, query=_period(first_day, last_day, partner))

    async def effectiveness_report(
        self, first_day: date, last_day: date | None = None, *, partner: int | None = None
    ) -> money.Effectiveness:
        return await self.call(r.EFFECTIVENESS_REPORT, query=_period(first_day, last_day, partner))

    async def threshold_report(
        self,
        threshold_minor: int,
        base_first_day: date,
        first_day: date,
        last_day: date | None = None,
        *,
        base_last_day: date | None = None,
        partner: int | None = None,
    ) -> money.Threshold:
        """The average check of the period against the base period's, and a threshold (minor units) moved by as
        much."""
        query = _period(first_day, last_day, partner) | {
            "threshold": threshold_minor,
            "base_from": base_first_day.isoformat(),
            "base_to": _iso(base_last_day),
        }
        return await self.call(r.THRESHOLD_REPORT, query=query)
